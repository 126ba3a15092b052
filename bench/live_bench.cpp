// The changefeed under ingestion (docs/live.md, "Figures"). Not a test: it
// prints figures.
//
//   build/bench/live_bench [--tlflow build/tlflow] [--posts 200000]
//                          [--subscribers 100] [--idle 500] [--rounds 5]
//
// 1. Writes --posts X v2 posts (each mentions two accounts drawn from a
//    power law over 50,000; one in 20 is a reply; one in 50 carries #rare).
// 2. Ingestion rate: tlflow serves with `--source file:-` (ephemeral), the
//    posts are piped into its stdin, and the time until
//    tlflow_ingest_posts_total reaches --posts is taken; once with no
//    subscriber, once with --subscribers SSE subscribers connected first
//    (mixed filters: 5% around=bench:t, the probes' target; 25% kind=reply;
//    35% hashtag=rare; 35% around=the most mentioned account) reading
//    everything as it comes. --rounds times, each pair on fresh instances
//    one after the other: the machine's other load moves single imports by
//    up to 2x, so the figure is the median of the rounds' ratios.
// 3. Latency store write → delivery: during each import with subscribers a
//    probe thread POSTs a `mention` edge from a new vertex to bench:t every
//    20 ms; the subscribers around bench:t record when its event arrives;
//    p50 / p99 / max of arrival − send over all rounds.
// 4. Memory per idle subscriber: RSS of a fresh instance before and after
//    --idle subscribers (kind=link: no event reaches them) connect.
// With each import, the CPU seconds tlflow used, by thread (from /proc: less
// moved by the machine's load than the wall time), and this benchmark's own.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double secs_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One request with Connection: close; the whole answer.
std::string http(std::uint16_t port, const std::string& method, const std::string& target,
                 const std::string& body = {}) {
  const int fd = connect_to(port);
  if (fd < 0) return {};
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!body.empty())
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[65536];
  for (;;) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

double metric(std::uint16_t port, const std::string& name) {
  const std::string m = http(port, "GET", "/metrics");
  const auto at = m.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atof(m.c_str() + at + name.size() + 2);
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// CPU seconds (user + system) in a /proc stat line (fields after the
// command: state is field 3; utime 14, stime 15).
double stat_cpu_s(const std::string& text) {
  const auto paren = text.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream rest(text.substr(paren + 2));
  std::string field;
  double ut = 0, st = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) ut = std::atof(field.c_str());
    if (i == 15) st = std::atof(field.c_str());
  }
  return (ut + st) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// CPU seconds the process used so far.
double cpu_s(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(in, text); // one line
  return stat_cpu_s(text);
}

// CPU seconds so far by thread name (tlflow names its threads), summed.
std::map<std::string, double> thread_cpu_s(pid_t pid) {
  std::map<std::string, double> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream stat(dir + "/" + e->d_name + "/stat"), comm(dir + "/" + e->d_name + "/comm");
    std::string text, name;
    std::getline(stat, text);
    std::getline(comm, name);
    out[name] += stat_cpu_s(text);
  }
  ::closedir(d);
  return out;
}

// "name 1.23 s, ..." of the threads' CPU between two readings, most first.
std::string thread_cpu_text(const std::map<std::string, double>& before, const std::map<std::string, double>& after) {
  std::vector<std::pair<double, std::string>> v;
  for (const auto& [name, s] : after) {
    const auto it = before.find(name);
    const double d = s - (it == before.end() ? 0.0 : it->second);
    if (d >= 0.005) v.emplace_back(d, name);
  }
  std::sort(v.rbegin(), v.rend());
  std::string out;
  char buf[64];
  for (const auto& [d, name] : v) {
    std::snprintf(buf, sizeof buf, "%s%s %.2f", out.empty() ? "" : ", ", name.c_str(), d);
    out += buf;
  }
  return out;
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct service {
  pid_t pid = -1;
  int stdin_fd = -1;
  std::uint16_t port = 0;
};

service start(const std::string& binary, bool with_stdin) {
  service s;
  s.port = free_port();
  int pipefd[2] = {-1, -1};
  if (with_stdin && ::pipe(pipefd) != 0) std::exit(1);
  s.pid = ::fork();
  if (s.pid == 0) {
    if (with_stdin) {
      ::dup2(pipefd[0], 0);
      ::close(pipefd[1]);
    }
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 2);
    const std::string port = std::to_string(s.port);
    std::vector<const char*> argv = {binary.c_str(), "--ephemeral", "--host", "127.0.0.1", "--port", port.c_str(),
                                     "--max-connections-per-client", "100000", "--log-level", "warn"};
    if (with_stdin) {
      argv.push_back("--source");
      argv.push_back("file:-");
    }
    argv.push_back(nullptr);
    ::execv(binary.c_str(), const_cast<char* const*>(argv.data()));
    std::_Exit(127);
  }
  if (with_stdin) {
    ::close(pipefd[0]);
    s.stdin_fd = pipefd[1];
  }
  for (int i = 0; i < 200; ++i) {
    if (http(s.port, "GET", "/status").find("200 OK") != std::string::npos) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "tlflow did not start\n");
  std::exit(1);
}

void stop(service& s) {
  if (s.stdin_fd >= 0) ::close(s.stdin_fd);
  ::kill(s.pid, SIGTERM);
  int st = 0;
  ::waitpid(s.pid, &st, 0);
}

std::string user(int i) {
  return "{\"id\":\"" + std::to_string(1000000 + i) + "\",\"username\":\"u" + std::to_string(i) + "\"}";
}

// The posts, one per line; `hub` the most mentioned account's vertex id.
std::string make_posts(int n, std::string& hub) {
  constexpr int accounts = 50000;
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  std::string out;
  for (int p = 0; p < n; ++p) {
    const int author = 1 + static_cast<int>(u(rng) * (accounts - 1));
    std::string mentions;
    std::string users = user(author);
    for (int k = 0; k < 2; ++k) {
      int t = static_cast<int>(std::pow(u(rng), 3) * (accounts - 1));
      if (t == author) t = (t + 1) % accounts;
      mentions += (k ? "," : "") + std::string("{\"username\":\"u") + std::to_string(t) + "\",\"id\":\"" +
                  std::to_string(1000000 + t) + "\"}";
      users += "," + user(t);
    }
    std::string refs;
    if (p % 20 == 0) refs = ",\"in_reply_to_user_id\":\"" + std::to_string(1000000 + (p % accounts)) + "\"";
    std::string tags = p % 50 == 0 ? ",\"hashtags\":[{\"tag\":\"rare\"}]" : "";
    out += "{\"data\":{\"id\":\"" + std::to_string(900000000 + p) + "\",\"author_id\":\"" +
           std::to_string(1000000 + author) + "\",\"created_at\":\"2026-12-01T00:00:00.000Z\",\"text\":\"hi\"" + refs +
           ",\"entities\":{\"mentions\":[" + mentions + "]" + tags + "}},\"includes\":{\"users\":[" + users + "]}}\n";
  }
  hub = "twitter:1000000";
  return out;
}

// Subscribers read in one thread; probe arrivals are noted.
struct subscribers {
  std::vector<int> fds;
  std::vector<bool> sees_probes;
  std::vector<std::string> tails;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> bytes{0};
  std::mutex mu;
  std::map<int, clock_type::time_point> sent;          // probe -> send time
  std::map<int, double> ack_ms;                        // probe -> POST answered after
  std::vector<double> latencies_ms;
  std::vector<double> after_ack_ms;                    // delivery - answer
  std::vector<std::map<int, bool>> seen;

  void open(std::uint16_t port, const std::vector<std::string>& targets, const std::vector<bool>& probes) {
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const int fd = connect_to(port);
      if (fd < 0) {
        std::fprintf(stderr, "cannot connect subscriber %zu\n", i);
        std::exit(1);
      }
      const std::string req = "GET " + targets[i] + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
      (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
      fds.push_back(fd);
      sees_probes.push_back(probes[i]);
      tails.emplace_back();
      seen.emplace_back();
    }
    // Every subscription is in place once its headers arrived.
    for (int fd : fds) {
      char buf[4096];
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0 || ::recv(fd, buf, sizeof buf, 0) <= 0) {
        std::fprintf(stderr, "a subscriber got no answer\n");
        std::exit(1);
      }
    }
  }

  void run() {
    std::vector<pollfd> ps;
    for (int fd : fds) ps.push_back({fd, POLLIN, 0});
    std::vector<char> buf(1 << 20);
    while (!stop) {
      if (::poll(ps.data(), ps.size(), 100) <= 0) continue;
      const auto now = clock_type::now();
      for (std::size_t i = 0; i < ps.size(); ++i) {
        if (!(ps[i].revents & POLLIN)) continue;
        const auto n = ::recv(ps[i].fd, buf.data(), buf.size(), 0);
        if (n <= 0) {
          ps[i].fd = -1;
          continue;
        }
        bytes += static_cast<std::uint64_t>(n);
        if (!sees_probes[i]) continue;
        std::string text = tails[i] + std::string(buf.data(), static_cast<std::size_t>(n));
        for (std::size_t at = text.find("bench:probe"); at != std::string::npos;
             at = text.find("bench:probe", at + 1)) {
          const std::size_t end = text.find('"', at);
          if (end == std::string::npos) break;
          const int probe = std::atoi(text.c_str() + at + 11);
          if (seen[i][probe]) continue;
          seen[i][probe] = true;
          std::lock_guard<std::mutex> l(mu);
          auto it = sent.find(probe);
          if (it != sent.end()) {
            const double ms = std::chrono::duration<double, std::milli>(now - it->second).count();
            latencies_ms.push_back(ms);
            auto a = ack_ms.find(probe);
            if (a != ack_ms.end()) after_ack_ms.push_back(ms - a->second);
          }
        }
        tails[i] = text.size() > 64 ? text.substr(text.size() - 64) : text;
      }
    }
  }
  void close_all() {
    for (int fd : fds) ::close(fd);
    fds.clear();
  }
};

// Pipes the posts into stdin; seconds until every post is counted.
double ingest(service& s, const std::string& posts, int n) {
  const auto t0 = clock_type::now();
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < posts.size()) {
      const auto w = ::write(s.stdin_fd, posts.data() + off, std::min<std::size_t>(posts.size() - off, 1 << 20));
      if (w <= 0) break;
      off += static_cast<std::size_t>(w);
    }
  });
  while (metric(s.port, "tlflow_ingest_posts_total") < n) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double t = secs_since(t0);
  writer.join();
  return t;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

} // namespace

int main(int argc, char** argv) {
  std::string binary = "build/tlflow";
  int n = 200000, subs = 100, idle = 500, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--tlflow") binary = argv[i + 1];
    else if (a == "--posts") n = std::atoi(argv[i + 1]);
    else if (a == "--subscribers") subs = std::atoi(argv[i + 1]);
    else if (a == "--idle") idle = std::atoi(argv[i + 1]);
    else if (a == "--rounds") rounds = std::max(1, std::atoi(argv[i + 1]));
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  std::string hub;
  const std::string posts = make_posts(n, hub);
  std::printf("%d posts (%.1f MiB), %d subscribers, %d rounds\n", n, static_cast<double>(posts.size()) / (1 << 20),
              subs, rounds);

  // The subscribers' mix.
  std::vector<std::string> targets;
  std::vector<bool> probes;
  for (int i = 0; i < subs; ++i) {
    const int k = i % 20;
    if (k == 0) {
      // The probes' target: its ego set holds every probe edge.
      targets.push_back("/changes?around=bench:t&radius=1");
      probes.push_back(true);
    } else if (k < 6) {
      targets.push_back("/changes?kind=reply");
      probes.push_back(false);
    } else if (k < 13) {
      targets.push_back("/changes?hashtag=rare");
      probes.push_back(false);
    } else {
      targets.push_back("/changes?around=" + hub + "&radius=1");
      probes.push_back(false);
    }
  }

  std::vector<double> ratios, latencies, after_ack, acks;
  for (int round = 1; round <= rounds; ++round) {
    // 1. No subscriber.
    service a = start(binary, true);
    const double cpu_a0 = cpu_s(a.pid);
    const auto threads_a0 = thread_cpu_s(a.pid);
    const double alone = ingest(a, posts, n);
    const double cpu_alone = cpu_s(a.pid) - cpu_a0;
    const std::string threads_alone = thread_cpu_text(threads_a0, thread_cpu_s(a.pid));
    stop(a);

    // 2. With subscribers, and probes.
    service b = start(binary, true);
    subscribers ss;
    ss.open(b.port, targets, probes);
    std::thread reader([&] { ss.run(); });
    std::atomic<bool> probing{true};
    std::thread prober([&] {
      for (int i = 0; probing; ++i) {
        {
          std::lock_guard<std::mutex> l(ss.mu);
          ss.sent[i] = clock_type::now();
        }
        const auto t0 = clock_type::now();
        http(b.port, "POST", "/edges",
             "{\"from\":\"bench:probe" + std::to_string(i) + "\",\"to\":\"bench:t\",\"kind\":\"mention\"}");
        {
          std::lock_guard<std::mutex> l(ss.mu);
          ss.ack_ms[i] = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    const double cpu_b0 = cpu_s(b.pid);
    const double self_b0 = cpu_s(::getpid());
    const auto threads_b0 = thread_cpu_s(b.pid);
    const double with = ingest(b, posts, n);
    const double cpu_with = cpu_s(b.pid) - cpu_b0;
    const double self_with = cpu_s(::getpid()) - self_b0;
    const std::string threads_with = thread_cpu_text(threads_b0, thread_cpu_s(b.pid));
    probing = false;
    prober.join();
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    ss.stop = true;
    reader.join();
    const double overflows = metric(b.port, "tlflow_changes_overflows_total");
    const double coalesced = metric(b.port, "tlflow_changes_coalesced_total");
    const double events = metric(b.port, "tlflow_changes_events_total");
    ss.close_all();
    stop(b);

    ratios.push_back(alone / with);
    latencies.insert(latencies.end(), ss.latencies_ms.begin(), ss.latencies_ms.end());
    after_ack.insert(after_ack.end(), ss.after_ack_ms.begin(), ss.after_ack_ms.end());
    for (const auto& [probe, ms] : ss.ack_ms) acks.push_back(ms);
    std::printf("round %d\n", round);
    std::printf("  ingestion, no subscriber:   %.2f s = %.0f posts/s; tlflow CPU %.2f s (%s)\n", alone, n / alone,
                cpu_alone, threads_alone.c_str());
    std::printf("  ingestion, %d subscribers: %.2f s = %.0f posts/s = %.2f of no subscriber; tlflow CPU %.2f s (%s)\n",
                subs, with, n / with, alone / with, cpu_with, threads_with.c_str());
    std::printf("  %.0f changes, %.1f MiB read by the subscribers, %.0f coalesced, %.0f overflows; this benchmark's "
                "own CPU meanwhile (reader, writer, probes) %.2f s\n",
                events, static_cast<double>(ss.bytes.load()) / (1 << 20), coalesced, overflows, self_with);
    std::printf("  latency write -> delivery, %zu arrivals: p50 %.1f ms, p99 %.1f ms\n", ss.latencies_ms.size(),
                pct(ss.latencies_ms, 0.5), pct(ss.latencies_ms, 0.99));
  }
  std::string list;
  for (double r : ratios) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%s%.2f", list.empty() ? "" : ", ", r);
    list += buf;
  }
  std::printf("import with %d subscribers / without: median %.2f of %d rounds (%s) (target >= 0.80)\n", subs,
              pct(ratios, 0.5), rounds, list.c_str());
  std::printf("latency write -> delivery, %zu arrivals: p50 %.1f ms, p99 %.1f ms, max %.1f ms (target p99 < 500)\n",
              latencies.size(), pct(latencies, 0.5), pct(latencies, 0.99), pct(latencies, 1.0));
  std::printf("  of which the POST itself (send -> answer): p50 %.1f ms, p99 %.1f ms; answer -> delivery: p50 %.1f ms, "
              "p99 %.1f ms (negative: delivered before the answer arrived)\n",
              pct(acks, 0.5), pct(acks, 0.99), pct(after_ack, 0.5), pct(after_ack, 0.99));

  // 3. Idle subscribers.
  service c = start(binary, false);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long before = rss_kib(c.pid);
  subscribers idle_subs;
  idle_subs.open(c.port, std::vector<std::string>(static_cast<std::size_t>(idle), "/changes?kind=link"),
                 std::vector<bool>(static_cast<std::size_t>(idle), false));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const long after = rss_kib(c.pid);
  std::printf("idle subscribers: %d, RSS %ld -> %ld KiB = %.1f KiB each (target < 64)\n", idle, before, after,
              static_cast<double>(after - before) / idle);
  idle_subs.close_all();
  stop(c);
  return 0;
}
