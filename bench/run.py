#!/usr/bin/env python3
"""groupd benchmark driver: starts a release groupd on loopback, loads deterministic data, drives
each scenario with wrk, and writes bench/RESULTS.md.

    cargo build --release && python3 bench/run.py            # everything (about 10 minutes)
    python3 bench/run.py --sizes 10000 --duration 5         # a quick look

Every capture figure is paired with the same load against `POST /_bench/noop` on the same server
(same layers, no decoding, no storage): the machine's HTTP floor, run back to back so the ratio
holds on a noisy machine.
"""
import argparse, base64, http.client, json, os, platform, shutil, sqlite3, subprocess, sys, tempfile, threading, time, urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import gen  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "groupd")
LUA = os.path.join(ROOT, "bench", "lua")
CLK = os.sysconf("SC_CLK_TCK")


def cli(db, *args):
    out = subprocess.run([BIN, *args, "--database", db], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


class Server:
    def __init__(self, db, port, log_level):
        env = dict(os.environ, RUST_LOG=log_level)
        self.proc = subprocess.Popen([BIN, "serve", "--database", db, "--listen", f"127.0.0.1:{port}",
                                      "--enable-bench-routes"], env=env, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/_health")
                if c.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("groupd did not start")

    def cpu_seconds(self):
        f = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / CLK

    def peak_rss_mb(self):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def wrk(server, script, path, duration, conns, env):
    full_env = dict(os.environ, STATS_LUA=os.path.join(LUA, "stats.lua"), **env)
    cpu0, t0 = server.cpu_seconds(), time.time()
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{duration}s", "--timeout", "10s",
                          "-s", os.path.join(LUA, script), server.base + path],
                         capture_output=True, text=True, env=full_env)
    cpu = (server.cpu_seconds() - cpu0) / (time.time() - t0)
    line = next((l for l in out.stdout.splitlines() if l.startswith("GROUPD_STATS")), None)
    if line is None:
        raise SystemExit(f"wrk failed: {out.stdout}\n{out.stderr}")
    n, secs, p50, p99, p999, non2xx, sock = line.split()[1:]
    return {"rps": int(n) / float(secs), "p50": int(p50) / 1000, "p99": int(p99) / 1000,
            "p999": int(p999) / 1000, "non2xx": int(non2xx), "sockerr": int(sock),
            "cpu": cpu * 100, "rss": server.peak_rss_mb()}


def post_batches(base, token, batches, threads=2):
    """Posts lists of events as /batch requests from `threads` keep-alive connections."""
    u = urllib.parse.urlparse(base)
    it = iter(batches)
    lock = threading.Lock()

    def worker():
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        while True:
            with lock:
                b = next(it, None)
            if b is None:
                return
            body = json.dumps({"api_key": token, "batch": b})
            for _ in range(50):
                c.request("POST", "/batch/", body, {"Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
                if r.status == 200:
                    break
                if r.status != 503:
                    raise SystemExit(f"load failed: {r.status}")
                time.sleep(0.2)
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    [t.start() for t in ts]
    [t.join() for t in ts]


def db_bytes(path):
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def fmt_row(name, r, floor=None):
    ratio = f"{r['rps'] / floor['rps']:.2f}" if floor else ""
    extra = f" ({r['non2xx']} non-2xx)" if r["non2xx"] or r["sockerr"] else ""
    return (f"| {name} | {r['rps']:,.0f}{extra} | {ratio} | {r['p50']:.2f} | {r['p99']:.2f} | {r['p999']:.2f} "
            f"| {r['cpu']:.0f}% | {r['rss']:.0f} |")


HEADER = ("| scenario | req/s | × floor | p50 ms | p99 ms | p99.9 ms | server CPU | peak RSS MB |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--log-level", default="warn")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    if not os.path.exists(BIN):
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="groupd-bench-")
    path = os.path.join(tmp, "bench.db")
    db = f"sqlite://{path}"
    token = cli(db, "project", "create", "--name", "bench")["api_token"]
    key = cli(db, "key", "create", "--label", "bench", "--scopes", "*")["key"]
    srv = Server(db, 18000 + os.getpid() % 1000, a.log_level)
    lines = []
    out = lambda s="": (print(s, flush=True), lines.append(s))
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        out("# groupd benchmark results\n")
        out(f"Machine: {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.platform()}; load generator "
            f"(wrk -t2 -c{a.conns}, {a.duration} s per scenario) on the same cores. groupd release build, "
            f"SQLite backend, RUST_LOG={a.log_level}. Seed {a.seed}.\n")
        out("Regenerate: `cargo build --release && python3 bench/run.py` (options: `--sizes`, `--events`, "
            "`--duration`). Latencies are wrk's, end to end on loopback, at saturation (closed loop). "
            "How these figures compare with the targets and what bounds them: `ANALYSIS.md`.\n")

        # Capture, each paired with the floor.
        single = json.dumps({"api_key": token, "event": "$pageview", "distinct_id": "user-1",
                             "properties": {"$groups": {"company": "g0000001"}, "$current_url": "https://app.example.com/p/1",
                                            "$lib": "bench"}})
        batch = json.dumps({"api_key": token, "batch": [
            {"event": "$pageview", "distinct_id": f"user-{i}", "timestamp": "2026-05-01T00:00:00Z",
             "properties": {"$groups": {"company": gen.group_key(i)}, "$current_url": f"https://app.example.com/p/{i}", "$lib": "bench"}}
            for i in range(100)]})
        bodies = {}
        for name, text in (("single", single), ("batch", batch)):
            p = os.path.join(tmp, f"{name}.json")
            open(p, "w").write(text)
            bodies[name] = p
        out("## Capture (durable: answered after commit)\n")
        out(HEADER)
        res = {}
        for name in ("single", "batch"):
            env = {"BODY_FILE": bodies[name]}
            floor = wrk(srv, "post.lua", "/_bench/noop", a.duration, a.conns, env)
            cap = wrk(srv, "post.lua", "/e/" if name == "single" else "/batch/", a.duration, a.conns, env)
            res[name] = (floor, cap)
            out(fmt_row(f"floor: no-op, {name} body", floor))
            out(fmt_row(f"capture, {'single event' if name == 'single' else 'batch of 100'}", cap, floor))
        f, c = res["batch"]
        out(f"\nBatches of 100: **{c['rps'] * 100:,.0f} durable events/s** (floor {f['rps'] * 100:,.0f} events/s).\n")

        # Groups at growing sizes.
        loaded = 0
        for size in sizes:
            t0 = time.time()
            step = 1000
            post_batches(srv.base, token, (gen.groupidentify_events(a.seed, s, min(step, size - s)) for s in range(loaded, size, step)))
            load_s = time.time() - t0
            loaded = size
            conn = sqlite3.connect(path)
            mid = conn.execute("SELECT created_at, group_key FROM groups WHERE group_type_index = 0 "
                               "ORDER BY created_at DESC, group_key DESC LIMIT 1 OFFSET ?", (size // 2,)).fetchone()
            conn.close()
            cursor = base64.urlsafe_b64encode(json.dumps({"c": mid[0], "k": mid[1]}).encode()).decode()
            out(f"## Groups: {size:,} of one type\n")
            out(f"Loaded through capture (`$groupidentify`, 1000 per request) at {(size - (loaded - size if False else 0)) / max(load_s, 1e-9):,.0f} groups/s "
                f"for this step; database now {db_bytes(path) / 2**20:,.0f} MiB.\n")
            out(HEADER)
            env = {"KEY": key, "N": str(size)}
            scen = [
                ("find by key", "get_random.lua", "/", {"PATH_TEMPLATE": "/api/projects/1/groups/find?group_type_index=0&group_key=g{n}"}),
                ("list, first page", "get.lua", "/api/projects/1/groups/?group_type_index=0", {}),
                ("list, search (rare: one key)", "get_random.lua", "/", {"PATH_TEMPLATE": "/api/projects/1/groups/?group_type_index=0&search=g{n}"}),
                ("list, search (common word)", "get.lua", "/api/projects/1/groups/?group_type_index=0&search=technology", {}),
                ("list, deep cursor (middle)", "get.lua", f"/api/projects/1/groups/?group_type_index=0&cursor={cursor}", {}),
                ("property_values (industry)", "get.lua", "/api/projects/1/groups/property_values?group_type_index=0&key=industry", {}),
            ]
            for name, script, p, extra in scen:
                out(fmt_row(name, wrk(srv, script, p, a.duration, a.conns, {**env, **extra})))
            out("")
        groups_bytes = db_bytes(path)

        # Events and the query endpoint.
        if a.events:
            t0 = time.time()
            post_batches(srv.base, token, (gen.events(a.seed, s, min(1000, a.events - s), loaded) for s in range(0, a.events, 1000)))
            load_s = time.time() - t0
            events_bytes = db_bytes(path) - groups_bytes
            out(f"## Query endpoint over {a.events:,} events\n")
            out(f"Events loaded through /batch (1000 per request) at {a.events / load_s:,.0f} events/s.\n")
            q = "SELECT group_0.properties.industry, count() FROM events GROUP BY 1 ORDER BY 2 DESC LIMIT 20"
            times = []
            for _ in range(5):
                c = http.client.HTTPConnection("127.0.0.1", urllib.parse.urlparse(srv.base).port, timeout=120)
                t0 = time.time()
                c.request("POST", "/api/projects/1/query/", json.dumps({"query": {"kind": "HogQLQuery", "query": q}}),
                          {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
                r = c.getresponse()
                body = r.read()
                times.append((time.time() - t0) * 1000)
                if r.status != 200:
                    raise SystemExit(f"query failed: {body[:300]}")
            times.sort()
            out(f"`{q}`: median {times[2]:,.0f} ms, min {times[0]:,.0f} ms, max {times[-1]:,.0f} ms (5 runs).\n")
        else:
            events_bytes = 0
        out("## Size and memory\n")
        out(f"- Peak RSS of the server over the whole run: {srv.peak_rss_mb():,.0f} MB.")
        out(f"- Database: {groups_bytes / 2**20 / (loaded / 1e6):,.0f} MiB per million groups (capture events of the "
            f"capture scenarios included)" + (f"; {events_bytes / 2**20 / (a.events / 1e6):,.0f} MiB per million events." if a.events else "."))
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
