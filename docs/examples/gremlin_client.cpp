// A complete program on tlflow's Gremlin client (include/tlflow/gremlin/):
// connects (with SASL when asked), sends hostile text as a binding and gets
// it back unchanged, streams a result in partial batches, counts, and shows
// how a rejected script comes back. Built with the project (target gremlin_client_example) and run by
// CTest against the Gremlin test server (integration.gremlin_client_example).
//
//   gremlin_client_example wss://db.example:8182/gremlin [user password]
//   gremlin_client_example ws://127.0.0.1:8182/gremlin user password --allow-plaintext-auth
//
// Any TinkerPop Gremlin Server (or JanusGraph) works; for Cosmos DB set
// o.serializer = graphson::version::v2 and the user "/dbs/<db>/colls/<graph>".
#include <cstdio>
#include <string>
#include <vector>

#include "tlflow/gremlin/client.hpp"

namespace gs = tlflow::gremlin::graphson;
using tlflow::gremlin::client;
using tlflow::gremlin::client_options;
using tlflow::gremlin::submit_options;

int main(int argc, char** argv) {
  if (argc < 2 || argc == 3 || argc > 5 || (argc == 5 && std::string(argv[4]) != "--allow-plaintext-auth")) {
    std::fprintf(stderr, "usage: %s URL [USER PASSWORD [--allow-plaintext-auth]]\n", argv[0]);
    return 2;
  }
  client_options o;
  o.url = argv[1];
  if (argc >= 4) { // SASL PLAIN, answered when the server challenges (407)
    o.user = argv[2];
    o.password = argv[3];
    // The password travels as it is: refused over ws:// unless allowed.
    o.allow_plaintext_auth = argc == 5;
  }
  auto c = client::create(o);
  if (!c) {
    std::fprintf(stderr, "%s\n", c.err().message.c_str());
    return 1;
  }

  // Values travel only as bindings: this text is data, never run.
  const std::string hostile = "x').drop();g.V().drop();// Zoë \"z\" 🌍";
  auto echoed = (*c)->submit("g.inject(x)", gs::value::object({{"x", gs::value::string(hostile)}}));
  if (!echoed || echoed->size() != 1) {
    std::fprintf(stderr, "inject failed: %s\n", echoed ? "wrong size" : echoed.err().message.c_str());
    return 1;
  }
  const std::string_view text = echoed->front().as_string(); // valid while the value lives
  std::printf("echoed: %.*s (%s)\n", static_cast<int>(text.size()), text.data(),
              text == hostile ? "unchanged" : "CHANGED");

  // execute() returns the whole reply: status, attributes, attempts. With a
  // batch size the server streams 206 partial batches; the client joins them.
  std::vector<gs::value> numbers;
  for (int i = 0; i < 200; ++i) numbers.push_back(gs::value::int32(i));
  submit_options so;
  so.batch_size = 64;
  auto r = (*c)->execute("g.inject(x).unfold()", gs::value::object({{"x", gs::value::list(numbers)}}), so);
  if (!r) {
    std::fprintf(stderr, "unfold failed: %s\n", r.err().message.c_str());
    return 1;
  }
  std::int64_t sum = 0;
  for (const gs::value& v : r->data) sum += v.as_int();
  std::printf("%zu results, sum %lld, status %d after %u attempt(s)\n", r->data.size(),
              static_cast<long long>(sum), r->code, r->attempts);

  auto n = (*c)->submit("g.V().hasLabel('account').count()");
  if (!n || n->empty()) return 1;
  std::printf("accounts: %lld\n", static_cast<long long>(n->front().as_int()));

  // A script the server rejects is an error value, not an exception.
  auto bad = (*c)->submit("g.V(.");
  std::printf("bad script: %s\n", bad ? "accepted?" : bad.err().message.c_str());
  return bad ? 1 : 0;
}
