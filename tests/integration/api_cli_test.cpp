// The command line of the binary: --help, --version, bad values exit 2.
#include <string>

#include <doctest/doctest.h>

#include "support/service_process.hpp"

using namespace tlflow::test;

TEST_CASE("--help lists the flags with their environment variables; --version") {
  auto [rc, out] = run_tlflow({"--help"});
  CHECK(rc == 0);
  for (const char* needle : {"--port", "PORT", "--data-dir", "TLFLOW_API_TOKEN", "--ephemeral",
                             "TLFLOW_GREMLIN_PASSWORD", "--http-threads", "import FILE"}) {
    INFO(needle);
    CHECK(out.find(needle) != std::string::npos);
  }
  auto [rc2, out2] = run_tlflow({"--version"});
  CHECK(rc2 == 0);
  CHECK(out2.rfind("tlflow ", 0) == 0);
}

TEST_CASE("bad configuration: a clear message and exit 2") {
  auto [rc, out] = run_tlflow({"--port", "banana"});
  CHECK(rc == 2);
  CHECK(out.find("--port") != std::string::npos);
  auto [rc2, out2] = run_tlflow({}, {{"PORT", "99999"}});
  CHECK(rc2 == 2);
  CHECK(out2.find("PORT") != std::string::npos);
  auto [rc3, out3] = run_tlflow({"--store", "cassandra", "--ephemeral"});
  CHECK(rc3 == 2);
  CHECK(out3.find("memory or gremlin") != std::string::npos);
  auto [rc4, out4] = run_tlflow({"--frobnicate"});
  CHECK(rc4 == 2);
  CHECK(out4.find("unknown flag") != std::string::npos);
}

TEST_CASE("--list-routes prints the route table") {
  auto [rc, out] = run_tlflow({"--list-routes"});
  CHECK(rc == 0);
  CHECK(out.find("GET /vertices/{id}\n") != std::string::npos);
  CHECK(out.find("POST /aristas/add/{v1},{v2}\n") != std::string::npos);
}
