// What the memory-store unit tests share: a durable store in a directory,
// with no periodic snapshot and no fsync (tests kill nothing but the
// process, and fsync only slows them).
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "store/memory/memory_store.hpp"

namespace tlflow::test {

inline memory_store_options durable(const std::string& dir) {
  memory_store_options o;
  o.data_dir = dir;
  o.snapshot_interval_s = 0;
  o.wal_fsync = wal_fsync_policy::none;
  return o;
}

inline std::unique_ptr<memory_store> open_store(const memory_store_options& o) {
  auto r = memory_store::open(o);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  return std::move(r).value();
}

} // namespace tlflow::test
