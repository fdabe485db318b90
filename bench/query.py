#!/usr/bin/env python3
"""groupd's query benchmark: the same logical queries on groupd (SQLite and PostgreSQL, through
HTTP), on DuckDB and on chdb (embedded ClickHouse) over the same rows, engines taking turns.

    cargo build --release -p groupd && python3 bench/query.py          # 1M and 3M events
    python3 bench/query.py --sizes 100000 --reps 3 --backends sqlite   # a quick look

Data: 10,000 companies (group type 0) and 5,000 projects (type 1) of 5-30 properties, and events
over the 60 days before the run, each pointing at a company and a project (skewed: a few big
customers produce most events). groupd receives groups through REST and events through `/batch`
(1000 per request), then compacts them into Parquet segments; DuckDB gets native tables, chdb
MergeTree tables (ordered like PostHog's), both with `properties` kept as JSON text as groupd and
PostHog keep them. Every engine answers every query `--reps` times per size, in rounds (one run
of each engine per round); figures are medians in ms. The answers are compared across engines.
groupd's peak RSS is read from the kernel (VmHWM, reset before the queries).
"""
import argparse, datetime, http.client, json, math, os, platform, random, shutil, statistics, subprocess, sys, tempfile, threading, time, uuid

sys.path.insert(0, os.path.dirname(__file__))
import gen  # noqa: E402
import run  # noqa: E402  (cli, psql, Backend, post_batches)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_COMPANIES, N_PROJECTS = 10_000, 5_000
DAY = 86_400

# name -> (HogQL for groupd, DuckDB SQL, ClickHouse SQL). Ties are broken by key so every engine
# returns the same rows.
QUERIES = {
    "count by event": (
        "SELECT event, count() AS c FROM events GROUP BY event ORDER BY c DESC, event",
        "SELECT event, count(*) AS c FROM events GROUP BY event ORDER BY c DESC, event",
        "SELECT event, count() AS c FROM events GROUP BY event ORDER BY c DESC, event",
    ),
    "unique companies per week": (
        "SELECT toStartOfWeek(timestamp) AS w, uniq($group_0) AS u FROM events GROUP BY w ORDER BY w",
        # ClickHouse's toStartOfWeek (mode 0) starts weeks on Sunday; DuckDB's dayofweek has Sunday = 0.
        "SELECT CAST(timestamp AS DATE) - CAST(dayofweek(timestamp) AS INTEGER) AS w, count(DISTINCT group_0) AS u "
        "FROM events GROUP BY w ORDER BY w",
        "SELECT toStartOfWeek(timestamp) AS w, uniq(group_0) AS u FROM events GROUP BY w ORDER BY w",
    ),
    "top 10 companies, with name": (
        "SELECT $group_0, any(group_0.properties.name) AS name, count() AS c FROM events "
        "GROUP BY $group_0 ORDER BY c DESC, $group_0 LIMIT 10",
        "SELECT e.group_0, any_value(json_extract_string(g.properties, '$.name')) AS name, count(*) AS c "
        "FROM events e LEFT JOIN groups g ON g.group_type_index = 0 AND g.group_key = e.group_0 "
        "GROUP BY e.group_0 ORDER BY c DESC, e.group_0 LIMIT 10",
        "SELECT e.group_0, any(JSONExtractString(g.properties, 'name')) AS name, count() AS c "
        "FROM events AS e LEFT JOIN (SELECT group_key, properties FROM groups WHERE group_type_index = 0) AS g "
        "ON g.group_key = e.group_0 GROUP BY e.group_0 ORDER BY c DESC, e.group_0 LIMIT 10",
    ),
    "breakdown by group property": (
        "SELECT group_0.properties.industry AS industry, count() AS c, uniq($group_0) AS u FROM events "
        "GROUP BY industry ORDER BY c DESC, industry",
        "SELECT json_extract_string(g.properties, '$.industry') AS industry, count(*) AS c, count(DISTINCT e.group_0) AS u "
        "FROM events e LEFT JOIN groups g ON g.group_type_index = 0 AND g.group_key = e.group_0 "
        "GROUP BY industry ORDER BY c DESC, industry",
        "SELECT JSONExtractString(g.properties, 'industry') AS industry, count() AS c, uniq(e.group_0) AS u "
        "FROM events AS e LEFT JOIN (SELECT group_key, properties FROM groups WHERE group_type_index = 0) AS g "
        "ON g.group_key = e.group_0 GROUP BY industry ORDER BY c DESC, industry",
    ),
    "last 30 days count": (
        "SELECT count() FROM events WHERE timestamp > now() - INTERVAL 30 DAY",
        "SELECT count(*) FROM events WHERE timestamp > now()::TIMESTAMP - INTERVAL 30 DAY",
        "SELECT count() FROM events WHERE timestamp > now() - INTERVAL 30 DAY",
    ),
    "countIf funnel step per company": (
        "SELECT $group_0, countIf(event = 'signed_up') AS s, countIf(event = 'purchase') AS p FROM events "
        "WHERE timestamp > now() - INTERVAL 30 DAY GROUP BY $group_0 ORDER BY p DESC, s DESC, $group_0 LIMIT 20",
        "SELECT group_0, count(*) FILTER (WHERE event = 'signed_up') AS s, count(*) FILTER (WHERE event = 'purchase') AS p "
        "FROM events WHERE timestamp > now()::TIMESTAMP - INTERVAL 30 DAY GROUP BY group_0 ORDER BY p DESC, s DESC, group_0 LIMIT 20",
        "SELECT group_0, countIf(event = 'signed_up') AS s, countIf(event = 'purchase') AS p FROM events "
        "WHERE timestamp > now() - INTERVAL 30 DAY GROUP BY group_0 ORDER BY p DESC, s DESC, group_0 LIMIT 20",
    ),
}
NAMES = ["$pageview"] * 6 + ["$autocapture"] * 3 + ["signed_up", "purchase", "invite_sent", "$pageleave"]
BROWSERS = ["Chrome", "Safari", "Firefox", "Edge"]
UTM = ["google", "newsletter", "twitter", "linkedin"]


def skewed(rng, n):
    return (int(rng.paretovariate(1.1)) - 1) * 7_919 % n


def iso(secs):
    return datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def generate(tmp, n, seed, now0):
    """Writes capture lines and the flat rows DuckDB and chdb load; returns their paths.
    No event lies within an hour of the 30-day boundary, so the `now()` of each engine's run
    gives the same answer."""
    rng = random.Random(seed)
    cap_path, flat_path = os.path.join(tmp, "capture.ndjson"), os.path.join(tmp, "flat.ndjson")
    boundary = now0 - 30 * DAY
    with open(cap_path, "w") as cap, open(flat_path, "w") as flat:
        for i in range(n):
            while True:
                ts = now0 - 60 * DAY + rng.random() * (60 * DAY - 3600)
                if abs(ts - boundary) > 3600:
                    break
            ts = round(ts, 3)
            c, p = gen.group_key(skewed(rng, N_COMPANIES)), f"p{skewed(rng, N_PROJECTS):05d}"
            props = {"$browser": rng.choice(BROWSERS), "$current_url": f"https://app.example.com/p/{rng.randint(0, 500)}"}
            if rng.random() < 0.3:
                props["utm_source"] = rng.choice(UTM)
            ev = {"event": rng.choice(NAMES), "distinct_id": f"user-{rng.randint(0, 50_000)}",
                  "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "timestamp": iso(ts)}
            cap.write(json.dumps(dict(ev, properties=dict(props, **{"$groups": {"company": c, "project": p}}))) + "\n")
            flat.write(json.dumps(dict(ev, timestamp=iso(ts)[:-1].replace("T", " "), group_0=c, group_1=p,
                                       properties=json.dumps(props))) + "\n")
    return cap_path, flat_path


def groups(seed):
    rng = random.Random(seed + 1)
    out = [(0, gen.group_key(i), gen.group_properties(rng, i)) for i in range(N_COMPANIES)]
    out += [(1, f"p{i:05d}", {"name": f"project {i}", "stage": rng.choice(["alpha", "beta", "ga"])})
            for i in range(N_PROJECTS)]
    return out


class Groupd:
    """A release groupd on one backend, compacting every second."""

    def __init__(self, kind, tmp, a, port):
        self.kind, self.port = kind, port
        self.be = run.Backend(kind, tmp, a.pg_url)
        run.BIN = a.bin
        self.token = run.cli(self.be.url, "project", "create", "--name", "bench")["api_token"]
        self.key = run.cli(self.be.url, "key", "create", "--label", "bench", "--scopes", "*")["key"]
        extra = ["--compaction-interval-secs", "1", "--compaction-min-age-secs", "0"]
        if kind == "postgres":
            extra += ["--data-dir", os.path.join(tmp, "segments-pg")]
        self.srv = run.Server(self.be.url, port, "warn", extra)
        self.proc, self.base = self.srv.proc, self.srv.base
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def call(self, method, path, body=None, conn=None):
        """One request on a keep-alive connection, reopened when the server closed it (idle)."""
        for attempt in range(2):
            c = conn or self.conn
            try:
                c.request(method, path, json.dumps(body) if body is not None else None,
                          {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"})
                r = c.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, OSError):
                c.close()
                if attempt:
                    raise

    def load_groups(self, gs):
        for t in ("company", "project"):
            s, d = self.call("POST", "/api/projects/1/groups_types/", {"group_type": t})
            assert s in (200, 201), d
        def worker(part):
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            for idx, key, props in part:
                s, d = self.call("POST", "/api/projects/1/groups/",
                                 {"group_type_index": idx, "group_key": key, "group_properties": props}, conn=c)
                assert s == 201, d
        ts = [threading.Thread(target=worker, args=(gs[i::4],)) for i in range(4)]
        [t.start() for t in ts]
        [t.join() for t in ts]

    def load_events(self, path, start, end):
        def batches():
            with open(path) as f:
                chunk = []
                for i, line in enumerate(f):
                    if i < start:
                        continue
                    if i >= end:
                        break
                    chunk.append(line.rstrip("\n"))
                    if len(chunk) == 1000:
                        yield chunk
                        chunk = []
                if chunk:
                    yield chunk
        # The lines are JSON already: each request body is spliced from them, not decoded and
        # encoded again.
        head = json.dumps({"api_key": self.token})[:-1] + ', "batch": ['
        t0 = time.time()
        run.post_batches(self.base, self.token, (head + ",".join(b) + "]}" for b in batches()))
        return time.time() - t0

    def scalar(self, sql):
        """One number from the server's database (read beside the server, not through it)."""
        if self.kind == "sqlite":
            import sqlite3
            conn = sqlite3.connect(self.be.path)
            n = conn.execute(sql).fetchone()[0]
            conn.close()
            return n
        return int(run.psql(self.be.url, sql))

    def hot_events(self):
        return self.scalar("SELECT count(*) FROM events")

    def segments(self):
        return self.scalar("SELECT count(*) FROM event_segments")

    def wait_compacted(self, limit_s=1800):
        """Until every event is in a segment and the merges of the days are done (the segment
        count unchanged for 3 s)."""
        t0 = time.time()
        while self.hot_events() > 0:
            if time.time() - t0 > limit_s:
                raise SystemExit("compaction did not finish")
            time.sleep(1)
        last, same = self.segments(), 0
        while same < 3 and time.time() - t0 < limit_s:
            time.sleep(1)
            n = self.segments()
            same = same + 1 if n == last else 0
            last = n
        return time.time() - t0

    def query(self, q):
        s, d = self.call("POST", "/api/projects/1/query/", {"query": {"kind": "HogQLQuery", "query": q}})
        if s != 200:
            raise SystemExit(f"groupd {self.kind} failed ({s}): {d[:400]!r}\n{q}")
        return json.loads(d)["results"]

    def reset_peak(self):
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")

    def peak_rss_mb(self):
        return self.srv.peak_rss_mb()

    def segments_bytes(self):
        """The live segments' bytes, from the catalog: files a merge replaced stay on disk for
        the grace period (queries may still read them) and are not counted."""
        return self.scalar("SELECT COALESCE(SUM(bytes), 0) FROM event_segments")

    def stop(self):
        self.srv.stop()
        self.be.drop()


class Duck:
    def __init__(self, tmp):
        import duckdb
        self.con = duckdb.connect(os.path.join(tmp, "bench.duckdb"))

    def load(self, flat, groups_path):
        self.con.execute("DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS groups")
        self.con.execute(f"""CREATE TABLE events AS SELECT * FROM read_json('{flat}', format='newline_delimited',
            columns={{uuid: 'VARCHAR', event: 'VARCHAR', distinct_id: 'VARCHAR', timestamp: 'TIMESTAMP',
                      group_0: 'VARCHAR', group_1: 'VARCHAR', properties: 'VARCHAR'}})""")
        self.con.execute(f"""CREATE TABLE groups AS SELECT * FROM read_json('{groups_path}', format='newline_delimited',
            columns={{group_type_index: 'INTEGER', group_key: 'VARCHAR', properties: 'VARCHAR'}})""")
        self.con.execute("CHECKPOINT")

    def query(self, q):
        return self.con.execute(q).fetchall()


class Chdb:
    def __init__(self, tmp):
        from chdb import session
        self.s = session.Session(os.path.join(tmp, "chdb"))

    def load(self, flat, groups_path):
        self.s.query("DROP TABLE IF EXISTS events")
        self.s.query("DROP TABLE IF EXISTS groups")
        self.s.query("""CREATE TABLE events (uuid UUID, event String, distinct_id String, timestamp DateTime64(6, 'UTC'),
            group_0 String, group_1 String, properties String)
            ENGINE = MergeTree ORDER BY (toDate(timestamp), event, cityHash64(distinct_id), cityHash64(uuid))""")
        self.s.query(f"INSERT INTO events SELECT * FROM file('{flat}', JSONEachRow)")
        self.s.query("""CREATE TABLE groups (group_type_index UInt8, group_key String, properties String)
            ENGINE = MergeTree ORDER BY (group_type_index, group_key)""")
        self.s.query(f"INSERT INTO groups SELECT * FROM file('{groups_path}', JSONEachRow)")
        self.s.query("OPTIMIZE TABLE events FINAL")

    def query(self, q):
        return json.loads(self.s.query(q, "JSONCompact").bytes())["data"]


def norm(rows):
    """Rows as comparable tuples: numbers as floats, times as their first 10 characters (a date)."""
    out = []
    for r in rows:
        t = []
        for v in r:
            if isinstance(v, (datetime.date, datetime.datetime)):
                v = v.isoformat()
            if isinstance(v, str) and len(v) >= 10 and v[4] == "-" and v[7] == "-":
                v = v[:10]
            try:
                v = float(v) if not isinstance(v, bool) else v
            except (TypeError, ValueError):
                pass
            t.append(v)
        out.append(tuple(t))
    return out


def same(a, b, rel=0.02):
    """Equal answers, allowing `rel` on numbers (ClickHouse's uniq is approximate)."""
    a, b = norm(a), norm(b)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if len(x) != len(y):
            return False
        for u, v in zip(x, y):
            if isinstance(u, float) and isinstance(v, float):
                if abs(u - v) > rel * max(abs(u), abs(v), 1):
                    return False
            elif u != v:
                return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--sizes", default="1000000,3000000")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--port", type=int, default=19100, help="first of the ports the servers listen on")
    ap.add_argument("--bin", default=os.environ.get("GROUPD_BIN", os.path.join(ROOT, "target", "release", "groupd")))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "QUERY_RESULTS.md"))
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    tmp = tempfile.mkdtemp(prefix="groupd-qbench-")
    lines = []
    out = lambda s="": (print(s, flush=True), lines.append(s))
    now0 = int(time.time())
    t0 = time.time()
    cap, flat = generate(tmp, max(sizes), a.seed, now0)
    gs = groups(a.seed)
    groups_path = os.path.join(tmp, "groups.ndjson")
    with open(groups_path, "w") as f:
        for idx, key, props in gs:
            f.write(json.dumps({"group_type_index": idx, "group_key": key, "properties": json.dumps(props)}) + "\n")
    print(f"generated {max(sizes):,} events in {time.time() - t0:.0f} s", file=sys.stderr)

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import duckdb, chdb
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    out("# groupd query benchmark\n")
    out(f"Machine: {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.platform()}. groupd {commit} release build "
        f"(default memory limit), DuckDB {duckdb.__version__}, chdb {chdb.__version__}, all on the same cores. "
        f"{N_COMPANIES:,} companies and {N_PROJECTS:,} projects; events over 60 days. Each query ran {a.reps} times "
        f"per engine, engines taking turns; medians in ms, and the ratio of groupd to DuckDB and to chdb. Seed {a.seed}.\n")
    out("Regenerate: `cargo build --release -p groupd && python3 bench/query.py` (options: `--backends`, `--sizes`, `--reps`).\n")

    servers = {k: Groupd(k, tmp, a, a.port + i) for i, k in enumerate(a.backends.split(","))}
    engines = {}
    try:
        for g in servers.values():
            t = time.time()
            g.load_groups(gs)
            print(f"{g.kind}: {len(gs):,} groups through REST in {time.time() - t:.0f} s", file=sys.stderr)
        loaded = 0
        duck, ch = Duck(tmp), Chdb(tmp)
        for size in sizes:
            notes = []
            for g in servers.values():
                secs = g.load_events(cap, loaded, size)
                wait = g.wait_compacted()
                seg = g.segments_bytes()
                notes.append(f"groupd {g.kind}: {size - loaded:,} events through `/batch` at {(size - loaded) / secs:,.0f} events/s, "
                             f"all compacted {wait:.0f} s after the last answer" + (f"; segments {seg / 2**20:,.0f} MiB" if seg else ""))
            head = subprocess.run(["head", "-n", str(size), flat], capture_output=True, text=True).stdout
            part = os.path.join(tmp, f"flat-{size}.ndjson")
            open(part, "w").write(head)
            t = time.time(); duck.load(part, groups_path); notes.append(f"DuckDB load {time.time() - t:.0f} s")
            t = time.time(); ch.load(part, groups_path); notes.append(f"chdb load {time.time() - t:.0f} s")
            os.remove(part)
            loaded = size
            engines = {f"groupd {k}": g for k, g in servers.items()}
            for g in servers.values():
                g.reset_peak()
            times = {(q, e): [] for q in QUERIES for e in list(engines) + ["DuckDB", "chdb"]}
            answers = {}
            for _ in range(a.reps):
                for q, (hog, dsql, csql) in QUERIES.items():
                    for e, fn in [*((n, (lambda g=g: g.query(hog))) for n, g in engines.items()),
                                  ("DuckDB", lambda: duck.query(dsql)), ("chdb", lambda: ch.query(csql))]:
                        t = time.perf_counter()
                        res = fn()
                        times[(q, e)].append((time.perf_counter() - t) * 1000)
                        answers[(q, e)] = res
            out(f"## {size:,} events\n")
            out("; ".join(notes) + ".\n")
            cols = list(engines) + ["DuckDB", "chdb"]
            out("| query | " + " | ".join(cols) + " | " + " | ".join(f"{e} ÷ DuckDB" for e in engines)
                + " | " + " | ".join(f"{e} ÷ chdb" for e in engines) + " | same answer |")
            out("|---|" + "---:|" * (len(cols) + 2 * len(engines)) + "---|")
            med = {k: statistics.median(v) for k, v in times.items()}
            geo = {e: [] for e in cols}
            for q in QUERIES:
                for e in cols:
                    geo[e].append(math.log(max(med[(q, e)], 0.01)))
                ok = all(same(answers[(q, e)], answers[(q, "chdb")]) for e in cols)
                out(f"| {q} | " + " | ".join(f"{med[(q, e)]:,.1f}" for e in cols) + " | "
                    + " | ".join(f"{med[(q, e)] / med[(q, 'DuckDB')]:.2f}×" for e in engines) + " | "
                    + " | ".join(f"{med[(q, e)] / med[(q, 'chdb')]:.2f}×" for e in engines) + f" | {'yes' if ok else '**no**'} |")
                if not ok:
                    for e in cols:
                        print(f"  {q} / {e}: {norm(answers[(q, e)])[:5]}", file=sys.stderr)
            gm = {e: math.exp(sum(v) / len(v)) for e, v in geo.items()}
            out("| geometric mean | " + " | ".join(f"{gm[e]:,.1f}" for e in cols) + " | "
                + " | ".join(f"{gm[e] / gm['DuckDB']:.2f}×" for e in engines) + " | "
                + " | ".join(f"{gm[e] / gm['chdb']:.2f}×" for e in engines) + " | |")
            out("")
            out("Peak RSS of groupd during the queries: " + ", ".join(f"{g.kind} {g.peak_rss_mb():,.0f} MB" for g in servers.values()) + ".\n")
    finally:
        for g in servers.values():
            g.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
