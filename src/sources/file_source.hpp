// NDJSON from a file or stdin (`file:PATH`, `file:-`): one JSON document per
// line, any supported format, recognised per line (wire_format::detect).
// Lines are pushed as they are read (blocking on a full pipeline); at the
// end of the input the source reports `finished`. Reading stdin polls so
// that stop() is prompt even when no input arrives. Lines are never filtered
// by tracking (what a file holds was selected when it was recorded).
#pragma once

#include <atomic>
#include <string>

#include "sources/source_base.hpp"

namespace tlflow {

class file_source final : public source_base {
public:
  // `path` "-" reads stdin.
  file_source(source_context ctx, std::string path);
  ~file_source() override;

  void start() override;
  void on_tracking_changed(const tracking_set&) override {}

  bool finished() const { return state().finished; }
  // Lines read so far (blank lines excluded) and input bytes read.
  std::uint64_t lines() const noexcept { return lines_.load(); }

  // Reads the whole input in the calling thread (tlflow import). False if
  // the input cannot be opened (error in state().last_error).
  bool run_here();

private:
  std::string path_;
  std::atomic<std::uint64_t> lines_{0};
};

} // namespace tlflow
