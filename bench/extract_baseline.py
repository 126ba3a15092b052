#!/usr/bin/env python3
"""Baseline for bench/extract_bench: the same X v2 extraction in Python with
the standard `json` module (the kind of code the original project was written
in). Same rules as src/extract (docs/extraction-rules.md), same output counts.

  python3 bench/extract_baseline.py build/x-v2-large.ndjson [repeats]
"""
import argparse
import json
import time


def extract(line):
    msg = json.loads(line)
    data = msg.get("data")
    if not isinstance(data, dict):
        return []
    inc = msg.get("includes", {})
    users = {u["id"]: u for u in inc.get("users", [])}
    tweets = {}
    for key in ("posts", "tweets"):  # tweets win, as in the C++ extractor
        for t in inc.get(key, []):
            tweets[t["id"]] = t
    author = data.get("author_id")
    if not data.get("id") or not author:
        return []
    out = set()

    def add(to, kind):
        if to and to != author:
            out.add((to, kind))

    def mentions(post, strip_rt):
        for i, m in enumerate(post.get("entities", {}).get("mentions", [])):
            if strip_rt and i == 0 and m.get("start") == 3:
                continue
            add(m.get("id"), "mention")

    tags = {h["tag"].lower() for h in data.get("entities", {}).get("hashtags", [])}
    refs = data.get("referenced_tweets", [])
    rt = next((r for r in refs if r.get("type") == "retweeted"), None)
    if rt:
        orig = tweets.get(rt["id"])
        if orig:
            add(orig.get("author_id"), "repost")
            tags |= {h["tag"].lower() for h in orig.get("entities", {}).get("hashtags", [])}
            mentions(orig, False)
        mentions(data, True)
    else:
        if data.get("in_reply_to_user_id"):
            add(data["in_reply_to_user_id"], "reply")
        for r in refs:
            ref = tweets.get(r["id"])
            if r.get("type") == "quoted" and ref:
                add(ref.get("author_id"), "quote")
        mentions(data, False)
    user = users.get(author, {})
    location = user.get("location", "")
    return [("twitter:" + data["id"], "twitter:" + author, "twitter:" + to, kind, sorted(tags), location)
            for to, kind in out]


def main():
    parser = argparse.ArgumentParser(
        description="X v2 extraction in Python's json module: the baseline for bench/extract_bench.")
    parser.add_argument("file", help="NDJSON of X API v2 posts (e.g. build/x-v2-large.ndjson)")
    parser.add_argument("repeats", nargs="?", type=int, default=3,
                        help="passes over the file; the best one counts (default 3)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("repeats must be at least 1")
    try:
        f = open(args.file, "rb")
    except OSError as e:
        parser.exit(1, "extract_baseline.py: cannot open %s: %s\n" % (args.file, e.strerror))
    repeats = args.repeats
    with f:
        lines = [l for l in f.read().split(b"\n") if l]
    size = sum(len(l) for l in lines) / 1e6
    best_cpu = best_wall = float("inf")
    n_inter = 0
    for _ in range(repeats):
        c0, t0 = time.thread_time(), time.perf_counter()
        n_inter = 0
        for l in lines:
            n_inter += len(extract(l))
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.thread_time() - c0)
    print("input: %d lines, %.1f MB, best of %d passes" % (len(lines), size, repeats))
    print("                       one core (thread CPU time)      wall clock")
    print("python json extract : %8.1f MB/s %9.0f posts/s   %8.1f MB/s  (%d interactions/pass)"
          % (size / best_cpu, len(lines) / best_cpu, size / best_wall, n_inter))

if __name__ == "__main__":
    main()
