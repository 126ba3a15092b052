// libFuzzer target: the GraphSON reader and writer.
//
// For any bytes and each version (1.0, 2.0, 3.0): read() either fails with an
// error or gives a value; writing that value gives text that reads back, and
// writing what was read back gives the same text again (one round settles
// every normalisation: escapes, number forms, GraphSON 2.0 maps as objects).
// read_response() must not crash either, and whatever it accepts writes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tlflow/gremlin/graphson.hpp"

namespace gs = tlflow::gremlin::graphson;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto v : {gs::version::v1, gs::version::v2, gs::version::v3}) {
    auto first = gs::read(text, v);
    if (first.ok()) {
      const std::string w1 = gs::write(*first, v);
      auto second = gs::read(w1, v);
      check(second.ok());
      const std::string w2 = gs::write(*second, v);
      check(w2 == w1);
      check(*first == *first); // equality terminates on any tree (NaN included)
    }
    if (auto r = gs::read_response(text, v); r.ok()) {
      std::string out;
      gs::write_response(*r, v, out);
      check(gs::read_response(out, v).ok());
    }
  }
  return 0;
}
