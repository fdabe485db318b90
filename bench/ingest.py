#!/usr/bin/env python3
"""Issue 13's figures against a release groupd: `$groupidentify` ingestion of new groups and of
updates, the change stream's delivery latency while that runs, the bytes per group (with each
table's share), NDJSON import through the CLI, and the read latencies at that size.

    cargo build --release -p groupd -p groupd-loadgen
    python3 bench/ingest.py --backends sqlite,postgres --groups 100000
    python3 bench/ingest.py --backends sqlite --groups 1000000 --reads   # also find/list/search/values

Everything runs on loopback, on a fresh SQLite file or a fresh PostgreSQL database per backend.

- **Ingestion**: the groups of `gen.groupidentify_events` (5-30 properties each), 1000 per `/batch/`
  request, from `--conns` keep-alive connections, bodies encoded before the clock starts. Then the
  same groups again with other values and later timestamps (updates: most properties change, some
  are added).
- **Change stream**: one SSE client (`since=now`) follows the whole load. For each change it keeps
  two figures: delivery time minus the change's `recorded_at` (the server time the writing request
  began: an upper bound of commit-to-delivery, as it includes the wait for the writer and the
  transaction itself), and delivery time minus the moment the request that wrote it was answered
  (answered after commit: a lower bound).
- **Size**: the database after loading, less the empty database, per group; the events table (the
  `$groupidentify` events themselves) is listed apart from the group side.
- **Import**: `groupd import` of an NDJSON file of `$set` lines into a fresh database, timed whole.
"""
import argparse, datetime, http.client, json, os, re, shutil, sqlite3, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(__file__))
import gen  # noqa: E402
import run  # noqa: E402

BASE_TS = 1_777_593_600
UPDATE_OFFSET = 10_000_000  # updates are dated this many seconds after the creations
KEY_RE = re.compile(rb'"group_key":"([^"]*)"')
RECORDED_RE = re.compile(rb'"recorded_at":"([^"]*)"')


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def pct(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


class ChangeFollower(threading.Thread):
    """Follows the change stream over SSE and times every change's delivery."""

    def __init__(self, port, key):
        super().__init__(daemon=True)
        self.port, self.key = port, key
        self.acks = {}  # batch number -> when its request was answered
        self.after_recorded, self.after_ack = [], []
        self.count = 0
        self.ready = threading.Event()
        self.stopping = False

    def run(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        c.request("GET", "/api/projects/1/groups/changes?since=now",
                  headers={"Accept": "text/event-stream", "Authorization": f"Bearer {self.key}"})
        r = c.getresponse()
        if r.status != 200:
            raise SystemExit(f"change stream: HTTP {r.status}")
        self.ready.set()
        while not self.stopping:
            line = r.readline()
            if not line:
                return
            if not line.startswith(b"data:"):
                continue
            now = time.time()
            self.count += 1
            rec = RECORDED_RE.search(line)
            key = KEY_RE.search(line)
            if rec:
                self.after_recorded.append(now - parse_time(rec.group(1).decode()))
            if key:
                ack = self.acks.get(int(key.group(1)[1:]) // 1000)
                if ack is not None:
                    self.after_ack.append(now - ack)

    def take(self):
        """The figures so far, and starts afresh."""
        out = {"count": self.count, "recorded": self.after_recorded, "ack": self.after_ack}
        self.count, self.after_recorded, self.after_ack = 0, [], []
        return out


def post_timed(base, bodies, conns, acks):
    """Posts pre-encoded /batch bodies (the i-th carries groups i*1000…) from `conns` connections;
    records when each was answered."""
    import urllib.parse
    u = urllib.parse.urlparse(base)
    it = iter(enumerate(bodies))
    lock = threading.Lock()
    failed = []

    def worker():
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
        while not failed:
            with lock:
                nb = next(it, None)
            if nb is None:
                return
            n, body = nb
            for _ in range(100):
                c.request("POST", "/batch/", body, {"Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
                if r.status == 200:
                    acks[n] = time.time()
                    break
                if r.status != 503:
                    failed.append(r.status)
                    return
                time.sleep(0.1)
    ts = [threading.Thread(target=worker) for _ in range(conns)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    if failed:
        raise SystemExit(f"load failed: HTTP {failed[0]}")


def bodies_for(token, seed, n, base_ts):
    return [json.dumps({"api_key": token, "batch": gen.groupidentify_events(seed, s, min(1000, n - s), base_ts)}).encode()
            for s in range(0, n, 1000)]


def table_sizes(be):
    """Bytes per table, its indexes included (the trigram index's shadow tables as one)."""
    if be.kind == "sqlite":
        c = sqlite3.connect(be.path)
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = c.execute("SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize) FROM dbstat s "
                         "LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY 1").fetchall()
        c.close()
        out = {}
        for name, size in rows:
            name = "groups_fts" if name.startswith("groups_fts") else name
            out[name] = out.get(name, 0) + size
        return out
    rows = run.psql(be.url, "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
                            "AND c.relkind = 'r'")
    return {r.split("|")[0]: int(r.split("|")[1]) for r in rows.splitlines() if r}


def latency_line(f):
    return (f"{f['count']:,} changes delivered; after `recorded_at` p50 {pct(f['recorded'], .5) * 1000:.0f} ms, "
            f"p99 {pct(f['recorded'], .99) * 1000:.0f} ms, max {max(f['recorded'] or [0]) * 1000:.0f} ms; "
            f"after the writing request was answered p50 {pct(f['ack'], .5) * 1000:.0f} ms, "
            f"p99 {pct(f['ack'], .99) * 1000:.0f} ms")


def import_ndjson(path, n, seed):
    with open(path, "w") as f:
        for s in range(0, n, 1000):
            for e in gen.groupidentify_events(seed, s, min(1000, n - s), BASE_TS):
                p = e["properties"]
                f.write(json.dumps({"group_type": p["$group_type"], "group_key": p["$group_key"],
                                    "$set": p["$group_set"], "timestamp": e["timestamp"]}) + "\n")


def run_backend(kind, a, out, port):
    tmp = tempfile.mkdtemp(prefix="groupd-ingest-")
    be = run.Backend(kind, tmp, a.pg_url)
    token = run.cli(be.url, "project", "create", "--name", "bench")["api_token"]
    key = run.cli(be.url, "key", "create", "--label", "bench", "--scopes", "*")["key"]
    empty = sum(table_sizes(be).values()) if kind == "postgres" else 0
    n = a.groups
    print(f"{kind}: encoding {n:,} groups", file=sys.stderr, flush=True)
    creates = bodies_for(token, a.seed, n, BASE_TS)
    srv = run.Server(be.url, port, a.log_level)
    title = "SQLite" if kind == "sqlite" else "PostgreSQL"
    res = {"backend": title}
    try:
        follower = ChangeFollower(port, key)
        follower.start()
        follower.ready.wait(10)
        t0 = time.time()
        post_timed(srv.base, creates, a.conns, follower.acks)
        res["create_rate"] = n / (time.time() - t0)
        del creates
        settle = srv.wait_idle()
        time.sleep(1)
        res["create_stream"] = follower.take()
        sizes = table_sizes(be)
        total = sum(sizes.values()) - empty
        events = sum(v for k, v in sizes.items() if k in ("events", "moved_event_keys"))
        res["bytes_total"], res["bytes_groups"] = total / n, (total - events) / n
        out(f"## {title}: {n:,} groups\n")
        out(f"New groups through capture (`$groupidentify`, 1000 per request, {a.conns} connections): "
            f"**{res['create_rate']:,.0f} groups/s**; background index work afterwards {settle:.0f} s.\n")
        out(f"Change stream during that load: {latency_line(res['create_stream'])}.\n")
        out(f"Size: **{total / n:,.0f} bytes per group** in all; {(total - events) / n:,.0f} bytes per group without "
            f"the events table (the `$groupidentify` events themselves).\n")
        out("| table (with its indexes) | bytes per group | share |\n|---|---:|---:|")
        for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
            if size / n >= 1:
                out(f"| {name} | {size / n:,.0f} | {size / max(total, 1):.0%} |")
        out("")
        if a.reads:
            mid_c, mid_k = be.middle(n)
            import base64
            cursor = base64.urlsafe_b64encode(json.dumps({"c": mid_c, "k": mid_k}).encode()).decode()
            g = "/api/projects/1/groups"
            out(run.HEADER)
            for name, path in [
                ("find by key", f"{g}/find?group_type_index=0&group_key=g{{n}}"),
                ("list, first page", f"{g}/?group_type_index=0"),
                ("list, search (rare: one key)", f"{g}/?group_type_index=0&search=g{{n}}"),
                ("list, search (common word)", f"{g}/?group_type_index=0&search=technology"),
                ("list, deep cursor (middle)", f"{g}/?group_type_index=0&cursor={cursor}"),
                ("property_values (industry)", f"{g}/property_values?group_type_index=0&key=industry"),
            ]:
                out(run.fmt_row(name, run.Load(path, n=n, key=key).measure(srv, a)))
            out("")
        updates = bodies_for(token, a.seed + 1, n, BASE_TS + UPDATE_OFFSET)
        follower.acks.clear()
        t0 = time.time()
        post_timed(srv.base, updates, a.conns, follower.acks)
        res["update_rate"] = n / (time.time() - t0)
        del updates
        srv.wait_idle()
        time.sleep(1)
        res["update_stream"] = follower.take()
        after = sum(table_sizes(be).values()) - empty
        out(f"Updates of those groups (other values, later timestamps): **{res['update_rate']:,.0f} groups/s**; "
            f"database then {after / n:,.0f} bytes per group.\n")
        out(f"Change stream during the updates: {latency_line(res['update_stream'])}.\n")
        follower.stopping = True
    finally:
        srv.stop()
        be.drop()
    if a.import_groups:
        m = a.import_groups
        path = os.path.join(tmp, "import.ndjson")
        import_ndjson(path, m, a.seed)
        ib = run.Backend(kind, os.path.join(tmp, "imp"), a.pg_url, suffix="imp") if kind == "postgres" else None
        if ib is None:
            os.makedirs(os.path.join(tmp, "imp"))
            ib = run.Backend(kind, os.path.join(tmp, "imp"), a.pg_url)
        try:
            project = run.cli(ib.url, "project", "create", "--name", "import")["id"]
            t0 = time.time()
            done = subprocess.run([run.BIN, "import", "--project", str(project), path, "--database", ib.url],
                                  capture_output=True, text=True, env=dict(os.environ, RUST_LOG="warn"))
            secs = time.time() - t0
            if done.returncode != 0:
                raise SystemExit(f"import failed: {done.stderr[-500:]}")
            reply = json.loads(done.stdout.strip().splitlines()[-1])
            res["import_rate"] = m / secs
            out(f"Import (`groupd import`, {m:,} `$set` lines of NDJSON, {os.path.getsize(path) / 2**20:,.0f} MiB, "
                f"into an empty database): {secs:,.1f} s, **{m / secs:,.0f} groups/s** "
                f"(imported {reply['imported']:,}, failed {len(reply['failed'])}).\n")
        finally:
            ib.drop()
    shutil.rmtree(tmp, ignore_errors=True)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--groups", type=int, default=100_000)
    ap.add_argument("--import-groups", type=int, default=None, help="lines imported (default: --groups; 0 = skip)")
    ap.add_argument("--conns", type=int, default=4)
    ap.add_argument("--reads", action="store_true", help="also the read scenarios of run.py at that size")
    ap.add_argument("--duration", type=int, default=8, help="seconds per read scenario (closed loop)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--log-level", default="warn")
    ap.add_argument("--out", default=None, help="also write the report to this file")
    ap.add_argument("--bin", default=None, help="the groupd binary (default: the release build)")
    a = ap.parse_args()
    if a.bin:
        run.BIN = a.bin
    if a.import_groups is None:
        a.import_groups = a.groups
    if not os.path.exists(run.BIN):
        raise SystemExit(f"no release build at {run.BIN}: cargo build --release -p groupd -p groupd-loadgen")
    lines = []
    out = lambda s="": (print(s, flush=True), lines.append(s))
    out(f"# Ingestion, size and change stream ({a.groups:,} groups, seed {a.seed})\n")
    for i, kind in enumerate(a.backends.split(",")):
        run_backend(kind, a, out, 19000 + (os.getpid() + i) % 1000)
    if a.out:
        with open(a.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
