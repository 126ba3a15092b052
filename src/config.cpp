// Configuration: flags, environment, optional file, defaults
// (docs/architecture.md, "Configuration").
//
// One table below describes every setting once: its flag (also its key in
// the config file), its environment variable, its default as shown by
// --help, and how a text value is checked and stored. Precedence is decided
// per setting: the highest layer that mentions it wins as a whole (a
// repeated --source on the command line replaces TLFLOW_SOURCES entirely).
#include "config_internal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "tlflow/source.hpp"
#include "util/log.hpp"

namespace tlflow {

const char* const version_string = TLFLOW_VERSION;

namespace {

enum class layer { file = 0, env = 1, flag = 2 };

struct option_def {
  const char* name;        // flag without dashes; key in the config file
  const char* env;         // environment variable, or nullptr
  const char* value_name;  // for --help; nullptr for a switch
  const char* default_text;
  const char* help;
  bool secret = false;     // never from a flag
  bool list = false;       // repeatable flag / comma list
  // Stores a value; returns an error message or "".
  std::string (*set)(config&, const std::string&) = nullptr;
};

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return c != ' ' && c != '\t' && c != '\r' && c != '\n'; };
  std::size_t b = 0;
  while (b < s.size() && !not_space(static_cast<unsigned char>(s[b]))) ++b;
  std::size_t e = s.size();
  while (e > b && !not_space(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool parse_u64(const std::string& text, unsigned long long max, unsigned long long& out) {
  if (text.empty() || text.size() > 20) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v > max) return false;
  out = v;
  return true;
}

bool parse_bool(const std::string& text, bool& out) {
  std::string t;
  for (char c : text) t.push_back(static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c));
  if (t == "1" || t == "true" || t == "yes" || t == "on") { out = true; return true; }
  if (t == "0" || t == "false" || t == "no" || t == "off") { out = false; return true; }
  return false;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Seconds 1-86400 into `out`; an error message or "".
std::string parse_seconds(const std::string& v, unsigned& out) {
  unsigned long long n = 0;
  if (!parse_u64(v, 86400, n) || n == 0) return "must be a number of seconds 1-86400";
  out = static_cast<unsigned>(n);
  return {};
}

std::string set_port(config& c, const std::string& v) {
  unsigned long long n = 0;
  if (!parse_u64(v, 65535, n) || n == 0) return "must be a port number 1-65535";
  c.port = static_cast<std::uint16_t>(n);
  return {};
}

const option_def options[] = {
    {"port", "PORT", "N", "8080", "HTTP port (PaaS platforms set PORT)", false, false, set_port},
    {"host", "TLFLOW_HOST", "ADDR", "0.0.0.0", "listen address", false, false,
     [](config& c, const std::string& v) -> std::string {
       if (v.empty()) return "must not be empty";
       c.host = v;
       return {};
     }},
    {"http-threads", "TLFLOW_HTTP_THREADS", "N", "0 (= cores)",
     "threads serving HTTP requests", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 256, n)) return "must be a number 0-256";
       c.http_threads = static_cast<unsigned>(n);
       return {};
     }},
    {"worker-threads", "TLFLOW_WORKER_THREADS", "N", "0 (= cores)",
     "threads running the slow routes (paths, flows, neighbours, edge scans)", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 256, n)) return "must be a number 0-256";
       c.worker_threads = static_cast<unsigned>(n);
       return {};
     }},
    {"write-threads", "TLFLOW_WRITE_THREADS", "N", "16",
     "threads running the writes, which wait for the log flush (group commit groups them)", false,
     false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 256, n) || n == 0) return "must be a number 1-256";
       c.write_threads = static_cast<unsigned>(n);
       return {};
     }},
    {"max-body", "TLFLOW_MAX_BODY", "BYTES", "4194304", "largest request body accepted (413 above)",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 1ULL << 30, n) || n < 1024) return "must be a byte count 1024-1073741824";
       c.max_body_bytes = static_cast<std::size_t>(n);
       return {};
     }},
    {"max-header-bytes", "TLFLOW_MAX_HEADER_BYTES", "BYTES", "16384",
     "largest request line + headers accepted (431 above)", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 1ULL << 20, n) || n < 1024) return "must be a byte count 1024-1048576";
       c.max_header_bytes = static_cast<std::size_t>(n);
       return {};
     }},
    {"header-timeout", "TLFLOW_HEADER_TIMEOUT", "SECONDS", "10",
     "time a client has to send a request's line and headers (then the connection closes)", false, false,
     [](config& c, const std::string& v) -> std::string {
       return parse_seconds(v, c.header_timeout_s);
     }},
    {"body-timeout", "TLFLOW_BODY_TIMEOUT", "SECONDS", "30",
     "longest wait for the next bytes of a body, or for a client to take a response", false,
     false,
     [](config& c, const std::string& v) -> std::string {
       return parse_seconds(v, c.body_timeout_s);
     }},
    {"idle-timeout", "TLFLOW_IDLE_TIMEOUT", "SECONDS", "60",
     "keep-alive connection closed after this long without a request", false, false,
     [](config& c, const std::string& v) -> std::string {
       return parse_seconds(v, c.idle_timeout_s);
     }},
    {"max-connections", "TLFLOW_MAX_CONNECTIONS", "N", "10000",
     "open HTTP connections at most (more: 503 and close)", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 1000000, n) || n == 0) return "must be a number 1-1000000";
       c.max_connections = static_cast<std::size_t>(n);
       return {};
     }},
    {"max-connections-per-client", "TLFLOW_MAX_CONNECTIONS_PER_CLIENT", "N", "256",
     "open HTTP connections at most from one client address (more: 503 and close)", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 1000000, n) || n == 0) return "must be a number 1-1000000";
       c.max_connections_per_client = static_cast<std::size_t>(n);
       return {};
     }},
    {"export-jobs", "TLFLOW_EXPORT_JOBS", "N", "2",
     "export jobs (POST /exports) running at once; up to 16 more wait", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 64, n) || n == 0) return "must be a number 1-64";
       c.export_jobs = static_cast<unsigned>(n);
       return {};
     }},
    {"export-retention", "TLFLOW_EXPORT_RETENTION", "SECONDS", "86400",
     "how long a finished export job and its file are kept", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 86400ULL * 365, n) || n == 0) return "must be a number of seconds, at least 1";
       c.export_retention_s = static_cast<unsigned>(n);
       return {};
     }},
    {"export-stream-limit", "TLFLOW_EXPORT_STREAM_LIMIT", "EDGES", "100000",
     "Gremlin store: GET /export is refused (422) above this many edges, POST /exports is not; 0: no limit",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 1ULL << 40, n)) return "must be a number of edges";
       c.export_stream_limit = n;
        return {};
      }},
    {"web-root", "TLFLOW_WEB_ROOT", "DIR", "none (the files built in)",
     "serve the web view's files (GET /, /ui/...) from DIR, read on every request", false, false,
     [](config& c, const std::string& v) -> std::string {
       if (v.empty()) return "must not be empty";
       c.web_root = v;
       return {};
     }},
    {"tls-cert", "TLFLOW_TLS_CERT", "FILE", "none (plain HTTP)",
     "serve HTTPS with this PEM certificate chain (needs --tls-key; both re-read on SIGHUP)", false,
     false,
     [](config& c, const std::string& v) -> std::string {
       if (v.empty()) return "must not be empty";
       c.tls_cert = v;
       return {};
     }},
    {"tls-key", "TLFLOW_TLS_KEY", "FILE", "none",
     "PEM private key of --tls-cert, unencrypted (readable by the service user only)", false, false,
     [](config& c, const std::string& v) -> std::string {
       if (v.empty()) return "must not be empty";
       c.tls_key = v;
       return {};
     }},
    {"path-budget", "TLFLOW_PATH_BUDGET", "N", "1000000",
     "vertices one path search may visit (422 too_expensive above; 0: no budget)", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 1ULL << 40, n)) return "must be a number of vertices";
       c.path_budget = static_cast<std::size_t>(n);
       return {};
     }},
    {"analytics-max-elements", "TLFLOW_ANALYTICS_MAX_ELEMENTS", "N", "12000000",
     "vertices + edges one analytics request may load (422 too_expensive above; 0: no cap)",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 1ULL << 40, n)) return "must be a number of vertices + edges";
       c.analytics_max_elements = n;
       return {};
     }},
    {"analytics-refresh", "TLFLOW_ANALYTICS_REFRESH", "SECONDS", "60",
     "whole-graph analytics rebuilt in the background after a change at least this often "
     "(0: computed per request, no background thread)",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 86400, n)) return "must be a number of seconds 0-86400";
       c.analytics_refresh_s = static_cast<unsigned>(n);
       return {};
     }},
    {"analytics-refresh-changes", "TLFLOW_ANALYTICS_REFRESH_CHANGES", "N", "10000",
     "whole-graph analytics also rebuilt once this many changes arrived (at most once a second)",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 1ULL << 40, n) || n == 0) return "must be a number from 1";
       c.analytics_refresh_changes = n;
       return {};
     }},
    {"analytics-betweenness-work", "TLFLOW_ANALYTICS_BETWEENNESS_WORK", "N", "200000000",
     "sampled betweenness uses at most this many sources × (vertices + arcs) per snapshot (fewer "
     "sources on big graphs; the reply's error_bound says how loose; 0: no cap)",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 1ULL << 50, n)) return "must be a number of vertex and arc visits";
       c.analytics_betweenness_work = n;
       return {};
     }},
    {"analytics-pagerank-refresh-iterations", "TLFLOW_ANALYTICS_PAGERANK_REFRESH_ITERATIONS", "N",
     "3",
     "power iterations of a background whole-graph PageRank refresh warm-started from the previous "
     "vector (the reply reports the error bound; continued until converged while no rebuild is "
     "due); 0: run to convergence",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 1000, n)) return "must be a number of iterations 0-1000";
       c.analytics_pagerank_refresh_iterations = static_cast<std::uint32_t>(n);
       return {};
     }},
    {"analytics-pagerank-bound-arcs", "TLFLOW_ANALYTICS_PAGERANK_BOUND_ARCS", "N", "1000000",
     "the bounded PageRank refresh applies to graphs of at least this many arcs; a smaller graph "
     "runs to convergence at every refresh (a cold run of 1M arcs takes ~40 ms)",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 1ULL << 40, n)) return "must be a number of arcs";
       c.analytics_pagerank_bound_arcs = n;
       return {};
     }},
    {"analytics-graph-communities", "TLFLOW_ANALYTICS_GRAPH_COMMUNITIES", "N", "1000000",
     "GET /graph computes a filtered slice's communities (Louvain) up to this many vertices + "
     "edges (above: community null; 0: never)",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 1ULL << 40, n)) return "must be a number of vertices + edges";
       c.analytics_graph_communities = n;
       return {};
     }},
    {"changes-retention-events", "TLFLOW_CHANGES_RETENTION_EVENTS", "N", "100000",
     "changes kept for clients resuming a changefeed", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 100000000, n) || n < 1) return "must be a number 1-100000000";
       c.changes_retention_events = static_cast<std::size_t>(n);
       return {};
     }},
    {"changes-retention-s", "TLFLOW_CHANGES_RETENTION_S", "SECONDS", "300",
     "longest a change is kept for resuming", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 86400, n) || n < 1) return "must be a number 1-86400";
       c.changes_retention_s = static_cast<unsigned>(n);
       return {};
     }},
    {"changes-coalesce-ms", "TLFLOW_CHANGES_COALESCE_MS", "MS", "250",
     "weight changes of one edge within this are sent as one event (0: each)", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 60000, n)) return "must be a number 0-60000";
       c.changes_coalesce_ms = static_cast<unsigned>(n);
       return {};
     }},
    {"changes-budget-bytes", "TLFLOW_CHANGES_BUDGET_BYTES", "BYTES", "4194304",
     "bytes waiting for one changefeed subscriber before it is dropped with overflow", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 1073741824, n) || n < 4096) return "must be a number 4096-1073741824";
       c.changes_budget_bytes = static_cast<std::size_t>(n);
       return {};
     }},
    {"changes-max-subscribers", "TLFLOW_CHANGES_MAX_SUBSCRIBERS", "N", "1000",
     "changefeed subscribers at most (more: 503)", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 1000000, n) || n < 1) return "must be a number 1-1000000";
       c.changes_max_subscribers = static_cast<std::size_t>(n);
       return {};
     }},
    {"changes-heartbeat-s", "TLFLOW_CHANGES_HEARTBEAT_S", "SECONDS", "15",
     "SSE heartbeat comment after this much quiet", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 3600, n) || n < 1) return "must be a number 1-3600";
       c.changes_heartbeat_s = static_cast<unsigned>(n);
       return {};
     }},
    {"changes-stats-s", "TLFLOW_CHANGES_STATS_S", "SECONDS", "10",
     "interval of changefeed stats events (0: none)", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 3600, n)) return "must be a number 0-3600";
       c.changes_stats_s = static_cast<unsigned>(n);
       return {};
     }},
    {"api-token", "TLFLOW_API_TOKEN", "TOKEN", "none",
     "static bearer token, grants every route (prefer the environment: flags show in ps); "
     "none on a non-loopback bind: generated into <data-dir>/api-token", false,
     false,
     [](config& c, const std::string& v) -> std::string {
       c.api_token = v;
       return {};
     }},
    {"auth-reads", "TLFLOW_AUTH_READS", nullptr, "off", "require credentials on reads too", false,
     false,
     [](config& c, const std::string& v) -> std::string {
       return parse_bool(v, c.auth_reads) ? "" : "must be true or false";
     }},
    {"no-auth", "TLFLOW_NO_AUTH", nullptr, "off",
     "serve writes without credentials even on a non-loopback address (logged as a warning)",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       return parse_bool(v, c.no_auth) ? "" : "must be true or false";
     }},
    {"jwt-jwks", "TLFLOW_JWT_JWKS", "FILE|URL", "none",
     "JWKS (file, or http(s) URL fetched at start and refreshed) for RS256/ES256 bearer JWTs",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       if (v.empty()) return "must not be empty";
       c.jwt_jwks = v;
       return {};
     }},
    {"jwt-secret", "TLFLOW_JWT_SECRET", "SECRET", "none",
     "HS256 shared secret for bearer JWTs (at least 32 bytes)", true, false,
     [](config& c, const std::string& v) -> std::string {
       if (v.size() < 32) return "must be at least 32 bytes";
       c.jwt_secret = v;
       return {};
     }},
    {"jwt-issuer", "TLFLOW_JWT_ISSUER", "ISS", "none (not checked)",
     "the `iss` every JWT must carry", false, false,
     [](config& c, const std::string& v) -> std::string {
       c.jwt_issuer = v;
       return {};
     }},
    {"jwt-audience", "TLFLOW_JWT_AUDIENCE", "AUD", "none (not checked)",
     "a value every JWT's `aud` must hold", false, false,
     [](config& c, const std::string& v) -> std::string {
       c.jwt_audience = v;
       return {};
     }},
    {"store", "TLFLOW_STORE", "KIND", "memory", "memory or gremlin", false, false,
     [](config& c, const std::string& v) -> std::string {
       if (v != "memory" && v != "gremlin") return "must be memory or gremlin";
       c.store = v;
       return {};
     }},
    {"data-dir", "TLFLOW_DATA_DIR", "DIR", "./data", "snapshot, log, tracking config", false, false,
     [](config& c, const std::string& v) -> std::string {
       if (v.empty()) return "must not be empty";
       c.data_dir = v;
       return {};
     }},
    {"ephemeral", "TLFLOW_EPHEMERAL", nullptr, "off", "memory store without durability", false,
     false,
     [](config& c, const std::string& v) -> std::string {
       return parse_bool(v, c.ephemeral) ? "" : "must be true or false";
     }},
    {"snapshot-interval", "TLFLOW_SNAPSHOT_INTERVAL", "SECONDS", "300",
     "seconds between snapshots (0: only on shutdown)", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 86400ULL * 365, n)) return "must be a number of seconds";
       c.snapshot_interval_s = static_cast<unsigned>(n);
       return {};
     }},
    {"wal-sync", "TLFLOW_WAL_SYNC", "MODE", "commit",
     "commit: a write is answered after the log is on disk (group commit); interval: "
     "flushed every --wal-sync-interval ms, a power loss may lose that much",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       if (v != "commit" && v != "interval") return "must be commit or interval";
       c.wal_sync = v;
       return {};
     }},
    {"wal-sync-interval", "TLFLOW_WAL_SYNC_INTERVAL", "MS", "200",
     "milliseconds between log flushes with --wal-sync=interval", false, false,
     [](config& c, const std::string& v) -> std::string {
       unsigned long long n = 0;
       if (!parse_u64(v, 60000, n) || n == 0) return "must be a number of milliseconds 1-60000";
       c.wal_sync_interval_ms = static_cast<unsigned>(n);
       return {};
     }},
    {"gremlin-url", "TLFLOW_GREMLIN_URL", "URL", "ws://localhost:8182/gremlin", "ws:// or wss://",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       if (v.rfind("ws://", 0) != 0 && v.rfind("wss://", 0) != 0) return "must start with ws:// or wss://";
       c.gremlin_url = v;
       return {};
     }},
    {"gremlin-dialect", "TLFLOW_GREMLIN_DIALECT", "NAME", "tinkerpop",
     "tinkerpop, janusgraph, cosmos or neptune", false, false,
     [](config& c, const std::string& v) -> std::string {
       if (v != "tinkerpop" && v != "janusgraph" && v != "cosmos" && v != "neptune") {
         return "must be tinkerpop, janusgraph, cosmos or neptune";
       }
       c.gremlin_dialect = v;
       return {};
     }},
    {"gremlin-user", "TLFLOW_GREMLIN_USER", "USER", "none",
     "SASL user (Cosmos DB: /dbs/<db>/colls/<graph>)", false, false,
     [](config& c, const std::string& v) -> std::string {
       c.gremlin_user = v;
       return {};
     }},
    {"gremlin-password", "TLFLOW_GREMLIN_PASSWORD", "SECRET", "none",
     "SASL password / Cosmos DB key", true, false,
     [](config& c, const std::string& v) -> std::string {
       c.gremlin_password = v;
       return {};
     }},
    {"gremlin-allow-plaintext-auth", "TLFLOW_GREMLIN_ALLOW_PLAINTEXT_AUTH", nullptr, "off",
     "send the SASL credentials over a plain ws:// URL (refused otherwise; use wss://)", false, false,
     [](config& c, const std::string& v) -> std::string {
       return parse_bool(v, c.gremlin_allow_plaintext_auth) ? "" : "must be true or false";
     }},
    {"gremlin-partition-key", "TLFLOW_GREMLIN_PARTITION_KEY", "NAME", "pk",
     "Cosmos DB partition key property", false, false,
     [](config& c, const std::string& v) -> std::string {
       if (v.empty()) return "must not be empty";
       c.gremlin_partition_key = v;
       return {};
     }},
    {"source", "TLFLOW_SOURCES", "SRC", "none",
     "x, twitter-v1, mastodon, jetstream, file:<path>, file:- (repeatable; env: comma list)", false,
     true,
     [](config& c, const std::string& v) -> std::string {
       if (v != "x" && v != "twitter-v1" && v != "mastodon" && v != "jetstream" &&
           !(v.rfind("file:", 0) == 0 && v.size() > 5)) {
         return "'" + v + "' is not x, twitter-v1, mastodon, jetstream, file:<path> or file:-";
       }
       c.sources.push_back(v);
       return {};
     }},
    {"track", "TLFLOW_TRACK", "TAGS", "none", "initial hashtags, comma list (repeatable)", false,
     true,
     [](config& c, const std::string& v) -> std::string {
       std::string tag = v;
       if (!tag.empty() && tag[0] == '#') tag.erase(0, 1);
       if (tag.empty()) return "hashtag must not be empty";
       for (char& ch : tag) {
         if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
       }
       if (std::find(c.track.begin(), c.track.end(), tag) != c.track.end()) return {};
       if (c.track.size() >= max_tracked_hashtags)
         return "more than " + std::to_string(max_tracked_hashtags) +
                " hashtags (the most that can be tracked)";
       c.track.push_back(tag);
       return {};
     }},
    {"x-api-url", "TLFLOW_X_API_URL", "URL", "https://api.x.com", "base URL of the X API", false,
     false,
     [](config& c, const std::string& v) -> std::string {
       c.x_api_url = v;
       return {};
     }},
    {"x-bearer-token", "TLFLOW_X_BEARER_TOKEN", "SECRET", "none", "X API bearer token", true, false,
     [](config& c, const std::string& v) -> std::string {
       c.x_bearer_token = v;
       return {};
     }},
    {"x-backfill-minutes", "TLFLOW_X_BACKFILL_MINUTES", "N", "0",
     "X v2: minutes of posts (0-5) the stream re-sends after a reconnect (Pro/Enterprise access)",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       if (v.size() != 1 || v[0] < '0' || v[0] > '5') return "must be a whole number from 0 to 5";
       c.x_backfill_minutes = static_cast<unsigned>(v[0] - '0');
       return {};
     }},
    {"twitter-v1-url", "TLFLOW_TWITTER_V1_URL", "URL", "https://stream.twitter.com",
     "base URL of the v1.1 stream", false, false,
     [](config& c, const std::string& v) -> std::string {
       c.twitter_v1_url = v;
       return {};
     }},
    {"twitter-v1-consumer-key", "TLFLOW_TWITTER_V1_CONSUMER_KEY", "SECRET", "none",
     "v1.1 OAuth 1.0a: the app's API key", true, false,
     [](config& c, const std::string& v) -> std::string {
       c.twitter_v1_consumer_key = v;
       return {};
     }},
    {"twitter-v1-consumer-secret", "TLFLOW_TWITTER_V1_CONSUMER_SECRET", "SECRET", "none",
     "v1.1 OAuth 1.0a: the app's API key secret", true, false,
     [](config& c, const std::string& v) -> std::string {
       c.twitter_v1_consumer_secret = v;
       return {};
     }},
    {"twitter-v1-access-token", "TLFLOW_TWITTER_V1_ACCESS_TOKEN", "SECRET", "none",
     "v1.1 OAuth 1.0a: the user's access token", true, false,
     [](config& c, const std::string& v) -> std::string {
       c.twitter_v1_access_token = v;
       return {};
     }},
    {"twitter-v1-access-token-secret", "TLFLOW_TWITTER_V1_ACCESS_TOKEN_SECRET", "SECRET", "none",
     "v1.1 OAuth 1.0a: the access token secret (all four set: OAuth 1.0a, else the X bearer token)",
     true, false,
     [](config& c, const std::string& v) -> std::string {
       c.twitter_v1_access_token_secret = v;
       return {};
     }},
    {"mastodon-url", "TLFLOW_MASTODON_URL", "URL", "none",
     "Mastodon instance (or streaming host) base URL", false, false,
     [](config& c, const std::string& v) -> std::string {
       c.mastodon_url = v;
       return {};
     }},
    {"mastodon-token", "TLFLOW_MASTODON_TOKEN", "SECRET", "none",
     "Mastodon user token with read:statuses", true, false,
     [](config& c, const std::string& v) -> std::string {
       c.mastodon_token = v;
       return {};
     }},
    {"jetstream-url", "TLFLOW_JETSTREAM_URL", "URL",
     "wss://jetstream2.us-east.bsky.network/subscribe", "Bluesky Jetstream endpoint", false, false,
     [](config& c, const std::string& v) -> std::string {
       c.jetstream_url = v;
       return {};
     }},
    {"ca-file", "TLFLOW_CA_FILE", "FILE", "none",
     "extra trusted CA certificates (PEM) for TLS peers: sources and Gremlin", false, false,
     [](config& c, const std::string& v) -> std::string {
       c.ca_file = v;
       return {};
     }},
    {"log-level", "TLFLOW_LOG_LEVEL", "LEVEL", "info", "trace, debug, info, warn, error or off",
     false, false,
     [](config& c, const std::string& v) -> std::string {
       log::level l{};
       if (!log::parse_level(v, l)) return "must be trace, debug, info, warn, error or off";
       c.log_level = v;
       return {};
     }},
};

const option_def* find_option(const std::string& name) {
  for (const auto& o : options) {
    if (name == o.name) return &o;
  }
  return nullptr;
}

using layer_values = std::map<std::string, std::vector<std::string>>; // option name -> raw values

error bad(const std::string& message) { return error{errc::invalid_argument, message}; }

// Reads `name = value` lines; '#' starts a comment line.
result<layer_values> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return bad("cannot read config file " + path);
  layer_values out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const std::size_t eq = line.find('=');
    const std::string where = path + ":" + std::to_string(number);
    if (eq == std::string::npos) return bad(where + ": expected 'name = value'");
    std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (find_option(key) == nullptr) return bad(where + ": unknown setting '" + key + "'");
    out[key].push_back(value);
  }
  return out;
}

} // namespace

result<parsed_config> parse_config(int argc, const char* const* argv, const env_lookup& env) {
  parsed_config out;
  layer_values flags;
  std::optional<std::string> config_file;

  int i = 1;
  if (argc > 1 && std::string(argv[1]) == "import") {
    if (argc < 3 || std::string(argv[2]).empty() ||
        (argv[2][0] == '-' && argv[2][1] == '-')) {
      return bad("usage: tlflow import FILE|- [flags]");
    }
    out.cfg.import_file = argv[2];
    i = 3;
  }
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") { out.show_help = true; continue; }
    if (arg == "--version" || arg == "-V") { out.show_version = true; continue; }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      return bad("unexpected argument '" + arg + "' (see tlflow --help)");
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const std::size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "config") {
      if (!value) {
        if (i + 1 >= argc) return bad("--config needs a value");
        value = argv[++i];
      }
      config_file = *value;
      continue;
    }
    const option_def* o = find_option(name);
    if (o == nullptr) return bad("unknown flag --" + name + " (see tlflow --help)");
    if (o->secret) {
      return bad("--" + name + " is a secret: set " + o->env +
                 " in the environment or the config file instead");
    }
    if (!value) {
      if (o->value_name == nullptr) {
        value = "true";
      } else {
        if (i + 1 >= argc) return bad("--" + name + " needs a value");
        value = argv[++i];
      }
    }
    flags[name].push_back(*value);
  }
  if (out.show_help || out.show_version) return out;

  layer_values from_env;
  for (const auto& o : options) {
    if (o.env == nullptr) continue;
    if (auto v = env(o.env)) from_env[o.name].push_back(*v);
  }
  if (!config_file) config_file = env("TLFLOW_CONFIG");
  layer_values from_file;
  if (config_file && !config_file->empty()) {
    auto f = read_file(*config_file);
    if (!f) return std::move(f).err();
    from_file = std::move(f).value();
    out.cfg.config_file = *config_file;
  }

  for (const auto& o : options) {
    const std::vector<std::string>* values = nullptr;
    std::string origin;
    if (auto it = flags.find(o.name); it != flags.end()) {
      values = &it->second;
      origin = std::string("--") + o.name;
    } else if (auto e = from_env.find(o.name); e != from_env.end()) {
      values = &e->second;
      origin = o.env;
    } else if (auto fv = from_file.find(o.name); fv != from_file.end()) {
      values = &fv->second;
      origin = std::string(o.name) + " in " + out.cfg.config_file;
    }
    if (values == nullptr) continue;
    if (!o.list && values->size() > 1) return bad(origin + " given more than once");
    for (const auto& raw : *values) {
      std::vector<std::string> items = o.list ? split_list(raw) : std::vector<std::string>{raw};
      for (const auto& item : items) {
        const std::string why = o.set(out.cfg, item);
        if (!why.empty()) {
          // Never echo a secret back.
          const std::string shown = o.secret ? std::string("<secret>") : "'" + item + "'";
          return bad(origin + ": " + shown + " " + why);
        }
      }
    }
  }
  if (out.cfg.tls_cert.empty() != out.cfg.tls_key.empty()) {
    return bad(out.cfg.tls_cert.empty() ? "--tls-key needs --tls-cert" : "--tls-cert needs --tls-key");
  }
  if (flags.count("api-token") != 0) {
    log::warn("config", "--api-token is visible in process listings; prefer TLFLOW_API_TOKEN");
  }
  return out;
}

result<parsed_config> parse_config(int argc, const char* const* argv) {
  return parse_config(argc, argv, [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  });
}

std::string help_text() {
  std::ostringstream os;
  os << "tlflow " << version_string
     << " — a graph of who interacts with whom around tracked hashtags, served over REST.\n\n"
        "usage: tlflow [flags]              serve the REST API\n"
        "       tlflow import FILE|- [flags] ingest an NDJSON file into the store and exit\n"
        "       tlflow repair [--data-dir DIR] keep every intact log record of a damaged store\n"
        "       tlflow restore FILE [--data-dir DIR] write a backup (GET /backup) into an empty DIR\n\n"
        "Every setting is a flag, an environment variable, or a line `name = value` in the\n"
        "file given by --config FILE (or TLFLOW_CONFIG). Precedence: flag > environment >\n"
        "file > default. Secrets are accepted only from the environment or the file.\n\n";
  for (const auto& o : options) {
    std::string flag = o.secret ? std::string("  (no flag; file key: ") + o.name + ")"
                                : std::string("  --") + o.name;
    if (!o.secret && o.value_name != nullptr) flag += std::string(" ") + o.value_name;
    os << flag << "\n      " << o.help << "\n      env " << (o.env ? o.env : "-")
       << ", default " << o.default_text << "\n";
  }
  os << "  --config FILE\n      settings file\n      env TLFLOW_CONFIG, default none\n"
        "  --help, -h\n      this text\n  --version, -V\n      print the version\n";
  return os.str();
}

} // namespace tlflow
