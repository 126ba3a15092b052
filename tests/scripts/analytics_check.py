"""Checks the analytics algorithms against NetworkX and igraph.

    analytics_check.py <analytics_driver>

Generates graphs (a few hundred to a few thousand vertices, with dangling
vertices, isolated ones, self-loops and parallel arcs), runs the driver on
each, and compares every figure with the library call that defines it
(docs/analytics.md). Exits 77 when networkx or igraph cannot be imported.
"""
import json
import math
import random
import subprocess
import sys
import time

try:
    import networkx as nx
    import scipy  # noqa: F401  (nx.pagerank needs it)
    import igraph
except ImportError as e:  # visible skip
    print(f"skipped: {e}")
    sys.exit(77)

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def generate(n, m, seed, planted):
    """Arcs of n vertices: the last 5 are isolated, a fifth never act
    (dangling), targets follow a power law or (planted) mostly stay in a block
    of 30; 1% self-loops, 5% repeated arcs."""
    rng = random.Random(seed)
    active = n - 5
    actors = int(active * 0.8)
    arcs = []
    for _ in range(m):
        u = rng.randrange(actors)
        r = rng.random()
        if r < 0.01:
            v = u
        elif planted and r < 0.75:
            block = u // 30
            v = min(active - 1, block * 30 + rng.randrange(30))
        else:
            v = int(active * rng.random() ** 3)
        arcs.append((u, v, rng.choice((1, 1, 1, 2, 3))))
    arcs += [arcs[rng.randrange(len(arcs))] for _ in range(m // 20)]
    return arcs


def nx_digraph(n, arcs):
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    for u, v, w in arcs:
        if g.has_edge(u, v):
            g[u][v]["weight"] += w
        else:
            g.add_edge(u, v, weight=w)
    return g


def nx_undirected(d):
    """The undirected view: w(u,v) + w(v,u) per pair, a loop keeps w(u,u)."""
    g = nx.Graph()
    g.add_nodes_from(d.nodes())
    for u, v, data in d.edges(data=True):
        w = data["weight"]
        if g.has_edge(u, v) and u != v:
            g[u][v]["weight"] += w
        else:
            g.add_edge(u, v, weight=w)
    return g


def partition(labels):
    parts = {}
    for v, c in enumerate(labels):
        parts.setdefault(c, set()).add(v)
    return list(parts.values())


def canonical(parts):
    return sorted(sorted(p) for p in parts)


def run(name, n, arcs, samples, with_betweenness, seed):
    print(f"== {name}: {n} vertices, {len(arcs)} arcs")
    text = f"{n}\n" + "".join(f"{u} {v} {w}\n" for u, v, w in arcs)
    args = [driver, "--seed", str(seed)]
    if samples:
        args += ["--samples", str(samples)]
    out = subprocess.run(args, input=text, capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    d = nx_digraph(n, arcs)
    u = nx_undirected(d)

    # PageRank: NetworkX's pure-Python implementation of the same definition
    # (nx.pagerank itself needs SciPy), at a tight tolerance.
    if d.number_of_edges() > 0 or n > 0:
        want = nx.pagerank(d, alpha=0.85, weight="weight", tol=1e-12, max_iter=100000)
        err = max(abs(r["pagerank"][v] - want[v]) for v in range(n))
        print(f"pagerank: max |diff| {err:.2e} ({r['pagerank_iterations']} iterations)")
        check(err <= 1e-6 and r["pagerank_converged"], f"{name}: pagerank differs by {err}")
        check(abs(sum(r["pagerank"]) - 1) < 1e-12, f"{name}: pagerank does not sum to 1")

    if with_betweenness:
        want = nx.betweenness_centrality(d, normalized=True, weight=None)
        err = max(abs(r["betweenness"][v] - want[v]) for v in range(n))
        print(f"betweenness exact: max |diff| {err:.2e}")
        check(err <= 1e-9, f"{name}: betweenness differs by {err}")
        if samples:
            eps = r["betweenness_epsilon"]
            err = max(abs(r["betweenness_sampled"][v] - want[v]) for v in range(n))
            print(f"betweenness from {samples} sources: max |diff| {err:.3e}, bound {eps:.3e}")
            check(err <= eps, f"{name}: sampled betweenness off by {err} > {eps}")

    if u.size(weight="weight") > 0:
        lv = r["louvain"]
        q_nx = nx.algorithms.community.modularity(u, partition(lv["community"]), weight="weight")
        check(abs(q_nx - lv["modularity"]) <= 1e-9,
              f"{name}: louvain modularity {lv['modularity']} but networkx says {q_nx}")
        ig = igraph.Graph(n=n, edges=[(a, b) for a, b in u.edges()], directed=False)
        ig.es["weight"] = [data["weight"] for _, _, data in u.edges(data=True)]
        random.seed(seed)
        t = time.perf_counter()
        best = ig.community_multilevel(weights="weight")
        t = time.perf_counter() - t
        q_ig = ig.modularity(best.membership, weights="weight")
        q_ours_ig = ig.modularity(lv["community"], weights="weight")
        print(f"louvain: modularity {lv['modularity']:.6f} ({lv['count']} communities, {lv['levels']} levels), "
              f"igraph {q_ig:.6f} ({len(best)} communities, {t * 1e3:.1f} ms)")
        check(lv["modularity"] >= q_ig - 0.02, f"{name}: louvain {lv['modularity']} < igraph {q_ig} - 0.02")
        check(abs(q_ours_ig - lv["modularity"]) <= 1e-9, f"{name}: igraph scores our partition {q_ours_ig}")
        check(len(set(lv["community"])) == lv["count"], f"{name}: louvain count")
        lp = r["label_propagation"]
        q_lp = nx.algorithms.community.modularity(u, partition(lp["community"]), weight="weight")
        print(f"label propagation: modularity {lp['modularity']:.6f} ({lp['count']} communities, "
              f"{lp['iterations']} sweeps)")
        check(abs(q_lp - lp["modularity"]) <= 1e-9, f"{name}: label propagation modularity vs networkx {q_lp}")

    for kind, fn in (("weak", nx.weakly_connected_components), ("strong", nx.strongly_connected_components)):
        want = list(fn(d))
        got = r[kind]
        check(got["count"] == len(want), f"{name}: {kind} component count {got['count']} != {len(want)}")
        check(got["largest"] == (max(map(len, want)) if want else 0), f"{name}: {kind} largest")
        check(canonical(partition(got["component"])) == canonical(want), f"{name}: {kind} components differ")
        sizes = [0] * got["count"]
        for c in got["component"]:
            sizes[c] += 1
        check(sizes == sorted(sizes, reverse=True), f"{name}: {kind} not numbered by size")
    print(f"components: {r['weak']['count']} weak (largest {r['weak']['largest']}), "
          f"{r['strong']['count']} strong (largest {r['strong']['largest']})")

    if d.number_of_edges() > 0:
        check(abs(r["reciprocity"] - nx.reciprocity(d)) <= 1e-12, f"{name}: reciprocity {r['reciprocity']}")
    else:
        check(r["reciprocity"] is None, f"{name}: reciprocity of no arcs")
    check(abs(r["density"] - nx.density(d)) <= 1e-15, f"{name}: density {r['density']} != {nx.density(d)}")
    print(f"reciprocity {r['reciprocity']}, density {r['density']:.6g}")
    bins = r["degree_bins"]
    for lower, upper, count in bins:
        want = sum(1 for _, k in d.degree() if lower <= k < upper)
        check(count == want, f"{name}: degree bin [{lower},{upper}) {count} != {want}")
    check(sum(c for _, _, c in bins) == n, f"{name}: degree bins do not cover the vertices")


driver = sys.argv[1]
run("planted-300", 300, generate(300, 1500, 1, True), 120, True, 1)
run("powerlaw-1000", 1000, generate(1000, 4000, 2, False), 300, True, 2)
run("planted-3000", 3000, generate(3000, 20000, 3, True), 0, False, 3)
run("powerlaw-3000", 3000, generate(3000, 15000, 4, False), 0, False, 4)
run("self-loop only", 1, [(0, 0, 2)], 0, True, 5)
run("no arcs", 2, [], 0, True, 6)
if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all checks passed")
