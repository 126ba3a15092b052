// doctest's main, compiled once. A test that cannot run here (a server or a
// tool is missing) calls tlflow::test::skip(); when a run had skips and no
// failures, the binary exits 77, which CTest reports as "Skipped" — visibly,
// never as a pass.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "support/skip.hpp"

int main(int argc, char** argv) {
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  int rc = context.run();
  if (context.shouldExit()) return rc;
  if (rc == 0 && tlflow::test::skipped_count() > 0) return 77;
  return rc;
}
