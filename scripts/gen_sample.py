#!/usr/bin/env python3
"""Generates tlflow's sample corpus: X API v2 filtered-stream lines.

Every line is one stream object exactly as the filtered stream sends it
(data + includes.users + includes.tweets [+ includes.places] +
matching_rules), requested with
  expansions=author_id,entities.mentions.username,in_reply_to_user_id,
             referenced_tweets.id,referenced_tweets.id.author_id,geo.place_id
  tweet.fields=author_id,conversation_id,created_at,entities,geo,
               in_reply_to_user_id,lang,referenced_tweets
  user.fields=id,location,name,username
  place.fields=country_code,full_name,id,name,place_type
All accounts, names and posts are invented. Python standard library only;
the output depends on --seed and --count alone.

  scripts/gen_sample.py                         # samples/x-v2-sample.ndjson
  scripts/gen_sample.py --count 200000 --out build/x-v2-large.ndjson
"""
import argparse
import datetime as dt
import json
import os
import random

TOPICS = [
    {   # a climate summit
        "rule": {"id": "1857000000000000101", "tag": "climate-summit",
                 "value": "#cop29 OR #climateaction OR #climate"},
        "tags": ["COP29", "ClimateAction", "Climate", "NetZero"],
        "phrases": ["Negotiators just agreed on a draft text", "Finance is the sticking point again",
                    "Big pledge announced on the main stage", "Youth delegates walked out of the plenary",
                    "Loss and damage fund needs real money", "Methane deal looks close",
                    "Coal phase-down language watered down", "Island states demand 1.5C"],
    },
    {   # an election
        "rule": {"id": "1857000000000000102", "tag": "election",
                 "value": "#election2024 OR #vote"},
        "tags": ["Election2024", "Vote", "ExitPoll", "Debate"],
        "phrases": ["Turnout looks higher than last time", "Polls close in one hour",
                    "The count is slower in the north", "Long queues at my polling station",
                    "First exit poll just dropped", "The debate changed nothing for me",
                    "Recount requested in two districts", "Concession speech expected tonight"],
    },
    {   # a football final
        "rule": {"id": "1857000000000000103", "tag": "football-final",
                 "value": "#uclfinal OR #championsleague"},
        "tags": ["UCLFinal", "ChampionsLeague", "Football", "Goal"],
        "phrases": ["What a save in the first half", "Penalty! VAR is checking",
                    "That was never offside", "Extra time, I cannot breathe",
                    "The fans are incredible tonight", "Best final in a decade",
                    "Red card changes everything", "Trophy lift, history made"],
    },
]

CITIES = ["Berlin, Germany", "London", "New York, NY", "Lagos, Nigeria", "São Paulo, Brasil",
          "Tokyo", "Madrid", "Paris, France", "Mumbai", "Sydney, Australia", "Mexico City",
          "Nairobi, Kenya", "Baku, Azerbaijan", "Buenos Aires", "Toronto, Ontario", "Jakarta"]

PLACES = [
    {"id": "3078869807f9dd36", "full_name": "Berlin, Deutschland", "name": "Berlin",
     "country_code": "DE", "place_type": "city"},
    {"id": "01a9a39529b27f36", "full_name": "Manhattan, NY", "name": "Manhattan",
     "country_code": "US", "place_type": "city"},
    {"id": "1c8ef5bbcd3d2f0b", "full_name": "Baku, Azerbaijan", "name": "Baku",
     "country_code": "AZ", "place_type": "city"},
    {"id": "d9e8f7a6b5c4d3e2", "full_name": "Wembley, London", "name": "Wembley",
     "country_code": "GB", "place_type": "neighborhood"},
]

FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Giulia", "Hiro", "Ines", "Jonas",
         "Kwame", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tomás",
         "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoë"]
LAST = ["Silva", "Okafor", "Müller", "Tanaka", "García", "Kowalski", "Haddad", "Nguyen", "Rossi",
        "Petrov", "Mensah", "Larsen", "Dubois", "Sharma", "Kim", "Novak"]
HANDLE_WORDS = ["news", "daily", "live", "fan", "watch", "desk", "hq", "report", "voice", "talk"]
EXTRA = ["Thoughts?", "Unreal.", "Thread below.", "Source inside.", "Can't believe it.", "🔥",
         "👀", "Agree with this.", "This matters.", "Wow."]


def snowflake(ts, seq):
    """A post id shaped like X's: milliseconds since the X epoch, shifted."""
    ms = int(ts.timestamp() * 1000) - 1288834974657
    return str((ms << 22) | (seq & 0x3FFFFF))


def iso_ms(ts):
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ts.microsecond // 1000)


class Corpus:
    def __init__(self, seed, n_users):
        self.rng = random.Random(seed)
        self.users = []
        seen = set()
        for i in range(n_users):
            first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
            while True:
                base = (first + "_" + last).lower()
                base = base.encode("ascii", "ignore").decode()
                handle = base if self.rng.random() < 0.3 else base[:9] + self.rng.choice(HANDLE_WORDS)
                handle = handle[:12] + str(self.rng.randint(1, 999))
                if handle not in seen:
                    seen.add(handle)
                    break
            user = {"id": str(1000000000 + i * 7919 + self.rng.randint(0, 7000)),
                    "name": first + " " + last, "username": handle}
            if self.rng.random() < 0.75:
                user["location"] = self.rng.choice(CITIES)
            self.users.append(user)
        # Preferential attachment: a few hubs draw most interactions, so the
        # graph has paths between most accounts and heavy location flows.
        self.by_id = {u["id"]: u for u in self.users}
        self.weights = [1.0 / (i + 1) ** 0.9 for i in range(n_users)]
        self.posts = []  # recent originals and quotes: (post object, topic index)

    def hub(self):
        return self.rng.choices(self.users, weights=self.weights, k=1)[0]

    def anyone(self):
        return self.rng.choice(self.users)

    def make_text(self, topic, mentions):
        """Returns text, mention entities and hashtag entities (code-point indices)."""
        parts, ents_m, ents_h = [], [], []
        pos = 0

        def add(s):
            nonlocal pos
            parts.append(s)
            pos += len(s)

        for u in mentions:
            ents_m.append({"start": pos, "end": pos + 1 + len(u["username"]),
                           "username": u["username"], "id": u["id"]})
            add("@" + u["username"] + " ")
        add(self.rng.choice(topic["phrases"]))
        if self.rng.random() < 0.4:
            add(" " + self.rng.choice(EXTRA))
        tags = self.rng.sample(topic["tags"], k=self.rng.choice([1, 1, 2, 2, 3]))
        if self.rng.random() < 0.05:
            other = self.rng.choice([t for t in TOPICS if t is not topic])
            tags.append(self.rng.choice(other["tags"]))
        for t in tags:
            add(" ")
            ents_h.append({"start": pos, "end": pos + 1 + len(t), "tag": t})
            add("#" + t)
        return "".join(parts), ents_m, ents_h


def topic_of_tags(tags):
    hit = []
    for t in TOPICS:
        names = {x.lower() for x in t["tags"]}
        if any(h["tag"].lower() in names for h in tags):
            hit.append({"id": t["rule"]["id"], "tag": t["rule"]["tag"]})
    return hit


def generate(count, seed):
    c = Corpus(seed, max(60, count // 5))
    rng = c.rng
    ts = dt.datetime(2024, 11, 15, 9, 0, 0, tzinfo=dt.timezone.utc)
    lines = []
    for seq in range(count):
        ts += dt.timedelta(milliseconds=rng.randint(50, 9000))
        ti = rng.choices(range(len(TOPICS)), weights=[5, 4, 3])[0]
        topic = TOPICS[ti]
        author = c.anyone()
        pid = snowflake(ts, seq)
        kind = rng.choices(["post", "reply", "retweet", "quote"], weights=[40, 20, 30, 10])[0]
        pool = [p for p, t in c.posts[-400:] if t == ti and p["author_id"] != author["id"]]
        if kind != "post" and not pool:
            kind = "post"
        users = {author["id"]: author}
        tweets = []
        data = {"id": pid, "author_id": author["id"], "conversation_id": pid,
                "created_at": iso_ms(ts), "edit_history_tweet_ids": [pid],
                "lang": "en"}
        if kind == "retweet":
            orig = rng.choice(pool)
            orig_author = c.by_id[orig["author_id"]]
            users[orig_author["id"]] = orig_author
            prefix = "RT @" + orig_author["username"] + ": "
            body = orig["text"]
            text = prefix + body
            limit = len(text)  # entities must end before any "…" cut
            if len(text) > 140:
                text = text[:139] + "…"
                limit = 139
            mentions = [{"start": 3, "end": 4 + len(orig_author["username"]),
                         "username": orig_author["username"], "id": orig_author["id"]}]
            hashtags = []
            for m in orig.get("entities", {}).get("mentions", []):
                if len(prefix) + m["end"] <= limit:
                    mentions.append(dict(m, start=m["start"] + len(prefix), end=m["end"] + len(prefix)))
                    users[m["id"]] = c.by_id[m["id"]]
            for h in orig.get("entities", {}).get("hashtags", []):
                if len(prefix) + h["end"] <= limit:
                    hashtags.append(dict(h, start=h["start"] + len(prefix), end=h["end"] + len(prefix)))
            data["text"] = text
            data["entities"] = {"mentions": mentions}
            if hashtags:
                data["entities"]["hashtags"] = hashtags
            data["referenced_tweets"] = [{"type": "retweeted", "id": orig["id"]}]
            tweets.append(orig)
            for m in orig.get("entities", {}).get("mentions", []):
                users[m["id"]] = c.by_id[m["id"]]
        else:
            mentions = []
            parent = None
            if kind == "reply":
                parent = rng.choice(pool)
                mentions.append(c.by_id[parent["author_id"]])
                data["conversation_id"] = parent["conversation_id"]
                data["in_reply_to_user_id"] = parent["author_id"]
            for _ in range(rng.choices([0, 1, 2], weights=[55, 35, 10])[0]):
                m = c.hub()
                if m["id"] != author["id"] and m not in mentions:
                    mentions.append(m)
            text, ents_m, ents_h = c.make_text(topic, mentions)
            data["text"] = text
            ents = {}
            if ents_m:
                ents["mentions"] = ents_m
            if ents_h:
                ents["hashtags"] = ents_h
            if ents:
                data["entities"] = ents
            for m in mentions:
                users[m["id"]] = m
            if kind == "reply":
                data["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
                tweets.append(parent)
            elif kind == "quote":
                q = rng.choice(pool)
                data["referenced_tweets"] = [{"type": "quoted", "id": q["id"]}]
                tweets.append(q)
                qa = c.by_id[q["author_id"]]
                users[qa["id"]] = qa
            # originals and quotes can be referenced later
            stored = {k: v for k, v in data.items() if k != "geo"}
            c.posts.append((stored, ti))
            if len(c.posts) > 2000:
                del c.posts[:1000]
        places = []
        if "location" not in author and rng.random() < 0.35:
            place = rng.choice(PLACES)
            data["geo"] = {"place_id": place["id"]}
            places.append(place)
        rules = topic_of_tags(data.get("entities", {}).get("hashtags", []))
        if not rules:  # a rule can match the original's tags (truncated RT text)
            rules = [{"id": topic["rule"]["id"], "tag": topic["rule"]["tag"]}]
        includes = {"users": list(users.values())}
        if tweets:
            includes["tweets"] = tweets
        if places:
            includes["places"] = places
        line = {"data": data, "includes": includes, "matching_rules": rules}
        lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=3000, help="number of stream lines (posts)")
    ap.add_argument("--seed", type=int, default=20241115)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "samples", "x-v2-sample.ndjson"))
    args = ap.parse_args()
    lines = generate(args.count, args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
