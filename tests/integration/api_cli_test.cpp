// The command line of the binary: --help, --version, bad values exit 2,
// import of paths that cannot be read.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

#include "support/service_process.hpp"

using namespace tlflow::test;

TEST_CASE("--help lists the flags with their environment variables; --version") {
  auto [rc, out] = run_tlflow({"--help"});
  CHECK(rc == 0);
  for (const char* needle : {"--port", "PORT", "--data-dir", "TLFLOW_API_TOKEN", "--ephemeral",
                             "TLFLOW_GREMLIN_PASSWORD", "--http-threads", "import FILE",
                             "--wal-sync", "TLFLOW_WAL_SYNC", "repair [--data-dir DIR]"}) {
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
  auto [rc5, out5] = run_tlflow({"--wal-sync", "sometimes", "--ephemeral"});
  CHECK(rc5 == 2);
  CHECK(out5.find("must be commit or interval") != std::string::npos);
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

// `tlflow import PATH`: a path that cannot be read is an error (exit 1, the
// path and the reason on stderr) before the store makes its data directory.
TEST_CASE("import of a directory, a missing or an unreadable file: exit 1, no data dir made") {
  temp_dir dir;
  const std::string data = dir.path() + "/data";
  const std::string file = dir.path() + "/posts.ndjson";
  std::ofstream(file) << "{}\n";

  int attempt = 0;
  auto expect_refused = [&](const std::string& path, const std::string& reason) {
    INFO("import ", path);
    const std::string refused_data = dir.path() + "/data" + std::to_string(++attempt);
    auto [rc, out] = run_tlflow({"import", path, "--data-dir", refused_data});
    CHECK(rc == 1);
    CHECK(out.find(path) != std::string::npos);
    CHECK(out.find(reason) != std::string::npos);
    CHECK(out.find("imported") == std::string::npos);
    CHECK_FALSE(std::filesystem::exists(refused_data));
  };
  expect_refused(dir.path(), "is a directory");
  expect_refused(dir.path() + "/missing.ndjson", "No such file or directory");
  expect_refused(file + "/posts.ndjson", "Not a directory"); // its "parent" is a file

  // Unreadable: mode 000 stops everyone but root; root cannot read a
  // write-only sysctl file either.
  std::string unreadable = dir.path() + "/secret.ndjson";
  std::ofstream(unreadable) << "{}\n";
  if (::geteuid() == 0) unreadable = "/proc/sys/vm/drop_caches";
  else std::filesystem::permissions(unreadable, std::filesystem::perms::none);
  if (std::ifstream(unreadable).is_open()) {
    MESSAGE("skipped the unreadable-file case: " << unreadable << " opens for reading here");
  } else {
    expect_refused(unreadable, "Permission denied");
  }

  // The check refuses nothing that can be read: the file imports.
  auto [rc, out] = run_tlflow({"import", file, "--data-dir", data});
  CHECK(rc == 0);
  CHECK(out.find("imported 1 lines") != std::string::npos);
  CHECK(std::filesystem::is_directory(data));
}
