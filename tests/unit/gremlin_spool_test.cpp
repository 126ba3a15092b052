// The write queue's files reach the disk: each entry's bytes, then its
// rename, which is a change of the directory and needs the directory
// fsync'ed. Seen through the spool's replaceable sync function.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "store/gremlin/spool.hpp"
#include "support/temp_dir.hpp"

using namespace tlflow;
using namespace tlflow::gremlin;

namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

script_request req(int i) {
  script_request r;
  r.script = "g.inject(x)";
  r.bindings.put("x", graphson::value::int32(i));
  return r;
}

} // namespace

TEST_CASE("spool: an entry is synced, renamed, then its directory synced") {
  test::temp_dir root;
  const std::string dir = root.path() + "/q";
  struct call {
    std::string path;
    bool final_name_exists;
  };
  std::vector<call> calls;
  auto s = write_spool::open(dir, 10, [&](int fd, const std::string& path) {
    calls.push_back({path, exists(dir + "/00000000000000000001.gwrq")});
    return ::fsync(fd);
  });
  REQUIRE(s.ok());
  REQUIRE((*s)->push(req(1)).ok());
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].path == dir + "/00000000000000000001.gwrq.tmp"); // the bytes, before the rename
  CHECK_FALSE(calls[0].final_name_exists);
  CHECK(calls[1].path == dir); // the directory, after the rename
  CHECK(calls[1].final_name_exists);

  calls.clear();
  (*s)->pop_to_dead_letter();
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].path == dir + "/dead");
  CHECK(calls[1].path == dir);
  CHECK(exists(dir + "/dead/00000000000000000001.gwrq"));
}

TEST_CASE("spool: a failed directory sync fails push() with io_error") {
  test::temp_dir root;
  const std::string dir = root.path() + "/q";
  auto s = write_spool::open(dir, 10, [&](int fd, const std::string& path) {
    if (path == dir) {
      errno = EIO;
      return -1;
    }
    return ::fsync(fd);
  });
  REQUIRE(s.ok());
  auto st = (*s)->push(req(1));
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == errc::io_error);
}
