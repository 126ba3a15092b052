#!/usr/bin/env python3
"""Latency of the analytics routes on a generated graph (not a test).

    python3 bench/analytics_routes_bench.py --tlflow build/tlflow [--accounts N] [--posts N] [--runs N] [--ego-only]

Writes X v2 posts (an author mentions 1-4 accounts drawn with a heavy tail,
so a few hubs gather thousands of neighbours), loads them with `tlflow
import`, starts tlflow on the result with the default background refresh,
and prints per route the p50 / p99 / max of `--runs` sequential requests
over one keep-alive connection:

* the first whole-graph request (it builds the background snapshot);
* whole-graph rankings, communities, search and summary (from the snapshot);
* a filtered summary (read from the store at the request);
* the ego network, radius 2, limit 500, of the biggest hub and of an
  account of a few hundred neighbours (docs/analytics.md, "Ego networks";
  target: hub p99 < 50 ms on the memory store).
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


def generate_posts(path, accounts, posts, seed):
    rng = random.Random(seed)
    tags = ["climate", "cop29", "football", "election", "music", "ai", "food", "travel"]
    t0 = 1731600000
    with open(path, "w") as f:
        for p in range(posts):
            a = rng.randrange(accounts)
            targets = {min(accounts - 1, int(accounts * rng.random() ** 2.5)) for _ in range(rng.randint(1, 4))}
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
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tlflow_analytics_bench_") as work:
        posts = os.path.join(work, "posts.ndjson")
        generate_posts(posts, args.accounts, args.posts, 7)
        data = os.path.join(work, "data")
        subprocess.run([args.tlflow, "import", posts, "--data-dir", data], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = free_port()
        log = open(os.path.join(work, "tlflow.log"), "w")
        proc = subprocess.Popen([args.tlflow, "--host", "127.0.0.1", "--port", str(port), "--data-dir", data],
                                stdout=log, stderr=log)
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
            if args.ego_only:
                # Account 0 is the most mentioned (targets are drawn as N * u^2.5).
                _, hub = get("/vertices/" + q("twitter:1000000"))
                measure(f"ego radius 2 limit 500, hub ({hub['in_degree']} in-neighbours)",
                        "/vertices/" + q("twitter:1000000") + "/ego?radius=2&limit=500")
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
            measure(f"ego radius 2 limit 500, hub ({hub['score']} in-neighbours)",
                    f"/vertices/{q(hub['id'])}/ego?radius=2&limit=500")
            measure(f"ego radius 2 limit 500, {mid['score']} in-neighbours",
                    f"/vertices/{q(mid['id'])}/ego?radius=2&limit=500")
        finally:
            proc.terminate()
            proc.wait(30)
            log.close()


if __name__ == "__main__":
    main()
