#!/usr/bin/env python3
"""Baselines for bench/analytics_bench: the same algorithms in igraph (C) and
NetworkX (Python) on the graphs analytics_bench wrote. Times the algorithm
call only (the graph is already loaded). Prints one "name value" line per
figure (wall seconds, and process CPU seconds as *_cpu_s), which
analytics_bench reads back.

  analytics_baseline.py igraph DIR      DIR/directed.bin, DIR/undirected.bin
  analytics_baseline.py networkx DIR    DIR/small.bin, tolerance in DIR/small.tol

A .bin file: uint32 vertex count, uint64 arc count, then per arc uint32 from,
uint32 to, float64 weight (native byte order).
"""
import random
import struct
import sys
import time
from array import array


def read(path):
    with open(path, "rb") as f:
        n, m = struct.unpack("=IQ", f.read(12))
        ends = array("I")
        ends.fromfile(f, 2 * m)
        weights = array("d")
        weights.fromfile(f, m)
    return n, ends, weights


def run_igraph(d):
    import igraph

    n, ends, weights = read(f"{d}/directed.bin")
    g = igraph.Graph(n=n, edges=list(zip(ends[0::2], ends[1::2])), directed=True)
    del ends
    g.es["weight"] = list(weights)
    del weights
    best, best_cpu = None, None
    for _ in range(3):
        t, c = time.perf_counter(), time.process_time()
        pr = g.pagerank(weights="weight", damping=0.85)
        t, c = time.perf_counter() - t, time.process_time() - c
        best = t if best is None else min(best, t)
        best_cpu = c if best_cpu is None else min(best_cpu, c)
    print(f"igraph_pagerank_s {best:.6f}", flush=True)
    print(f"igraph_pagerank_cpu_s {best_cpu:.6f}", flush=True)
    print(f"igraph_pagerank_sum {sum(pr):.12f}", flush=True)
    del g, pr

    n, ends, weights = read(f"{d}/undirected.bin")
    u = igraph.Graph(n=n, edges=list(zip(ends[0::2], ends[1::2])), directed=False)
    del ends
    u.es["weight"] = list(weights)
    del weights
    random.seed(1)
    t, c = time.perf_counter(), time.process_time()
    parts = u.community_multilevel(weights="weight")
    t, c = time.perf_counter() - t, time.process_time() - c
    print(f"igraph_louvain_s {t:.6f}", flush=True)
    print(f"igraph_louvain_cpu_s {c:.6f}", flush=True)
    print(f"igraph_louvain_modularity {u.modularity(parts.membership, weights='weight'):.9f}", flush=True)
    print(f"igraph_louvain_communities {len(parts)}", flush=True)
    t, c = time.perf_counter(), time.process_time()
    lp = u.community_label_propagation(weights="weight")
    t, c = time.perf_counter() - t, time.process_time() - c
    print(f"igraph_label_propagation_s {t:.6f}", flush=True)
    print(f"igraph_label_propagation_cpu_s {c:.6f}", flush=True)
    print(f"igraph_label_propagation_modularity {u.modularity(lp.membership, weights='weight'):.9f}",
          flush=True)


def run_networkx(d):
    import networkx as nx

    n, ends, weights = read(f"{d}/small.bin")
    with open(f"{d}/small.tol") as f:
        tol = float(f.read())
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_weighted_edges_from(zip(ends[0::2], ends[1::2], weights))
    del ends, weights
    # nx.pagerank (SciPy's sparse matrices). Its tolerance is per vertex
    # (L1 < n * tol): the same stopping rule as ours.
    t, c = time.perf_counter(), time.process_time()
    nx.pagerank(g, alpha=0.85, weight="weight", tol=tol / n, max_iter=10000)
    t, c = time.perf_counter() - t, time.process_time() - c
    print(f"networkx_pagerank_s {t:.6f}", flush=True)
    print(f"networkx_pagerank_cpu_s {c:.6f}", flush=True)


if __name__ == "__main__":
    {"igraph": run_igraph, "networkx": run_networkx}[sys.argv[1]](sys.argv[2])
