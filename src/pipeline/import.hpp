// `tlflow import FILE|-`: ingests an NDJSON file (any supported format,
// recognised per line) into the configured store through the same pipeline
// as the live sources — so de-duplication holds across imports: importing a
// file twice (or a file overlapping what a stream already brought) never
// raises a weight twice (unless --ephemeral).
//
// On a terminal (stderr is a tty) a progress line is updated in place four
// times a second (lines, lines/s, posts, interactions); a summary is printed
// to stderr at the end in any case. Edges keep only tracked hashtags when
// --track is given; otherwise every hashtag. With --track, lines are filtered
// locally by the same rule as a live stream's edges (a post passes on its
// own hashtags or on those of the post it quotes or reposts), so a recorded
// stream imported gives the graph the stream gave.
#pragma once

#include "pipeline/pipeline.hpp"
#include "tlflow/config.hpp"
#include "tlflow/graph_store.hpp"
#include "util/metrics.hpp"

namespace tlflow {

struct import_summary {
  std::uint64_t lines = 0;
  std::uint64_t bytes = 0;
  double seconds = 0;
  ingest_stats stats;
  long peak_rss_kib = 0;
};

// Whether `path` can be the input of an import, checked before anything
// touches the store (so that a wrong path leaves no data directory behind):
// "-" (stdin), or something that opens for reading and is not a directory (a
// file, a FIFO, /dev/stdin). io_error naming the path and the reason.
status check_import_input(const std::string& path);

// Runs the import of cfg.import_file; returns the process exit code: 0 done,
// 1 the input could not be opened or the data dir failed, 2 the store
// still refused some batches when the input ended (they are lost). `summary` (optional) receives the figures.
int run_import(const config& cfg, graph_store& store, metrics_registry& metrics,
               import_summary* summary = nullptr);

// One-line human summary, as printed at the end.
std::string format_summary(const import_summary& s);

} // namespace tlflow
