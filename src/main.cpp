// tlflow — wiring only: configuration, store, pipeline, API.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <pthread.h>

#include "api/analytics_routes.hpp"
#include "api/auth.hpp"
#include "api/live_routes.hpp"
#include "api/routes.hpp"
#include "api/export_routes.hpp"
#include "api/server.hpp"
#include "api/tls.hpp"
#include "api/tracking_routes.hpp"
#include "api/web_routes.hpp"
#include "sources/http_client.hpp"
#include "pipeline/import.hpp"
#include "pipeline/ingest_service.hpp"
#include "tracking/tracking.hpp"
#include "store/gremlin/gremlin_store.hpp"
#include "store/memory/memory_store.hpp"
#include "tlflow/config.hpp"
#include "util/allocator.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"

namespace {

int usage_error(const std::string& message) {
  std::fprintf(stderr, "tlflow: %s\n", message.c_str());
  return 2;
}

// Every route the service serves: core, legacy, tracking, analytics,
// exports and the web view.
void add_all_routes(tlflow::api::router& r, tlflow::api::api_context& ctx, tlflow::tracking& track,
                    tlflow::api::analytics_routes& analytics, tlflow::api::export_service& exports,
                    std::shared_ptr<const tlflow::api::web_assets> web) {
  tlflow::api::add_core_routes(r, ctx);
  tlflow::api::add_web_routes(r, std::move(web));
  tlflow::api::add_tracking_routes(r, track);
  analytics.add(r);
  tlflow::api::add_export_routes(r, exports);
}

// Hidden: prints "METHOD TEMPLATE" per route, for the OpenAPI conformance
// test (every route served must be documented).
int list_routes() {
  tlflow::memory_store_options o;
  o.ephemeral = true;
  auto store = tlflow::memory_store::open(o);
  if (!store) return usage_error(store.err().message);
  tlflow::metrics_registry metrics;
  tlflow::api::undo_tickets tickets;
  tlflow::tracking track("", {});
  tlflow::api::api_context ctx{**store, tickets, metrics, {}, {}};
  tlflow::api::analytics_routes analytics(ctx, {});
  tlflow::api::export_service exports(**store, {});
  tlflow::api::router r;
  add_all_routes(r, ctx, track, analytics, exports, *tlflow::api::web_assets::open(""));
  tlflow::live::changefeed feed({}, metrics);
  tlflow::api::add_live_routes(r, feed, **store);
  for (const auto& rt : r.routes()) std::printf("%s %s\n", rt.method.c_str(), rt.path_template.c_str());
  (*store)->close();
  return 0;
}

// The store named by --store. invalid_argument for an unknown name.
tlflow::result<std::unique_ptr<tlflow::graph_store>> open_store(const tlflow::config& cfg,
                                                                tlflow::metrics_registry& metrics) {
  using namespace tlflow;
  if (cfg.store == "memory") {
    memory_store_options o;
    o.data_dir = cfg.data_dir;
    o.ephemeral = cfg.ephemeral;
    o.snapshot_interval_s = cfg.snapshot_interval_s;
    o.wal_fsync = *parse_wal_fsync_policy(cfg.wal_sync); // checked by parse_config
    o.wal_fsync_interval_ms = cfg.wal_sync_interval_ms;
    o.wal_metrics = &metrics;
    // Store sizes are registered for every store by api::register_store_gauges.
    auto s = memory_store::open(o);
    if (!s) return std::move(s).err();
    log::info("main", "store memory ", cfg.ephemeral ? "(ephemeral)" : "in " + cfg.data_dir);
    return std::unique_ptr<graph_store>(std::move(s).value());
  }
  if (cfg.store == "gremlin") {
    gremlin::gremlin_store_options o = gremlin::options_from_config(cfg);
    o.metrics = &metrics;
    auto s = gremlin::gremlin_store::open(o);
    if (!s) return std::move(s).err();
    log::info("main", "store gremlin at ", cfg.gremlin_url, " (", cfg.gremlin_dialect, ")");
    return std::unique_ptr<graph_store>(std::move(s).value());
  }
  return error{errc::invalid_argument, "--store must be memory or gremlin, not " + cfg.store};
}

// `tlflow repair [--data-dir DIR]`: keeps every intact log record, sets the
// damaged bytes aside, says what was dropped. 0 when the store opens after.
int repair(int argc, char** argv) {
  using namespace tlflow;
  // The subcommand's own flags are the service's (--data-dir, --config, env).
  auto parsed = parse_config(argc - 1, argv + 1);
  if (!parsed) return usage_error(parsed.err().message);
  if (parsed->show_help) {
    std::puts("usage: tlflow repair [--data-dir DIR]\n"
              "Rewrites the write-ahead log of DIR keeping every intact record; damaged bytes and\n"
              "the original segments are kept in DIR/damaged/. Run it with the service stopped.");
    return 0;
  }
  const config& cfg = parsed->cfg;
  memory_store_options o;
  o.data_dir = cfg.data_dir;
  auto report = memory_store::repair(o);
  if (!report) {
    std::fprintf(stderr, "tlflow repair: %s\n", report.err().message.c_str());
    return 1;
  }
  std::fputs(("tlflow repair " + cfg.data_dir + ":\n" + to_string(*report)).c_str(), stdout);
  // Proof: the store opens now (and nothing else holds the directory).
  o.snapshot_interval_s = 0;
  auto opened = memory_store::open(o);
  if (!opened) {
    std::fprintf(stderr, "tlflow repair: the store still does not open: %s\n",
                 opened.err().message.c_str());
    return 1;
  }
  const auto st = (*opened)->statistics();
  std::printf("the store opens: %llu vertices, %llu edges, last sequence number %llu\n",
              static_cast<unsigned long long>(st.vertices), static_cast<unsigned long long>(st.edges),
              static_cast<unsigned long long>(st.last_seq));
  (*opened)->close();
  return 0;
}

// `tlflow restore FILE [--data-dir DIR]`: writes a backup (GET /backup) into
// an empty or new data directory, after checking all of it.
int restore(int argc, char** argv) {
  using namespace tlflow;
  static const char* usage =
      "usage: tlflow restore FILE [--data-dir DIR]\n"
      "Checks the backup FILE (made by GET /backup) whole, then writes it into DIR, which must be\n"
      "empty or absent; a damaged or truncated file is refused and nothing is written.";
  if (argc >= 3 && (std::strcmp(argv[2], "--help") == 0 || std::strcmp(argv[2], "-h") == 0)) {
    std::puts(usage);
    return 0;
  }
  if (argc < 3 || argv[2][0] == '-') {
    std::fprintf(stderr, "tlflow restore: the backup file comes first\n%s\n", usage);
    return 2;
  }
  const std::string file = argv[2];
  // The rest are the service's flags (--data-dir, --config, env); argv[2]
  // stands in for the program name parse_config skips.
  auto parsed = parse_config(argc - 2, argv + 2);
  if (!parsed) return usage_error(parsed.err().message);
  const config& cfg = parsed->cfg;
  auto report = memory_store::restore_backup(file, cfg.data_dir);
  if (!report) {
    std::fprintf(stderr, "tlflow restore: %s\n", report.err().message.c_str());
    return 1;
  }
  std::printf("tlflow restore %s into %s: snapshot at sequence number %llu, %llu log segment(s), "
              "%llu bytes, up to sequence number %llu\nthe store opens: %llu vertices, %llu edges\n",
              file.c_str(), cfg.data_dir.c_str(), static_cast<unsigned long long>(report->snapshot_seq),
              static_cast<unsigned long long>(report->segments),
              static_cast<unsigned long long>(report->bytes),
              static_cast<unsigned long long>(report->last_seq),
              static_cast<unsigned long long>(report->vertices),
              static_cast<unsigned long long>(report->edges));
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  using namespace tlflow;

  // Signals are taken with sigwait() below; block them before any thread
  // exists so that every thread inherits the mask. SIGHUP re-reads the TLS
  // certificate and key.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  keep_freed_memory();

  if (argc == 2 && std::strcmp(argv[1], "--list-routes") == 0) return list_routes();
  if (argc >= 2 && std::strcmp(argv[1], "repair") == 0) return repair(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "restore") == 0) return restore(argc, argv);

  auto parsed = parse_config(argc, argv);
  if (!parsed) return usage_error(parsed.err().message);
  if (parsed->show_help) {
    std::fputs(help_text().c_str(), stdout);
    return 0;
  }
  if (parsed->show_version) {
    std::printf("tlflow %s\n", version_string);
    return 0;
  }
  const config& cfg = parsed->cfg;
  log::level level{};
  log::parse_level(cfg.log_level, level);
  log::set_level(level);

  // A wrong import path is reported before the store makes its data dir.
  if (!cfg.import_file.empty()) {
    if (auto readable = check_import_input(cfg.import_file); !readable) {
      std::fprintf(stderr, "tlflow import: %s\n", readable.err().message.c_str());
      return 1;
    }
  }

  // Before the store and the sources: a refusal here leaves nothing to undo.
  // A JWKS URL is fetched with the sources' libcurl client, the one HTTP
  // client of the service.
  auto fetch_jwks = [](const std::string& url, const std::string& ca_file,
                       std::chrono::milliseconds timeout) -> result<std::string> {
    http_request req;
    req.url = url;
    req.ca_file = ca_file;
    req.headers.push_back("Accept: application/json");
    auto r = http_call(req, timeout);
    if (!r) return std::move(r).err();
    if (r->status != 200) return error{errc::io_error, "HTTP " + std::to_string(r->status)};
    return std::move(r->body);
  };
  auto auth = cfg.import_file.empty() ? api::make_authenticator(cfg, fetch_jwks)
                                      : result<std::shared_ptr<api::authenticator>>(nullptr);
  if (!auth) {
    log::error("main", "authentication: ", auth.err().message);
    return auth.err().code == errc::invalid_argument ? 2 : 1;
  }

  // The server loads them again at start; read here, a bad file is refused
  // before anything opens.
  if (cfg.import_file.empty() && !cfg.tls_cert.empty()) {
    if (auto tls = api::load_server_tls(cfg.tls_cert, cfg.tls_key); !tls) {
      log::error("main", tls.err().message);
      return 2;
    }
  }

  auto web = api::web_assets::open(cfg.web_root);
  if (!web) {
    log::error("main", web.err().message);
    return 2;
  }

  metrics_registry metrics;
  auto opened = open_store(cfg, metrics);
  if (!opened) {
    log::error("main", "cannot open the store: ", opened.err().message);
    return opened.err().code == errc::invalid_argument ? 2 : 1;
  }
  std::unique_ptr<graph_store> store = std::move(opened).value();

  if (!cfg.import_file.empty()) {
    const int rc = run_import(cfg, *store, metrics);
    store->close();
    return rc;
  }

  tracking track(cfg.ephemeral ? std::string() : cfg.data_dir, tracking_set{cfg.track, {}});
  if (auto loaded = track.load(); !loaded) {
    log::error("main", "tracking configuration: ", loaded.err().message);
    store->close();
    return loaded.err().code == errc::invalid_argument ? 2 : 1;
  }
  ingest_service ingest(cfg, *store, metrics, track);
  if (auto started = ingest.start(); !started) {
    log::error("main", "ingestion: ", started.err().message);
    store->close();
    return started.err().code == errc::invalid_argument ? 2 : 1;
  }

  api::undo_tickets tickets;
  api::api_context ctx{*store, tickets, metrics, std::chrono::steady_clock::now(),
                       [&ingest] { return ingest.stats_json(); }};
  ctx.path_budget = cfg.path_budget;
  if (auto* memory = dynamic_cast<memory_store*>(store.get())) {
    ctx.open_backup = [memory]() -> result<api::piece_source> {
      auto b = memory->begin_backup();
      if (!b) return std::move(b).err();
      std::shared_ptr<backup_stream> stream = std::move(b).value();
      return api::piece_source([stream] { return stream->next(); });
    };
  }
  api::analytics_settings analytics_settings;
  analytics_settings.max_elements = cfg.analytics_max_elements;
  analytics_settings.refresh_s = cfg.analytics_refresh_s;
  analytics_settings.refresh_changes = cfg.analytics_refresh_changes;
  analytics_settings.pagerank_refresh_iterations = cfg.analytics_pagerank_refresh_iterations;
  analytics_settings.pagerank_bound_arcs = cfg.analytics_pagerank_bound_arcs;
  analytics_settings.betweenness_work = cfg.analytics_betweenness_work;
  analytics_settings.graph_communities = cfg.analytics_graph_communities;
  // Changes: interactions ingested plus writes through the API.
  counter_metric& interactions = metrics.counter("tlflow_ingest_interactions_total",
                                                 "Interactions applied to the store");
  analytics_settings.changes = [&interactions, &ctx] {
    return interactions.value() + ctx.writes.load(std::memory_order_relaxed);
  };
  api::analytics_routes analytics(ctx, analytics_settings);
  api::export_options export_options;
  export_options.dir = cfg.ephemeral ? std::string() : cfg.data_dir + "/exports";
  export_options.max_running = cfg.export_jobs;
  export_options.retention = std::chrono::seconds(cfg.export_retention_s);
  if (store->kind() == "gremlin") export_options.stream_edge_limit = cfg.export_stream_limit;
  export_options.extras = api::analytics_extras(analytics);
  api::export_service exports(*store, export_options);
  if (auto opened_exports = exports.open(); !opened_exports) {
    log::error("main", "exports: ", opened_exports.err().message);
    ingest.stop();
    store->close();
    return 1;
  }
  api::router routes;
  add_all_routes(routes, ctx, track, analytics, exports, std::move(web).value());
  live::changefeed_options feed_options;
  feed_options.retention_events = cfg.changes_retention_events;
  feed_options.retention_s = cfg.changes_retention_s;
  feed_options.coalesce_ms = cfg.changes_coalesce_ms;
  feed_options.subscriber_budget_bytes = cfg.changes_budget_bytes;
  feed_options.max_subscribers = cfg.changes_max_subscribers;
  feed_options.heartbeat_s = cfg.changes_heartbeat_s;
  feed_options.stats_s = cfg.changes_stats_s;
  live::stats_source feed_stats;
  auto& posts = metrics.counter("tlflow_ingest_posts_total", "Posts read from all sources");
  feed_stats.posts = [&posts] { return posts.value(); };
  feed_stats.interactions = [&interactions] { return interactions.value(); };
  feed_stats.vertices = [&store] { auto n = store->count_vertices(); return n ? *n : 0; };
  feed_stats.edges = [&store] { auto n = store->count_edges(); return n ? *n : 0; };
  live::changefeed feed(feed_options, metrics, feed_stats);
  feed.set_attributes(api::analytics_attributes(analytics));
  feed.attach(*store);
  api::add_live_routes(routes, feed, *store);
  api::register_store_gauges(metrics, *store);

  api::server_options server_options;
  server_options.host = cfg.host;
  server_options.port = cfg.port;
  server_options.max_body_bytes = cfg.max_body_bytes;
  server_options.max_header_bytes = cfg.max_header_bytes;
  server_options.header_timeout = std::chrono::seconds(cfg.header_timeout_s);
  server_options.body_timeout = std::chrono::seconds(cfg.body_timeout_s);
  server_options.idle_timeout = std::chrono::seconds(cfg.idle_timeout_s);
  server_options.max_connections = cfg.max_connections;
  server_options.max_connections_per_client = cfg.max_connections_per_client;
  server_options.threads = cfg.http_threads;
  server_options.worker_threads = cfg.worker_threads;
  server_options.write_threads = cfg.write_threads;
  server_options.auth = *auth;
  server_options.tls_cert_file = cfg.tls_cert;
  server_options.tls_key_file = cfg.tls_key;
  api::http_server server(routes, metrics, server_options);
  if (auto started = server.start(); !started) {
    log::error("main", started.err().message);
    exports.close();
    ingest.stop();
    store->close();
    return started.err().code == errc::invalid_argument ? 2 : 1;
  }
  analytics.start();
  log::info("main", "tlflow ", version_string, " listening on ", server.tls() ? "https://" : "http://",
            server.listen_address(),
            " (", server.io_threads(), " HTTP threads", (*auth)->open() ? ", no authentication" : ", auth on",
            ")");

  int sig = 0;
  while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) {
    if (server.tls()) {
      (void)server.reload_tls();  // logs and counts either outcome itself
    } else {
      log::info("main", "SIGHUP: nothing to reload (no --tls-cert)");
    }
  }
  log::info("main", "signal ", sig == SIGTERM ? "SIGTERM" : "SIGINT", ": shutting down");
  server.stop();
  exports.close(); // before the store: its threads scan it
  analytics.stop();
  ingest.stop();  // sources stop, the pipeline drains into the store
  feed.stop();
  store->close(); // snapshot
  log::info("main", "stopped");
  return 0;
}
