"""The analytics routes against NetworkX and igraph, end to end.

    analytics_routes_check.py <tlflow binary> <samples/x-v2-sample.ndjson>

Starts tlflow on the shipped sample, then on a generated graph of more than
100,000 edges (X v2 posts written here, loaded with `tlflow import`), reads
the graph back as an edge list through GET /vertices and GET /edges pages,
applies the same slice filters in Python, and compares what the routes say
with the library calls that define them (docs/analytics.md):

* /rankings?by=pagerank: every listed score within 1e-6 of NetworkX's
  PageRank (weight='weight', tol=1e-12) on the DiGraph with summed weights;
* /rankings by in/out degree and weight: the exact lists (ties by id);
* /rankings?by=betweenness on slices of at most 2,000 accounts (exact):
  within 1e-9 of NetworkX's betweenness_centrality (normalized, in hops);
* /communities (Louvain): NetworkX's modularity of tlflow's partition equals
  the reported one (1e-9), and it is at most 0.02 below igraph's
  community_multilevel;
* /summary: weak and strong components (count, largest), reciprocity and
  density equal NetworkX's;
* /graph: its nodes are /rankings' top accounts (ids, order, scores), its
  edges exactly the induced subgraph on them (NetworkX's `subgraph`) of the
  slice read from GET /export?format=json (node-link, one edge per kind),
  `accounts` and `truncated` the slice's size, every node's community the
  one /communities gives it (slices with time windows and platforms too).

Exits 77 when networkx or igraph cannot be imported.
"""
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

try:
    import networkx as nx
    import scipy  # noqa: F401  (nx.pagerank needs it)
    import igraph
except ImportError as e:  # visible skip
    print(f"skipped: {e}")
    sys.exit(77)

binary, sample = sys.argv[1], sys.argv[2]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    def __init__(self, args, workdir):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TLFLOW_") and k != "PORT"}
        self.log = open(os.path.join(workdir, f"tlflow-{self.port}.log"), "w+")
        self.proc = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", str(self.port),
                                      "--analytics-refresh", "0", *args],
                                     env=env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if self.get("/status", allow_error=True)[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.log.seek(0)
        raise RuntimeError("tlflow did not start: " + self.log.read())

    def get(self, path, allow_error=False):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        conn.close()
        if r.status != 200 and not allow_error:
            raise RuntimeError(f"GET {path}: {r.status} {body[:300]!r}")
        return r.status, json.loads(body) if body else None

    def pages(self, path, key, limit=1000):
        out, cursor = [], None
        while True:
            sep = "&" if "?" in path else "?"
            target = path + sep + f"limit={limit}" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
            _, d = self.get(target)
            out += d[key]
            cursor = d["next_cursor"]
            if not cursor:
                return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def admits(e, s):
    """The slice filters (docs/analytics.md, "Slices"), as in graph_store."""
    if s.get("kind") and e["kind"] not in s["kind"]:
        return False
    if e["weight"] < s.get("min_weight", 0):
        return False
    if s.get("hashtag") and not set(s["hashtag"]) & set(e.get("hashtags", [])):
        return False
    return True


def graph_of(vertices, edges, s):
    """The DiGraph with summed weights that the slice describes: every
    account for the whole graph, else the ends of the admitted edges."""
    g = nx.DiGraph()
    if not s:
        g.add_nodes_from(v["id"] for v in vertices)
    for e in edges:
        if not admits(e, s):
            continue
        u, v, w = e["from"], e["to"], e["weight"]
        if g.has_edge(u, v):
            g[u][v]["weight"] += w
        else:
            g.add_edge(u, v, weight=w)
    return g


def undirected(d):
    u = nx.Graph()
    u.add_nodes_from(d.nodes())
    for a, b, data in d.edges(data=True):
        if u.has_edge(a, b) and a != b:
            u[a][b]["weight"] += data["weight"]
        else:
            u.add_edge(a, b, weight=data["weight"])
    return u


def query(s):
    parts = []
    for k, v in s.items():
        parts.append(f"{k}=" + urllib.parse.quote(",".join(v) if isinstance(v, list) else str(v)))
    return "&".join(parts)


def compare(svc, name, vertices, edges, s):
    q = query(s)
    amp = "&" + q if q else ""
    d = graph_of(vertices, edges, s)
    print(f"== {name} ({q or 'whole graph'}): {d.number_of_nodes()} accounts, {d.number_of_edges()} arcs")
    t = time.perf_counter()
    _, summary = svc.get("/summary?" + q)
    print(f"   /summary {1000 * (time.perf_counter() - t):.0f} ms")
    check(summary["vertices"] == d.number_of_nodes(), f"{name}: vertices {summary['vertices']}")
    check(summary["arcs"] == d.number_of_edges(), f"{name}: arcs {summary['arcs']}")
    weak = [len(c) for c in nx.weakly_connected_components(d)]
    strong = [len(c) for c in nx.strongly_connected_components(d)]
    check(summary["components"]["weak"] == {"count": len(weak), "largest": max(weak, default=0)},
          f"{name}: weak components {summary['components']['weak']} vs {len(weak)}, {max(weak, default=0)}")
    check(summary["components"]["strong"] == {"count": len(strong), "largest": max(strong, default=0)},
          f"{name}: strong components {summary['components']['strong']}")
    if d.number_of_edges():
        check(abs(summary["reciprocity"] - nx.reciprocity(d)) <= 1e-12,
              f"{name}: reciprocity {summary['reciprocity']} vs {nx.reciprocity(d)}")
    check(abs(summary["density"] - nx.density(d)) <= 1e-15, f"{name}: density {summary['density']}")

    # Degree rankings: the exact lists, ties by id.
    for by, values in (("in_degree", dict(d.in_degree())), ("out_degree", dict(d.out_degree())),
                       ("in_weight", dict(d.in_degree(weight="weight"))),
                       ("out_weight", dict(d.out_degree(weight="weight")))):
        _, r = svc.get(f"/rankings?by={by}&limit=1000{amp}")
        got = [(x["id"], x["score"]) for x in r["rankings"]]
        want = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:1000]
        check(got == want, f"{name}: {by} ranking differs")

    t = time.perf_counter()
    _, r = svc.get(f"/rankings?by=pagerank&limit=1000{amp}")
    print(f"   /rankings?by=pagerank {1000 * (time.perf_counter() - t):.0f} ms")
    pr = nx.pagerank(d, alpha=0.85, weight="weight", tol=1e-12, max_iter=100000)
    err = max((abs(x["score"] - pr[x["id"]]) for x in r["rankings"]), default=0)
    best = sorted(pr.values(), reverse=True)[:len(r["rankings"])]
    order = max((abs(x["score"] - b) for x, b in zip(r["rankings"], best)), default=0)
    print(f"   pagerank: max |diff| {err:.2e} over {len(r['rankings'])} accounts")
    check(err <= 1e-6, f"{name}: pagerank differs by {err}")
    check(order <= 1e-6, f"{name}: pagerank top list is not NetworkX's top ({order})")

    if d.number_of_nodes() <= 2000:  # exact on the service's side too
        _, r = svc.get(f"/rankings?by=betweenness&limit=1000{amp}")
        bc = nx.betweenness_centrality(d, normalized=True, weight=None)
        err = max((abs(x["score"] - bc[x["id"]]) for x in r["rankings"]), default=0)
        print(f"   betweenness (exact): max |diff| {err:.2e}")
        check(r["betweenness"]["exact"] and err <= 1e-9, f"{name}: betweenness differs by {err}")

    t = time.perf_counter()
    accounts = svc.pages("/communities?algorithm=louvain&communities=1" + amp, "accounts", 10000)
    print(f"   /communities (all pages) {1000 * (time.perf_counter() - t):.0f} ms")
    _, head = svc.get("/communities?algorithm=louvain&limit=1&communities=1" + amp)
    u = undirected(d)
    if u.size(weight="weight") > 0:
        parts = {}
        for a in accounts:
            parts.setdefault(a["community"], set()).add(a["id"])
        check(len(accounts) == u.number_of_nodes(), f"{name}: {len(accounts)} accounts in the partition")
        q_nx = nx.algorithms.community.modularity(u, list(parts.values()), weight="weight")
        check(abs(q_nx - head["modularity"]) <= 1e-9,
              f"{name}: louvain modularity {head['modularity']} but networkx says {q_nx}")
        index = {v: i for i, v in enumerate(u.nodes())}
        ig = igraph.Graph(n=len(index), edges=[(index[a], index[b]) for a, b in u.edges()], directed=False)
        ig.es["weight"] = [data["weight"] for _, _, data in u.edges(data=True)]
        random.seed(1)
        q_ig = ig.modularity(ig.community_multilevel(weights="weight").membership, weights="weight")
        print(f"   louvain: modularity {head['modularity']:.6f} ({head['count']} communities), igraph {q_ig:.6f}")
        check(head["modularity"] >= q_ig - 0.02, f"{name}: louvain {head['modularity']} < igraph {q_ig} - 0.02")


def compare_graph(svc, name, s, by, limit):
    """GET /graph against the slice's node-link export and /rankings."""
    q = query(s)
    amp = "&" + q if q else ""
    _, export = svc.get("/export?format=json" + amp)
    g = nx.node_link_graph(export)  # MultiDiGraph, the edge key is the kind
    t = time.perf_counter()
    _, r = svc.get(f"/graph?by={by}&limit={limit}{amp}")
    ms = 1000 * (time.perf_counter() - t)
    ids = [n["id"] for n in r["nodes"]]
    print(f"   /graph?by={by}&limit={limit}: {len(ids)} nodes, {len(r['edges'])} edges "
          f"of {g.number_of_nodes()} accounts, {g.number_of_edges()} edges ({ms:.0f} ms)")
    check(r["accounts"] == g.number_of_nodes(), f"{name}: /graph accounts {r['accounts']} vs {g.number_of_nodes()}")
    check(r["slice_edges"] == g.number_of_edges(), f"{name}: /graph slice_edges {r['slice_edges']}")
    check(r["truncated"] == (g.number_of_nodes() > limit), f"{name}: /graph truncated {r['truncated']}")
    check(len(ids) == min(limit, g.number_of_nodes()) and len(set(ids)) == len(ids),
          f"{name}: /graph has {len(ids)} nodes")
    check([n["rank"] for n in r["nodes"]] == list(range(1, len(ids) + 1)), f"{name}: /graph ranks")
    # The top accounts are /rankings' (which lists at most 1000).
    _, rk = svc.get(f"/rankings?by={by}&limit={min(limit, 1000)}{amp}")
    check([(x["id"], x["score"]) for x in rk["rankings"]] ==
          [(n["id"], n["score"]) for n in r["nodes"][:1000]], f"{name}: /graph top {by} is not /rankings'")
    # The edges: exactly the induced subgraph of the slice on the kept accounts.
    sub = g.subgraph(ids)
    # In GET /edges' order: (from, to, kind), kinds in the order mention,
    # reply, repost, quote, link.
    rank = {k: i for i, k in enumerate(["mention", "reply", "repost", "quote", "link"])}
    want = sorted(((u, v, k, data["weight"]) for u, v, k, data in sub.edges(keys=True, data=True)),
                  key=lambda e: (e[0], e[1], rank[e[2]]))
    got = [(e["from"], e["to"], e["kind"], e["weight"]) for e in r["edges"]]
    check(got == want, f"{name}: /graph edges are not the induced subgraph "
                       f"({len(got)} vs {len(want)}; {sorted(set(got) ^ set(want))[:3]})")
    # Communities: /communities' numbering of the same slice.
    if r["community"] is not None:
        part = {a["id"]: a["community"]
                for a in svc.pages("/communities?algorithm=louvain&communities=1" + amp, "accounts", 10000)}
        check(all(n["community"] == part.get(n["id"]) for n in r["nodes"]),
              f"{name}: /graph communities differ from /communities")
    # Account fields as the export has them.
    bad = [n["id"] for n in r["nodes"]
           if any(n[f] != g.nodes[n["id"]].get(f, "") for f in ("handle", "name", "platform", "location"))]
    check(not bad, f"{name}: /graph account fields differ from the export: {bad[:3]}")


def generate_posts(path, accounts, posts, seed):
    """X v2 posts: an author mentions 1-4 accounts drawn with a heavy tail,
    hashtags from a small set, times over two days."""
    rng = random.Random(seed)
    tags = ["climate", "cop29", "football", "election", "music", "ai", "food", "travel"]
    t0 = 1731600000  # 2024-11-14T16:00:00Z
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
            post = {"data": {"id": str(10 ** 18 + p), "author_id": str(1000000 + a), "created_at": at,
                             "text": "x", "entities": {"mentions": mentions,
                                                       "hashtags": [{"start": 0, "end": 1, "tag": t} for t in chosen]}},
                    "includes": {"users": users}}
            f.write(json.dumps(post) + "\n")


def wait_ingested(svc, posts):
    deadline = time.time() + 300
    while time.time() < deadline:
        _, st = svc.get("/status")
        ing = st.get("ingest", {})
        src = ing.get("sources") or [{}]
        if ing.get("posts") == posts and src[0].get("finished") and ing["queue"]["depth"] == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("ingestion did not finish")


def main():
    with tempfile.TemporaryDirectory(prefix="tlflow_analytics_routes_") as work:
        svc = Service(["--ephemeral", "--source", "file:" + sample], work)
        try:
            wait_ingested(svc, sum(1 for _ in open(sample)))
            vertices = svc.pages("/vertices", "vertices")
            edges = svc.pages("/edges", "edges")
            compare(svc, "sample", vertices, edges, {})
            compare(svc, "sample", vertices, edges, {"kind": ["mention", "reply"], "hashtag": ["climate", "cop29"]})
            compare(svc, "sample", vertices, edges, {"min_weight": 2})
            compare_graph(svc, "sample", {}, "pagerank", 100)
            compare_graph(svc, "sample", {}, "in_weight", 10000)
            compare_graph(svc, "sample", {"kind": ["mention", "reply"], "platform": ["twitter"]}, "betweenness", 50)
            compare_graph(svc, "sample", {"since": "2024-11-15T10:00:00Z", "until": "2024-11-15T11:00:00Z",
                                          "hashtag": ["climate"]}, "out_degree", 20)
        finally:
            svc.stop()

        posts = os.path.join(work, "generated.ndjson")
        generate_posts(posts, 30000, 60000, 7)
        data = os.path.join(work, "data")
        subprocess.run([binary, "import", posts, "--data-dir", data], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        svc = Service(["--data-dir", data], work)
        try:
            t = time.perf_counter()
            vertices = svc.pages("/vertices", "vertices")
            edges = svc.pages("/edges", "edges")
            print(f"generated graph: {len(vertices)} accounts, {len(edges)} edges "
                  f"(read back in {time.perf_counter() - t:.1f} s)")
            check(len(edges) >= 100000, f"the generated graph has only {len(edges)} edges")
            compare(svc, "generated", vertices, edges, {})
            compare(svc, "generated", vertices, edges, {"hashtag": ["climate", "ai"]})
            compare_graph(svc, "generated", {}, "pagerank", 2000)
            compare_graph(svc, "generated", {"kind": ["mention"], "since": "2024-11-15T00:00:00Z",
                                             "min_weight": 2}, "in_degree", 500)
        finally:
            svc.stop()

    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("analytics routes agree with networkx and igraph")
    return 0


sys.exit(main())
