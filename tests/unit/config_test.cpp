#include "config_internal.hpp"

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support/temp_dir.hpp"
#include "tlflow/source.hpp"

using namespace tlflow;

namespace {

struct fake_env {
  std::map<std::string, std::string> vars;
  env_lookup lookup() const {
    return [this](const std::string& n) -> std::optional<std::string> {
      auto it = vars.find(n);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
};

result<parsed_config> parse(std::vector<std::string> args, const fake_env& env = {}) {
  args.insert(args.begin(), "tlflow");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_config(static_cast<int>(argv.size()), argv.data(), env.lookup());
}

struct temp_file {
  tlflow::test::temp_dir dir;
  std::string path = dir.file("tlflow.conf");
  explicit temp_file(const std::string& text) { std::ofstream(path) << text; }
};

} // namespace

TEST_CASE("config: defaults with no configuration at all") {
  auto r = parse({});
  REQUIRE(r.ok());
  const config& c = r->cfg;
  CHECK(c.port == 8080);
  CHECK(c.host == "0.0.0.0");
  CHECK(c.store == "memory");
  CHECK(c.data_dir == "./data");
  CHECK_FALSE(c.ephemeral);
  CHECK(c.max_body_bytes == 1048576);
  CHECK(c.api_token.empty());
  CHECK(c.import_file.empty());
}

TEST_CASE("config: both flag spellings") {
  auto r = parse({"--port", "9001", "--host=127.0.0.1", "--ephemeral", "--http-threads=3"});
  REQUIRE(r.ok());
  CHECK(r->cfg.port == 9001);
  CHECK(r->cfg.host == "127.0.0.1");
  CHECK(r->cfg.ephemeral);
  CHECK(r->cfg.http_threads == 3);
  r = parse({"--ephemeral=false"});
  REQUIRE(r.ok());
  CHECK_FALSE(r->cfg.ephemeral);
}

TEST_CASE("config: HTTP server limits and timeouts") {
  auto r = parse({});
  REQUIRE(r.ok());
  CHECK(r->cfg.max_header_bytes == 16384);
  CHECK(r->cfg.header_timeout_s == 10);
  CHECK(r->cfg.body_timeout_s == 30);
  CHECK(r->cfg.idle_timeout_s == 60);
  CHECK(r->cfg.max_connections == 10000);
  CHECK(r->cfg.max_connections_per_client == 256);
  CHECK(r->cfg.worker_threads == 0);
  CHECK(r->cfg.write_threads == 16);
  r = parse({"--max-header-bytes", "8192", "--header-timeout=2", "--body-timeout", "5",
             "--idle-timeout", "7", "--max-connections", "100", "--max-connections-per-client=3",
             "--worker-threads", "4", "--write-threads", "32"});
  REQUIRE(r.ok());
  CHECK(r->cfg.max_header_bytes == 8192);
  CHECK(r->cfg.header_timeout_s == 2);
  CHECK(r->cfg.body_timeout_s == 5);
  CHECK(r->cfg.idle_timeout_s == 7);
  CHECK(r->cfg.max_connections == 100);
  CHECK(r->cfg.max_connections_per_client == 3);
  CHECK(r->cfg.worker_threads == 4);
  CHECK(r->cfg.write_threads == 32);
  CHECK_FALSE(parse({"--write-threads", "0"}).ok());
  fake_env env;
  env.vars = {{"TLFLOW_IDLE_TIMEOUT", "9"}, {"TLFLOW_MAX_CONNECTIONS_PER_CLIENT", "11"}};
  r = parse({}, env);
  REQUIRE(r.ok());
  CHECK(r->cfg.idle_timeout_s == 9);
  CHECK(r->cfg.max_connections_per_client == 11);
  auto expect_error = [](result<parsed_config> bad, const std::string& needle) {
    REQUIRE_FALSE(bad.ok());
    INFO(bad.err().message);
    CHECK(bad.err().message.find(needle) != std::string::npos);
  };
  expect_error(parse({"--header-timeout", "0"}), "--header-timeout");
  expect_error(parse({"--idle-timeout", "x"}), "--idle-timeout");
  expect_error(parse({"--max-header-bytes", "100"}), "--max-header-bytes");
  expect_error(parse({"--max-connections", "0"}), "--max-connections");
}

TEST_CASE("config: precedence flag > environment > file > default") {
  temp_file f("# comment\nport = 7000\nhost = 10.0.0.1\ndata-dir = /srv/file\n"
              "log-level = debug\ngremlin-password = \"from file\"\n");
  fake_env env;
  env.vars = {{"PORT", "7100"}, {"TLFLOW_HOST", "10.0.0.2"}, {"TLFLOW_GREMLIN_PASSWORD", "pw"}};
  auto r = parse({"--config", f.path, "--port=7200"}, env);
  REQUIRE(r.ok());
  CHECK(r->cfg.port == 7200);            // flag
  CHECK(r->cfg.host == "10.0.0.2");      // env over file
  CHECK(r->cfg.data_dir == "/srv/file"); // file over default
  CHECK(r->cfg.log_level == "debug");
  CHECK(r->cfg.gremlin_password == "pw");
  CHECK(r->cfg.store == "memory");       // default

  env.vars.erase("TLFLOW_GREMLIN_PASSWORD");
  env.vars["TLFLOW_CONFIG"] = f.path;
  r = parse({}, env);
  REQUIRE(r.ok());
  CHECK(r->cfg.gremlin_password == "from file");
  CHECK(r->cfg.port == 7100);
}

TEST_CASE("config: lists from flags replace the environment's") {
  fake_env env;
  env.vars = {{"TLFLOW_SOURCES", "x, mastodon"}, {"TLFLOW_TRACK", "#Rust,cpp"}};
  auto r = parse({}, env);
  REQUIRE(r.ok());
  CHECK(r->cfg.sources == std::vector<std::string>{"x", "mastodon"});
  CHECK(r->cfg.track == std::vector<std::string>{"rust", "cpp"});
  r = parse({"--source", "jetstream", "--source=file:-"}, env);
  REQUIRE(r.ok());
  CHECK(r->cfg.sources == std::vector<std::string>{"jetstream", "file:-"});
}

TEST_CASE("config: --track holds to the tracking limit") {
  fake_env env;
  std::string list;
  for (std::size_t i = 0; i < tlflow::max_tracked_hashtags; ++i)
    list += (i ? ",t" : "t") + std::to_string(i);
  env.vars = {{"TLFLOW_TRACK", list + ",t0"}};  // a repeat does not count twice
  auto r = parse({}, env);
  REQUIRE(r.ok());
  CHECK(r->cfg.track.size() == tlflow::max_tracked_hashtags);
  env.vars["TLFLOW_TRACK"] = list + ",onemore";
  r = parse({}, env);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::invalid_argument);
  CHECK(r.err().message.find("TLFLOW_TRACK") != std::string::npos);
}

TEST_CASE("config: bad values name the setting") {
  auto expect_error = [](result<parsed_config> r, const std::string& needle) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == errc::invalid_argument);
    INFO(r.err().message);
    CHECK(r.err().message.find(needle) != std::string::npos);
  };
  expect_error(parse({"--port", "0"}), "--port");
  expect_error(parse({"--port=70000"}), "--port");
  expect_error(parse({"--port", "abc"}), "--port");
  expect_error(parse({"--port"}), "needs a value");
  expect_error(parse({"--nope"}), "unknown flag --nope");
  expect_error(parse({"stray"}), "unexpected argument");
  expect_error(parse({"--store", "redis"}), "memory or gremlin");
  expect_error(parse({"--gremlin-dialect=oracle"}), "neptune");
  expect_error(parse({"--source", "bogus"}), "bogus");
  expect_error(parse({"--log-level", "loud"}), "--log-level");
  expect_error(parse({"--max-body", "12"}), "--max-body");
  expect_error(parse({"--ephemeral=maybe"}), "--ephemeral");
  fake_env env;
  env.vars = {{"PORT", "-1"}};
  expect_error(parse({}, env), "PORT");
  expect_error(parse({"--config", "/nonexistent/tlflow.conf"}), "cannot read");
  temp_file f("colour = blue\n");
  expect_error(parse({"--config", f.path}), "unknown setting 'colour'");
}

TEST_CASE("config: secrets never come from flags and are never echoed") {
  auto r = parse({"--gremlin-password", "hunter2"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find("TLFLOW_GREMLIN_PASSWORD") != std::string::npos);
  CHECK(r.err().message.find("hunter2") == std::string::npos);
  r = parse({"--x-bearer-token=abc"});
  REQUIRE_FALSE(r.ok());
  r = parse({"--twitter-v1-consumer-secret=abc"});
  REQUIRE_FALSE(r.ok());
  fake_env env;
  env.vars = {{"TLFLOW_TWITTER_V1_CONSUMER_KEY", "ck"},
              {"TLFLOW_TWITTER_V1_CONSUMER_SECRET", "cs"},
              {"TLFLOW_TWITTER_V1_ACCESS_TOKEN", "at"},
              {"TLFLOW_TWITTER_V1_ACCESS_TOKEN_SECRET", "ats"}};
  r = parse({}, env);
  REQUIRE(r.ok());
  CHECK(r->cfg.twitter_v1_consumer_key == "ck");
  CHECK(r->cfg.twitter_v1_access_token_secret == "ats");
}

TEST_CASE("config: X backfill minutes 0-5, CA file") {
  auto r = parse({"--x-backfill-minutes", "5", "--ca-file", "/etc/tlflow/ca.pem"});
  REQUIRE(r.ok());
  CHECK(r->cfg.x_backfill_minutes == 5);
  CHECK(r->cfg.ca_file == "/etc/tlflow/ca.pem");
  CHECK(parse({}).value().cfg.x_backfill_minutes == 0);
  for (const char* bad : {"6", "-1", "", "05"}) {
    auto e = parse({"--x-backfill-minutes", bad});
    REQUIRE_FALSE(e.ok());
    CHECK(e.err().message.find("0 to 5") != std::string::npos);
  }
}

TEST_CASE("config: HTTPS certificate and key, as flags, environment or file, always together") {
  CHECK(parse({}).value().cfg.tls_cert.empty());
  auto r = parse({"--tls-cert", "/etc/tlflow/cert.pem", "--tls-key=/etc/tlflow/key.pem"});
  REQUIRE(r.ok());
  CHECK(r->cfg.tls_cert == "/etc/tlflow/cert.pem");
  CHECK(r->cfg.tls_key == "/etc/tlflow/key.pem");
  fake_env env;
  env.vars = {{"TLFLOW_TLS_CERT", "/env/cert.pem"}, {"TLFLOW_TLS_KEY", "/env/key.pem"}};
  r = parse({}, env);
  REQUIRE(r.ok());
  CHECK(r->cfg.tls_cert == "/env/cert.pem");
  CHECK(r->cfg.tls_key == "/env/key.pem");
  temp_file f("tls-cert = /file/cert.pem\ntls-key = /file/key.pem\n");
  r = parse({"--config", f.path});
  REQUIRE(r.ok());
  CHECK(r->cfg.tls_cert == "/file/cert.pem");
  CHECK(r->cfg.tls_key == "/file/key.pem");
  for (const auto& args : std::vector<std::vector<std::string>>{{"--tls-cert", "c.pem"},
                                                                {"--tls-key", "k.pem"}}) {
    auto e = parse(args);
    REQUIRE_FALSE(e.ok());
    INFO(e.err().message);
    CHECK(e.err().message.find(args[0] == "--tls-cert" ? "--tls-cert needs --tls-key"
                                                       : "--tls-key needs --tls-cert") !=
          std::string::npos);
  }
  CHECK_FALSE(parse({"--tls-cert", "", "--tls-key", "k.pem"}).ok());
  const std::string h = help_text();
  CHECK(h.find("TLFLOW_TLS_CERT") != std::string::npos);
  CHECK(h.find("TLFLOW_TLS_KEY") != std::string::npos);
}

TEST_CASE("config: import subcommand, help and version") {
  auto r = parse({"import", "sample.ndjson", "--ephemeral"});
  REQUIRE(r.ok());
  CHECK(r->cfg.import_file == "sample.ndjson");
  CHECK(r->cfg.ephemeral);
  r = parse({"import", "-"});
  REQUIRE(r.ok());
  CHECK(r->cfg.import_file == "-");
  CHECK_FALSE(parse({"import"}).ok());
  r = parse({"--help"});
  REQUIRE(r.ok());
  CHECK(r->show_help);
  r = parse({"--version"});
  REQUIRE(r.ok());
  CHECK(r->show_version);
}

TEST_CASE("config: --help lists every flag with its environment variable") {
  const std::string h = help_text();
  for (const char* needle :
       {"--port", "PORT", "--host", "TLFLOW_HOST", "--store", "--data-dir", "--ephemeral",
        "--gremlin-url", "--gremlin-dialect", "--gremlin-user", "TLFLOW_GREMLIN_PASSWORD",
        "--source", "TLFLOW_SOURCES", "--track", "--x-api-url", "TLFLOW_X_BEARER_TOKEN",
        "--twitter-v1-url", "--mastodon-url", "TLFLOW_MASTODON_TOKEN", "--jetstream-url",
        "--api-token", "--log-level", "--http-threads", "TLFLOW_SNAPSHOT_INTERVAL",
        "TLFLOW_MAX_BODY", "TLFLOW_GREMLIN_PARTITION_KEY", "--config", "--auth-reads",
        "--x-backfill-minutes", "--ca-file", "TLFLOW_TWITTER_V1_ACCESS_TOKEN_SECRET",
        "--max-header-bytes", "TLFLOW_HEADER_TIMEOUT", "--body-timeout", "--idle-timeout",
        "--max-connections", "TLFLOW_MAX_CONNECTIONS_PER_CLIENT", "--worker-threads",
        "--write-threads", "--gremlin-allow-plaintext-auth", "TLFLOW_GREMLIN_ALLOW_PLAINTEXT_AUTH"}) {
    INFO(needle);
    CHECK(h.find(needle) != std::string::npos);
  }
}

TEST_CASE("config: analytics size cap and refresh") {
  auto r = parse({});
  REQUIRE(r.ok());
  CHECK(r->cfg.analytics_max_elements == 12000000);
  CHECK(r->cfg.analytics_refresh_s == 60);
  CHECK(r->cfg.analytics_refresh_changes == 10000);
  CHECK(r->cfg.analytics_graph_communities == 1000000);
  CHECK(r->cfg.analytics_pagerank_refresh_iterations == 3);
  CHECK(r->cfg.analytics_betweenness_work == 200000000);
  r = parse({"--analytics-max-elements", "0", "--analytics-refresh=0", "--analytics-refresh-changes", "5",
             "--analytics-graph-communities", "0"});
  REQUIRE(r.ok());
  CHECK(r->cfg.analytics_graph_communities == 0);
  CHECK(r->cfg.analytics_max_elements == 0);
  CHECK(r->cfg.analytics_refresh_s == 0);
  CHECK(r->cfg.analytics_refresh_changes == 5);
  fake_env env;
  env.vars = {{"TLFLOW_ANALYTICS_REFRESH", "5"}};
  r = parse({}, env);
  REQUIRE(r.ok());
  CHECK(r->cfg.analytics_refresh_s == 5);
  for (const char* bad : {"-1", "x", "86401"}) {
    auto b = parse({"--analytics-refresh", bad});
    REQUIRE_FALSE(b.ok());
    CHECK(b.err().message.find("analytics-refresh") != std::string::npos);
  }
  CHECK_FALSE(parse({"--analytics-refresh-changes", "0"}).ok());
  CHECK_FALSE(parse({"--analytics-max-elements", "lots"}).ok());
  CHECK_FALSE(parse({"--analytics-graph-communities", "-1"}).ok());
}

TEST_CASE("config: --web-root, from a flag or the environment, never empty") {
  auto r = parse({});
  REQUIRE(r.ok());
  CHECK(r->cfg.web_root.empty());  // the files built in
  r = parse({"--web-root", "web"});
  REQUIRE(r.ok());
  CHECK(r->cfg.web_root == "web");
  fake_env env;
  env.vars = {{"TLFLOW_WEB_ROOT", "/usr/share/tlflow/web"}};
  r = parse({}, env);
  REQUIRE(r.ok());
  CHECK(r->cfg.web_root == "/usr/share/tlflow/web");
  auto empty = parse({"--web-root", ""});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.err().message.find("web-root") != std::string::npos);
  const std::string h = help_text();
  CHECK(h.find("--web-root") != std::string::npos);
  CHECK(h.find("TLFLOW_WEB_ROOT") != std::string::npos);
}
