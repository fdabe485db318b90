"""Deterministic data for groupd benchmarks: realistic groups and event streams, by seed.

Groups get 5-30 properties of mixed types (strings, ints, floats, booleans, lists, nested
objects) whose values follow skewed (Zipf-like) distributions, as real CRM data does: a few plans,
industries and countries dominate. Events carry `$groups` pointing at those groups, skewed too
(a few big customers produce most events).
"""
import random

INDUSTRIES = ["technology", "finance", "healthcare", "retail", "education", "manufacturing",
              "media", "energy", "logistics", "government", "legal", "travel"]
PLANS = ["free", "starter", "pro", "business", "enterprise"]
COUNTRIES = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "AU", "NL", "ES", "SE", "PL", "MX"]
WORDS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell",
         "cyberdyne", "soylent", "aperture", "vandelay", "pied", "piper", "dunder", "mifflin"]
EXTRA_KEYS = [f"custom_{i}" for i in range(40)]


def zipf_choice(rng, items, s=1.2):
    """Picks from items with probability ~ 1/rank^s."""
    weights = [1.0 / (i + 1) ** s for i in range(len(items))]
    return rng.choices(items, weights=weights, k=1)[0]


def group_key(i):
    return f"g{i:07d}"


def group_properties(rng, i):
    props = {
        "name": f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {i}",
        "industry": zipf_choice(rng, INDUSTRIES),
        "plan": zipf_choice(rng, PLANS, 1.5),
        "seats": int(rng.paretovariate(1.3) * 3),
        "country": zipf_choice(rng, COUNTRIES),
    }
    for k in rng.sample(EXTRA_KEYS, rng.randint(0, 25)):
        kind = rng.random()
        if kind < 0.35:
            props[k] = zipf_choice(rng, WORDS)
        elif kind < 0.6:
            props[k] = rng.randint(0, 10_000)
        elif kind < 0.75:
            props[k] = round(rng.random() * 1000, 2)
        elif kind < 0.88:
            props[k] = rng.random() < 0.5
        elif kind < 0.95:
            props[k] = [zipf_choice(rng, WORDS) for _ in range(rng.randint(1, 3))]
        else:
            props[k] = {"tier": zipf_choice(rng, PLANS), "score": rng.randint(0, 100)}
    return props


def groupidentify_events(seed, start, count, base_ts=1_777_593_600):
    """`$groupidentify` events for groups start..start+count of type `company`."""
    rng = random.Random(seed * 1_000_003 + start)
    out = []
    for i in range(start, start + count):
        ts = base_ts + i  # distinct, increasing event times
        out.append({
            "event": "$groupidentify",
            "distinct_id": f"admin-{i % 97}",
            "timestamp": f"{ts_iso(ts)}",
            "properties": {"$group_type": "company", "$group_key": group_key(i),
                           "$group_set": group_properties(rng, i)},
        })
    return out


def events(seed, start, count, n_groups, base_ts=1_777_593_600):
    """Ordinary events whose `$groups` point at skewed groups."""
    rng = random.Random(seed * 7_919 + start)
    names = ["$pageview", "$pageview", "$pageview", "signed_up", "purchase", "invite_sent", "$autocapture"]
    out = []
    for i in range(start, start + count):
        g = min(int(rng.paretovariate(1.1)) - 1, n_groups - 1)
        g = (g * 7_919 + rng.randint(0, 3)) % n_groups
        out.append({
            "event": rng.choice(names),
            "distinct_id": f"user-{rng.randint(0, 50_000)}",
            "timestamp": ts_iso(base_ts + i // 10),
            "properties": {"$groups": {"company": group_key(g)}, "$current_url": f"https://app.example.com/p/{rng.randint(0, 500)}",
                           "amount": round(rng.random() * 100, 2)},
        })
    return out


def ts_iso(secs):
    import datetime
    return datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
