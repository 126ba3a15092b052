// libFuzzer target: extract::extract(format::mastodon, input) never crashes and
// keeps its invariants. Seeds: fuzz/extract_mastodon_fuzz.seeds/ (fixtures).
#include "extract_fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return tlflow::fuzz::run_extract(tlflow::extract::format::mastodon, data, size);
}
