"""The corpus's fixed dataset: three weeks of events of two group types, written out as the
capture batch groupd loads (crates/groupd/tests/fixtures/corpus/dataset.json) and loadable into
chdb as the tables groupd's HogQL reads.

Run: python3 tests/oracle/dataset.py  (rewrites dataset.json; deterministic)
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATASET = os.path.join(ROOT, "crates/groupd/tests/fixtures/corpus/dataset.json")

COMPANIES = [
    ("acme", {"name": "Acme", "seats": 12, "plan": "pro", "industry": "retail", "arr": 1200.5}),
    ("globex", {"name": "Globex", "seats": 3, "plan": "free", "industry": "energy"}),
    ("initech", {"name": "Initech", "seats": 40, "plan": "enterprise", "industry": "software", "arr": 56000}),
    ("umbrella", {"name": "Umbrella", "seats": 7, "industry": "pharma"}),
]
TEAMS = [
    ("core", {"name": "Core", "size": 5}),
    ("growth", {"name": "Growth", "size": 2}),
]
BROWSERS = ["Chrome", "Safari", "Firefox", None]
OS = ["Mac OS X", "Windows", "iOS", "Android"]
SOURCES = ["google", "twitter", None, None]
PATHS = ["/", "/pricing", "/docs", "/blog/launch", "/signup"]


def events():
    rnd = random.Random(11)
    out = []
    for key, props in COMPANIES:
        out.append({"event": "$groupidentify", "distinct_id": "admin", "timestamp": "2026-05-01T00:00:00Z",
                    "properties": {"$group_type": "company", "$group_key": key, "$group_set": props}})
    for key, props in TEAMS:
        out.append({"event": "$groupidentify", "distinct_id": "admin", "timestamp": "2026-05-01T00:00:00Z",
                    "properties": {"$group_type": "team", "$group_key": key, "$group_set": props}})
    for i in range(120):
        day = 1 + rnd.randrange(21)
        hour = rnd.randrange(24)
        minute = rnd.randrange(60)
        user = "u%d" % rnd.randrange(1, 13)
        kind = rnd.choices(["$pageview", "signup", "purchase", "$autocapture", "trial_started"],
                           [10, 2, 2, 3, 1])[0]
        props = {}
        b = rnd.choice(BROWSERS)
        if b is not None:
            props["$browser"] = b
        props["$os"] = rnd.choice(OS)
        path = rnd.choice(PATHS)
        props["$current_url"] = "https://example.com" + path + ("?ref=hn" if rnd.random() < 0.2 else "")
        props["$pathname"] = path
        s = rnd.choice(SOURCES)
        if s is not None:
            props["utm_source"] = s
        if kind == "purchase":
            props["amount"] = rnd.choice([9, 19.5, 49, 99, 250])
            props["currency"] = "USD"
        if kind == "$autocapture":
            props["$event_type"] = rnd.choice(["click", "submit"])
        if rnd.random() < 0.3:
            props["$active_feature_flags"] = rnd.sample(["beta", "new-nav", "dark"], rnd.randrange(1, 3))
        groups = {}
        if rnd.random() < 0.85:
            groups["company"] = rnd.choice(COMPANIES)[0]
        if rnd.random() < 0.4:
            groups["team"] = rnd.choice(TEAMS)[0]
        if groups:
            props["$groups"] = groups
        ts = "2026-05-%02dT%02d:%02d:%02d.%06dZ" % (day, hour, minute, rnd.randrange(60), rnd.randrange(10**6) // 1000 * 1000)
        out.append({"event": kind, "distinct_id": user, "timestamp": ts, "properties": props,
                    "uuid": "0190f000-0000-7000-8000-%012d" % i})
    return out


def write():
    with open(DATASET, "w") as f:
        json.dump(events(), f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    write()
