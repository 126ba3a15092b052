#!/usr/bin/env python3
"""Latency of the analytics routes on a generated graph (not a test).

    python3 bench/analytics_routes_bench.py --tlflow build/tlflow [--accounts N] [--posts N] [--runs N]
        [--ego-only | --search-only] [--max-elements N]

Writes X v2 posts (an author mentions 1-4 accounts drawn with a heavy tail,
so a few hubs gather thousands of neighbours), loads them with `tlflow
import`, starts tlflow on the result with the default background refresh,
and prints per route the p50 / p99 / max of `--runs` sequential requests
over one keep-alive connection:

* the first whole-graph request (it builds the background snapshot);
* whole-graph rankings, communities, search and summary (from the snapshot);
* a filtered summary (read from the store at the request);
* GET /graph, the top 500 and 5,000 accounts with the edges among them;
* the ego network, radius 2, limit 500, of the biggest hub and of an
  account of a few hundred neighbours (docs/analytics.md, "Ego networks";
  target: hub p99 < 50 ms on the memory store), whole and with each slice
  filter (hashtag, time window, platform, all of them);
* --search-only: one post per account (each mentions one other), so every
  account is in the graph with few edges; the first request (the snapshot
  with its search index), then /search for rare, common and absent texts.
"""
import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import tempfile
import time


def generate_posts(path, accounts, posts, seed, every_author=False):
    # every_author: post p is written by account p % accounts and mentions
    # one account (every account is in the graph, with few edges: what
    # /search depends on is the number of accounts).
    rng = random.Random(seed)
    tags = ["climate", "cop29", "football", "election", "music", "ai", "food", "travel"]
    t0 = 1731600000
    with open(path, "w") as f:
        for p in range(posts):
            a = p % accounts if every_author else rng.randrange(accounts)
            mentioned = 1 if every_author else rng.randint(1, 4)
            targets = {min(accounts - 1, int(accounts * rng.random() ** 2.5)) for _ in range(mentioned)}
            targets.discard(a)
            users = [{"id": str(1000000 + a), "name": f"Üser {a}", "username": f"user_{a}"}]
            mentions = []
            for t in sorted(targets):
                mentions.append({"start": 0, "end": 1, "username": f"user_{t}", "id": str(1000000 + t)})
                users.append({"id": str(1000000 + t), "name": f"Üser {t}", "username": f"user_{t}"})
            chosen = rng.sample(tags, rng.randint(0, 2))
            at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t0 + rng.randrange(172800)))
            f.write(json.dumps({"data": {"id": str(10 ** 18 + p), "author_id": str(1000000 + a),
                                         "created_at": at, "text": "x",
                                         "entities": {"mentions": mentions,
                                                      "hashtags": [{"start": 0, "end": 1, "tag": t}
                                                                   for t in chosen]}},
                                "includes": {"users": users}}) + "\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tlflow", required=True)
    ap.add_argument("--accounts", type=int, default=30000)
    ap.add_argument("--posts", type=int, default=60000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--ego-only", action="store_true",
                    help="only the ego networks (they read the store, not the whole-graph snapshot, "
                         "which --analytics-max-elements refuses above 10M vertices + edges)")
    ap.add_argument("--search-only", action="store_true",
                    help="only /search (needs the whole-graph snapshot: raise --max-elements for 1M accounts)")
    ap.add_argument("--max-elements", type=int, default=None,
                    help="--analytics-max-elements of the service (default: the service's)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tlflow_analytics_bench_") as work:
        posts = os.path.join(work, "posts.ndjson")
        if args.search_only:
            generate_posts(posts, args.accounts, args.accounts, 7, every_author=True)
        else:
            generate_posts(posts, args.accounts, args.posts, 7)
        data = os.path.join(work, "data")
        subprocess.run([args.tlflow, "import", posts, "--data-dir", data], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = free_port()
        log = open(os.path.join(work, "tlflow.log"), "w")
        extra = [] if args.max_elements is None else ["--analytics-max-elements", str(args.max_elements)]
        proc = subprocess.Popen([args.tlflow, "--host", "127.0.0.1", "--port", str(port), "--data-dir", data,
                                 *extra], stdout=log, stderr=log)
        try:
            conn = None
            for _ in range(300):
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                    conn.request("GET", "/status")
                    status = json.loads(conn.getresponse().read())
                    break
                except OSError:
                    time.sleep(0.1)

            def get(path):
                t = time.perf_counter()
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read()
                if r.status != 200:
                    raise RuntimeError(f"{path}: {r.status} {body[:200]!r}")
                return 1000 * (time.perf_counter() - t), json.loads(body)

            print(f"graph: {status['vertices']} accounts, {status['edges']} edges")

            def measure(label, path, runs=args.runs):
                times = sorted(get(path)[0] for _ in range(runs))
                print(f"{label:58s} p50 {times[len(times) // 2]:7.1f} ms  "
                      f"p99 {times[min(len(times) - 1, int(len(times) * 0.99))]:7.1f} ms  max {times[-1]:7.1f} ms")

            q = lambda i: i.replace(":", "%3A")
            # The generator's posts span 2024-11-14T16:00Z + 48 h; a quarter of them fall in this window.
            filters = [("hashtag=climate", "&hashtag=climate"),
                       ("12 h window", "&since=2024-11-15T00:00:00Z&until=2024-11-15T11:59:59Z"),
                       ("platform=twitter (every edge passes)", "&platform=twitter"),
                       ("all filters", "&hashtag=climate,ai&since=2024-11-15T00:00:00Z"
                                       "&until=2024-11-15T11:59:59Z&platform=twitter&kind=mention")]

            def ego_runs(account, label):
                path = "/vertices/" + q(account) + "/ego?radius=2&limit=500"
                measure(f"ego radius 2 limit 500, {label}", path)
                for name, f in filters:
                    _, d = get(path + f)
                    measure(f"  + {name} ({len(d['nodes'])} nodes)", path + f)

            if args.ego_only:
                # Account 0 is the most mentioned (targets are drawn as N * u^2.5).
                _, hub = get("/vertices/" + q("twitter:1000000"))
                ego_runs("twitter:1000000", f"hub ({hub['in_degree']} in-neighbours)")
                return
            if args.search_only:
                ms, _ = get("/search?q=user_1&limit=20")
                print(f"first request (builds the snapshot and its search index): {ms:.0f} ms")
                for text in ("user_123456", "user_12", "ser 99", "@USER_7", "nobody-here"):
                    _, d = get("/search?q=" + text.replace("@", "%40").replace(" ", "%20") + "&limit=20")
                    measure(f"GET /search?q={text}&limit=20 ({len(d['results'])} results)",
                            "/search?q=" + text.replace("@", "%40").replace(" ", "%20") + "&limit=20")
                return
            ms, _ = get("/rankings?limit=10")
            print(f"first whole-graph request (builds the snapshot): {ms:.0f} ms")
            _, top = get("/rankings?by=in_degree&limit=1000")
            hub = top["rankings"][0]
            mid = next((r for r in top["rankings"] if r["score"] <= 350), top["rankings"][-1])
            measure("GET /rankings?by=pagerank&limit=100 (snapshot)", "/rankings?by=pagerank&limit=100")
            measure("GET /rankings?by=betweenness&limit=100 (snapshot)", "/rankings?by=betweenness&limit=100")
            measure("GET /communities?limit=1000 (snapshot)", "/communities?limit=1000")
            measure("GET /search?q=user_12&limit=20 (snapshot)", "/search?q=user_12&limit=20")
            measure("GET /summary (snapshot)", "/summary")
            measure("GET /summary?hashtag=climate (read at the request)", "/summary?hashtag=climate", 10)
            for limit in (500, 5000):
                _, d = get(f"/graph?limit={limit}")
                measure(f"GET /graph?limit={limit} (snapshot; {len(d['edges'])} edges)", f"/graph?limit={limit}")
            _, d = get("/graph?limit=500&hashtag=climate")
            measure(f"GET /graph?limit=500&hashtag=climate (read; {len(d['edges'])} edges)",
                    "/graph?limit=500&hashtag=climate", 10)
            ego_runs(hub["id"], f"hub ({hub['score']} in-neighbours)")
            ego_runs(mid["id"], f"{mid['score']} in-neighbours")
        finally:
            proc.terminate()
            proc.wait(30)
            log.close()


if __name__ == "__main__":
    main()
