// tlflow/config.hpp — every setting of the service (docs/architecture.md,
// "Configuration"; the table: README.md, "Running").
//
// Each setting is a command-line flag and an environment variable; an
// optional file (`--config FILE`, lines `name = value` using the flag names
// without dashes) may hold them too. Precedence: flag > environment > file >
// default. Secrets (passwords, tokens) are read only from the environment or
// the file, never from flags (the one exception: --api-token, accepted with
// a warning), and are never logged or shown in /status.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tlflow/error.hpp"

namespace tlflow {

struct config {
  // HTTP
  std::uint16_t port = 8080;
  std::string host = "0.0.0.0";
  unsigned http_threads = 0;          // I/O threads; 0: number of cores (at least 2)
  unsigned worker_threads = 0;        // slow routes; 0: number of cores (at least 2)
  unsigned write_threads = 16;        // writes, waiting for the log flush
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;  // request line + headers
  unsigned header_timeout_s = 10;     // line + headers must arrive within this
  unsigned body_timeout_s = 30;       // longest silence inside a body or a response write
  unsigned idle_timeout_s = 60;       // keep-alive connection without a request
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_client = 256;  // per client IP address
  std::string web_root;               // web view files from this folder; empty: built in
  std::string tls_cert;               // PEM chain: serve HTTPS (with tls_key); re-read on SIGHUP
  std::string tls_key;                // PEM private key, unencrypted
  std::size_t path_budget = 1000000;  // vertices one path search may visit; 0: no budget
  unsigned export_jobs = 2;           // export jobs running at once
  unsigned export_retention_s = 86400; // finished export jobs are removed after this
  std::uint64_t export_stream_limit = 100000; // Gremlin store: edges a streamed export may hold
  std::uint64_t analytics_max_elements = 12000000; // vertices + edges of one analysed slice; 0: none
  unsigned analytics_refresh_s = 60;  // whole-graph analytics refreshed at least this often; 0: per request
  std::uint64_t analytics_refresh_changes = 10000; // ... or after this many changes
  std::uint64_t analytics_betweenness_work = 200000000; // sampled betweenness: sources × (vertices + arcs) cap; 0: none
  std::uint32_t analytics_pagerank_refresh_iterations = 3; // a background PageRank refresh's cap; 0: converge
  std::uint64_t analytics_pagerank_bound_arcs = 1000000;   // ... on graphs of at least this many arcs
  std::uint64_t analytics_graph_communities = 1000000; // a filtered /graph's Louvain up to this size; 0: never
  std::string api_token;              // secret; required on mutating routes if set
  bool auth_reads = false;            // also require the token on reads
  bool no_auth = false;               // serve writes without credentials on any bind
  std::string jwt_jwks;               // JWKS file or http(s) URL (RS256, ES256)
  std::string jwt_secret;             // secret; HS256 shared secret
  std::string jwt_issuer;             // required `iss` when set
  std::string jwt_audience;           // required in `aud` when set

  // store
  std::string store = "memory";       // memory | gremlin
  std::string data_dir = "./data";
  bool ephemeral = false;
  unsigned snapshot_interval_s = 300; // 0: only on shutdown
  std::string wal_sync = "commit";    // commit | interval: when the log reaches the disk
  unsigned wal_sync_interval_ms = 200; // for interval
  std::string gremlin_url = "ws://localhost:8182/gremlin";
  std::string gremlin_dialect = "tinkerpop"; // tinkerpop | janusgraph | cosmos | neptune
  std::string gremlin_user;
  std::string gremlin_password;       // secret
  bool gremlin_allow_plaintext_auth = false; // SASL over ws:// (else refused)
  std::string gremlin_partition_key = "pk"; // Cosmos DB partition key property

  // changefeed (GET /changes, /changes/ws, /gephi; docs/live.md)
  std::size_t changes_retention_events = 100000; // changes kept for resuming
  unsigned changes_retention_s = 300;            // and at most this long
  unsigned changes_coalesce_ms = 250;            // weight changes of one edge merged within
  std::size_t changes_budget_bytes = 4 << 20;    // waiting bytes per subscriber before `overflow`
  std::size_t changes_max_subscribers = 1000;
  unsigned changes_heartbeat_s = 15;             // SSE comment when quiet
  unsigned changes_stats_s = 10;                 // `stats` events; 0: none

  // sources and tracking
  std::vector<std::string> sources;   // x, twitter-v1, mastodon, jetstream, file:<path>, file:-
  std::vector<std::string> track;     // initial hashtags
  std::string x_api_url = "https://api.x.com";
  std::string x_bearer_token;         // secret
  unsigned x_backfill_minutes = 0;    // 0-5: X v2 recovers posts missed while disconnected
  std::string twitter_v1_url = "https://stream.twitter.com";
  // secrets: OAuth 1.0a user context for v1.1 (all four, else the X bearer token)
  std::string twitter_v1_consumer_key, twitter_v1_consumer_secret;
  std::string twitter_v1_access_token, twitter_v1_access_token_secret;
  std::string mastodon_url;
  std::string mastodon_token;         // secret
  std::string jetstream_url = "wss://jetstream2.us-east.bsky.network/subscribe";
  std::string ca_file;                // extra trusted CA certificates (PEM) for every TLS peer

  std::string log_level = "info";     // trace | debug | info | warn | error
  std::string config_file;

  // `tlflow import FILE`: when set, ingest and exit instead of serving.
  std::string import_file;
};

// Outcome of parsing the command line.
struct parsed_config {
  config cfg;
  bool show_help = false;
  bool show_version = false;
};

// Reads flags (argv), the environment (`envp`-style lookups through
// getenv) and the optional config file. invalid_argument with a message
// naming the setting.
result<parsed_config> parse_config(int argc, const char* const* argv);

// The `--help` text: every flag with its environment variable and default.
std::string help_text();

extern const char* const version_string;

} // namespace tlflow
