// Runs the Gremlin test server for tools outside the C++ tests (the official
// JavaScript driver check in tests/support/js/, benchmarks).
//   gremlin_test_server_launcher [--port N] [--user U --password P] [--cosmos]
// Prints "PORT <n>" once listening; exits when stdin closes or on SIGTERM.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "support/gremlin_test_server.hpp"
#include "util/allocator.hpp"

int main(int argc, char** argv) {
  tlflow::test::gremlin_test_server_options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--port") o.port = static_cast<std::uint16_t>(std::atoi(next().c_str()));
    else if (a == "--user") o.user = next();
    else if (a == "--password") o.password = next();
    else if (a == "--cosmos") o.cosmos = true;
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  tlflow::keep_freed_memory(); // as the service does (and as a JVM keeps its heap)
  tlflow::test::gremlin_test_server srv(o);
  std::printf("PORT %u\n", static_cast<unsigned>(srv.port()));
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}
