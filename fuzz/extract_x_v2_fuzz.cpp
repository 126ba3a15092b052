// libFuzzer target: extract::extract(format::x_v2, input) never crashes and
// keeps its invariants. Seeds: fuzz/extract_x_v2_fuzz.seeds/ (fixtures).
#include "extract_fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return tlflow::fuzz::run_extract(tlflow::extract::format::x_v2, data, size);
}
