"""External check of the exports: what NetworkX and igraph read back.

    export_check.py TLFLOW_BINARY SAMPLE_NDJSON

Imports the sample (and a generated graph of at least 100,000 edges) into a
fresh data directory, starts tlflow on loopback, and checks that every export
(GraphML, GEXF, node-link JSON, both CSV parts) parses in NetworkX 2.8
(read_graphml, read_gexf, node_link_graph; csv module) and igraph
(Graph.Read_GraphML) with the node and edge counts, weights and attributes
the REST API reports (/vertices/count, /edges/count, the pages of /edges and
/vertices), for the whole graph and for one filtered slice; and that
include=pagerank,community carries what /rankings and /communities answer. Exits 77 when
networkx or igraph cannot be imported. Run it with the system's python3
(Debian's python3-networkx and python3-igraph), not a virtualenv's.
"""
import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

try:
    import igraph
    import networkx as nx
except ImportError as e:  # visible skip
    print(f"SKIP: {e} (scripts/install-deps.sh installs python3-networkx python3-igraph)")
    sys.exit(77)

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, target):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{target}", timeout=600) as r:
        return r.read()


def get_json(port, target):
    return json.loads(get(port, target))


def rest_graph(port, query):
    """The slice as the REST API reports it: edges from the /edges pages
    (filtered here like the slice), vertices from the /vertices pages."""
    q = urllib.parse.parse_qs(query)
    kinds = set(q.get("kind", []))
    min_weight = int(q.get("min_weight", ["0"])[0])
    edges = {}
    cursor = ""
    while True:
        page = get_json(port, "/edges?limit=1000" + (f"&cursor={cursor}" if cursor else ""))
        for e in page["edges"]:
            if kinds and e["kind"] not in kinds:
                continue
            if e["weight"] < min_weight:
                continue
            edges[(e["from"], e["to"], e["kind"])] = e
        cursor = page.get("next_cursor")
        if not cursor:
            break
    vertices = {}
    cursor = ""
    while True:
        page = get_json(port, "/vertices?limit=1000" + (f"&cursor={cursor}" if cursor else ""))
        for v in page["vertices"]:
            vertices[v["id"]] = v
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if query:
        ends = {e[0] for e in edges} | {e[1] for e in edges}
        vertices = {k: v for k, v in vertices.items() if k in ends}
    else:
        check(len(vertices) == get_json(port, "/vertices/count")["count"], "vertex pages = /vertices/count")
        check(len(edges) == get_json(port, "/edges/count")["count"], "edge pages = /edges/count")
    return vertices, edges


def hashtags_text(e):
    return ",".join(e.get("hashtags", []))


def compare_nx(label, G, vertices, edges, weight_type):
    # NetworkX's readers give a MultiDiGraph when parallel edges (two kinds
    # between the same accounts) occur, else a DiGraph; node-link always
    # declares a multigraph.
    parallel = len({(u, v) for u, v, _ in edges}) < len(edges)
    check(G.is_directed(), f"{label}: directed")
    check(G.is_multigraph() or not parallel, f"{label}: a multigraph (parallel edges)")
    check(G.number_of_nodes() == len(vertices), f"{label}: {G.number_of_nodes()} nodes, REST {len(vertices)}")
    check(G.number_of_edges() == len(edges), f"{label}: {G.number_of_edges()} edges, REST {len(edges)}")
    seen = 0
    for u, v, d in G.edges(data=True):
        e = edges.get((u, v, d.get("kind")))
        if e is None:
            check(False, f"{label}: edge {u} -> {v} {d.get('kind')} not in the REST pages")
            continue
        seen += 1
        check(isinstance(d["weight"], weight_type) and d["weight"] == e["weight"],
              f"{label}: weight of {u} -> {v}: {d['weight']!r}, REST {e['weight']}")
        got_tags = d.get("hashtags", "")
        if isinstance(got_tags, list):
            got_tags = ",".join(got_tags)
        check(got_tags == hashtags_text(e), f"{label}: hashtags of {u} -> {v}")
        if "first_seen" in d or "start" in d:
            check(d.get("first_seen", d.get("start")) == e["first_seen"], f"{label}: first_seen of {u} -> {v}")
        if seen > 5000 and failures:
            break
    for n, d in G.nodes(data=True):
        v = vertices.get(n)
        if v is None:
            check(False, f"{label}: node {n} not in the REST pages")
            break
        props = v.get("properties", {})
        for k in ("handle", "name", "platform", "location"):
            check(d.get(k) == props.get(k), f"{label}: {k} of {n}: {d.get(k)!r}, REST {props.get(k)!r}")
        check(int(d["in_degree"]) == v["in_degree"] and int(d["out_degree"]) == v["out_degree"],
              f"{label}: degrees of {n}")
        if failures:
            break


def compare_igraph(label, path, vertices, edges):
    g = igraph.Graph.Read_GraphML(path)
    check(g.is_directed(), f"{label}: directed")
    check(g.vcount() == len(vertices), f"{label}: {g.vcount()} vertices, REST {len(vertices)}")
    check(g.ecount() == len(edges), f"{label}: {g.ecount()} edges, REST {len(edges)}")
    ids = g.vs["id"]
    for e in g.es:
        key = (ids[e.source], ids[e.target], e["kind"])
        r = edges.get(key)
        if r is None or e["weight"] != r["weight"]:
            check(False, f"{label}: edge {key} weight {e['weight']} vs REST {r and r['weight']}")
            break
    check(sum(g.es["weight"]) == sum(e["weight"] for e in edges.values()) if edges else True,
          f"{label}: total weight")


def compare_csv(label, nodes_text, edges_text, vertices, edges):
    rows = list(csv.DictReader(io.StringIO(nodes_text, newline="")))
    check(len(rows) == len(vertices), f"{label}: {len(rows)} node rows, REST {len(vertices)}")
    for row in rows:
        v = vertices.get(row["id"])
        if v is None or row["handle"] != v.get("properties", {}).get("handle", "") or \
                int(row["in_degree"]) != v["in_degree"]:
            check(False, f"{label}: node row {row['id']}")
            break
    rows = list(csv.DictReader(io.StringIO(edges_text, newline="")))
    check(len(rows) == len(edges), f"{label}: {len(rows)} edge rows, REST {len(edges)}")
    for row in rows:
        e = edges.get((row["source"], row["target"], row["kind"]))
        if e is None or int(row["weight"]) != e["weight"] or row["hashtags"] != hashtags_text(e) or \
                row["last_seen"] != e["last_seen"]:
            check(False, f"{label}: edge row {row['source']} -> {row['target']} {row['kind']}")
            break


def check_graph(port, query, workdir, label):
    vertices, edges = rest_graph(port, query)
    suffix = "&" + query if query else ""
    print(f"{label}: REST {len(vertices)} vertices, {len(edges)} edges")

    t = time.time()
    graphml = get(port, "/export?format=graphml" + suffix)
    path = os.path.join(workdir, "g.graphml")
    with open(path, "wb") as f:
        f.write(graphml)
    print(f"{label}: GraphML {len(graphml)} bytes in {time.time() - t:.2f} s")
    compare_nx(f"{label} networkx read_graphml", nx.read_graphml(path), vertices, edges, int)
    compare_igraph(f"{label} igraph Read_GraphML", path, vertices, edges)

    gexf = get(port, "/export?format=gexf" + suffix)
    path = os.path.join(workdir, "g.gexf")
    with open(path, "wb") as f:
        f.write(gexf)
    G = nx.read_gexf(path)
    check(G.graph.get("mode") == "dynamic", f"{label} gexf: dynamic mode")
    compare_nx(f"{label} networkx read_gexf", G, vertices, edges, float)

    data = json.loads(get(port, "/export?format=json" + suffix))
    G = nx.node_link_graph(data)
    compare_nx(f"{label} networkx node_link_graph", G, vertices, edges, int)
    if edges:
        u, v, k = next(iter(edges))
        check(G.has_edge(u, v, key=k), f"{label} node-link: the kind is the edge key")

    nodes_text = get(port, "/export?format=csv&part=nodes" + suffix).decode("utf-8")
    edges_text = get(port, "/export?format=csv&part=edges" + suffix).decode("utf-8")
    compare_csv(f"{label} csv", nodes_text, edges_text, vertices, edges)


def check_include(port, workdir, label):
    """include=pagerank,community read back by igraph and NetworkX equals
    GET /rankings?by=pagerank and GET /communities (Louvain, seed 0)."""
    scores = {}
    ranks = get_json(port, "/rankings?by=pagerank&limit=1000")
    for r in ranks["rankings"]:
        scores[r["id"]] = r["score"]
    path = os.path.join(workdir, "inc.graphml")
    with open(path, "wb") as f:
        f.write(get(port, "/export?format=graphml&include=pagerank,community"))
    g = igraph.Graph.Read_GraphML(path)
    by_id = dict(zip(g.vs["id"], g.vs["pagerank"]))
    bad = [i for i, sc in scores.items() if abs(by_id.get(i, -1) - sc) > 1e-12]
    check(not bad, f"{label} include=pagerank: {len(bad)} of the top {len(scores)} differ from /rankings")
    G = nx.read_graphml(path)
    members = {}
    cursor = ""
    while True:
        page = get_json(port, "/communities?limit=1000" + (f"&cursor={cursor}" if cursor else ""))
        for m in page["accounts"]:
            members[m["id"]] = m["community"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    check(len(members) == G.number_of_nodes(), f"{label}: /communities lists every account")
    bad = [n for n, d in G.nodes(data=True) if members.get(n) != d.get("community")]
    check(not bad, f"{label} include=community: {len(bad)} accounts differ from /communities")
    print(f"{label}: include=pagerank,community checked: top {len(scores)} scores, {len(members)} communities")


def generated_posts(path, posts, users, per_post):
    state = 12345
    with open(path, "w") as out:
        for p in range(posts):
            state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            author = (state >> 33) % users
            mentions = []
            for _ in range(per_post):
                state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
                to = (state >> 33) % users
                mentions.append({"username": f"u{to}", "id": str(1000 + to)})
            tag = f"tag{p % 7}"
            post = {"data": {"id": str(9000000 + p), "author_id": str(1000 + author),
                             "created_at": f"2024-11-15T{9 + p % 10:02d}:{p % 60:02d}:00.000Z",
                             "text": " ".join("@" + m["username"] for m in mentions) + f" #{tag}",
                             "entities": {"mentions": mentions, "hashtags": [{"tag": tag}]}},
                    "includes": {"users": [{"id": str(1000 + author), "name": f"User \u00e9 {author} & <co>",
                                            "username": f"u{author}", "location": "Paris, \"France\""}]}}
            out.write(json.dumps(post) + "\n")


def serve(binary, data_dir):
    port = free_port()
    proc = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", str(port), "--data-dir", data_dir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(300):
        try:
            get(port, "/status")
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"tlflow did not start: {proc.stderr.read().decode()}")


def xsd_validation():
    # Schemas only from a Debian package: nothing is downloaded.
    found = []
    for root, _, files in os.walk("/usr/share"):
        found += [os.path.join(root, f) for f in files if f in ("graphml.xsd", "gexf.xsd")]
    if not found:
        print("SKIP: XSD validation: no Debian package installed ships graphml.xsd or gexf.xsd")
    else:
        print(f"SKIP: XSD validation: found {found}, but validating against them is not implemented")


def main():
    binary, sample = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="tlflow-export-check-")
    try:
        xsd_validation()
        runs = [("sample", sample, "kind=mention&min_weight=2")]
        generated = os.path.join(work, "generated.ndjson")
        generated_posts(generated, 12000, 20000, 10)
        runs.append(("generated", generated, "kind=mention&min_weight=2"))
        for label, posts, slice_query in runs:
            data = os.path.join(work, label)
            r = subprocess.run([binary, "import", posts, "--data-dir", data], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"import of {posts} failed: {r.stdout}{r.stderr}")
            proc, port = serve(binary, data)
            try:
                n = get_json(port, "/edges/count")["count"]
                if label == "generated":
                    check(n >= 100000, f"generated graph has {n} edges, want at least 100000")
                check_graph(port, "", work, f"{label} whole graph")
                if label == "sample":
                    check_include(port, work, label)
                check_graph(port, slice_query, work, f"{label} slice {slice_query}")
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)
    print("every export read back by networkx and igraph as the REST API reports it")


if __name__ == "__main__":
    main()
