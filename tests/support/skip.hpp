// Visible skipping for tests that need something this machine may lack.
#pragma once

#include <string>

namespace tlflow::test {

// Records and prints the reason. The test case should return right after.
void skip(const std::string& why);
int skipped_count();

} // namespace tlflow::test
