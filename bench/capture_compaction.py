#!/usr/bin/env python3
"""Capture throughput with compaction idle and with it running (issue 11's target: batches of 100,
running ≥ 0.8 × idle and ≥ 250k events/s).

    cargo build --release -p groupd && python3 bench/capture_compaction.py   # both backends

Each mode gets a fresh database and server. "idle" turns compaction off; "running" compacts every
second with no minimum age, so the compactor moves events into segments throughout the load. Both
modes run `rounds` closed-loop wrk runs of `duration` seconds, alternating, and report the median
events/s. The figure for "running" is only reported if the compactor really moved events during
its runs (rows in the segment catalog before and after).
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(__file__))
import gen  # noqa: E402
from run import BIN, Load, Server, cli, psql  # noqa: E402

MODES = {
    "idle": ["--compaction-interval-secs", "0"],
    "running": ["--compaction-interval-secs", "1", "--compaction-min-age-secs", "0"],
}


def segment_rows(kind, url):
    sql = "SELECT COALESCE(SUM(rows), 0) FROM event_segments"
    if kind == "sqlite":
        out = subprocess.run(["sqlite3", url.removeprefix("sqlite://"), sql], capture_output=True, text=True)
        return int(out.stdout.strip() or 0)
    return int(psql(url, sql) or 0)


def run(kind, a):
    tmp = tempfile.mkdtemp(prefix="groupd-capcomp-")
    servers, rows = {}, {}
    try:
        for i, (mode, flags) in enumerate(MODES.items()):
            if kind == "sqlite":
                url = f"sqlite://{tmp}/{mode}.db"
            else:
                url = f"{a.pg_url}/groupd_capcomp_{mode}"
                subprocess.run(["psql", f"{a.pg_url}/postgres", "-qc", f"DROP DATABASE IF EXISTS groupd_capcomp_{mode}"], check=True)
                subprocess.run(["psql", f"{a.pg_url}/postgres", "-qc", f"CREATE DATABASE groupd_capcomp_{mode}"], check=True)
            token = cli(url, "project", "create", "--name", "bench")["api_token"]
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            body = json.dumps({"api_key": token, "batch": [
                {"event": "$pageview", "distinct_id": f"user-{j}", "timestamp": now,
                 "properties": {"$groups": {"company": gen.group_key(j)}, "$current_url": f"https://app.example.com/p/{j}", "$lib": "bench"}}
                for j in range(100)]})
            path = os.path.join(tmp, f"{mode}.json")
            open(path, "w").write(body)
            extra = flags + (["--data-dir", os.path.join(tmp, f"{mode}-segments")] if kind == "postgres" else [])
            servers[mode] = (Server(url, a.port + i, "warn", extra), url, path)
        results = {m: [] for m in MODES}
        for _ in range(a.rounds):
            for mode, (srv, url, path) in servers.items():
                before = segment_rows(kind, url)
                r = Load("/batch/", body_file=path).wrk(srv, a.duration, a.conns)
                moved = segment_rows(kind, url) - before
                results[mode].append(r["rps"] * 100)
                rows.setdefault(mode, []).append(moved)
                print(f"{kind} {mode}: {r['rps'] * 100:,.0f} events/s, p99 {r['p99']:.1f} ms, "
                      f"{moved:,} events compacted meanwhile, CPU {r['cpu']:.0f}%", file=sys.stderr)
        med = {m: sorted(v)[len(v) // 2] for m, v in results.items()}
        return med, rows
    finally:
        for srv, _, _ in servers.values():
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--port", type=int, default=18611)
    a = ap.parse_args()
    print(f"groupd: {BIN}")
    print("| backend | idle events/s | running events/s | running ÷ idle | events compacted during the running runs |")
    print("|---|---:|---:|---:|---:|")
    for kind in a.backends.split(","):
        med, rows = run(kind, a)
        print(f"| {kind} | {med['idle']:,.0f} | {med['running']:,.0f} | {med['running'] / med['idle']:.2f} | "
              f"{sum(rows['running']):,} |")


if __name__ == "__main__":
    main()
