"""The tables groupd's HogQL reads, in chdb: what groupd stores for a capture batch (group types
in order of first sight, `$group_N` from `$groups`, groups from `$groupidentify`), with `now()`
pinned to groupd's test clock."""
import json
import uuid as uuidlib

from chdb import session as chs

T0 = "2026-06-01 00:00:00"
NOW = "toDateTime64('%s', 6, 'UTC')" % T0
GROUP_COLUMNS = 5


def ts(s):
    # '2026-05-01T10:00:00.123000Z' -> ClickHouse DateTime64 text.
    return s.replace("T", " ").replace("Z", "")


def esc(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def load(events):
    sess = chs.Session()
    cols = ", ".join("`$group_%d` String" % i for i in range(GROUP_COLUMNS))
    sess.query("CREATE TABLE events (uuid String, event String, distinct_id String, timestamp DateTime64(6, 'UTC'), "
               "created_at DateTime64(6, 'UTC'), properties String, %s) ENGINE = Memory" % cols)
    sess.query("CREATE TABLE groups (`index` Int64, key String, created_at DateTime64(6, 'UTC'), "
               "updated_at DateTime64(6, 'UTC'), properties String) ENGINE = Memory")
    types = {}
    groups = {}
    rows = []
    for e in events:
        p = e.get("properties", {})
        if e["event"] == "$groupidentify":
            t = p["$group_type"]
            types.setdefault(t, len(types))
            key = (types[t], p["$group_key"])
            g = groups.setdefault(key, {"props": {}, "created": ts(e["timestamp"])})
            g["props"].update(p.get("$group_set", {}))
        keys = [""] * GROUP_COLUMNS
        for t, k in (p.get("$groups") or {}).items():
            if t not in types:
                types[t] = len(types)
            keys[types[t]] = k
        rows.append("(%s, %s, %s, %s, %s, %s, %s)" % (
            esc(e.get("uuid") or str(uuidlib.uuid4())), esc(e["event"]), esc(e["distinct_id"]),
            esc(ts(e["timestamp"])), esc(T0), esc(json.dumps(p, separators=(",", ":"))),
            ", ".join(esc(k) for k in keys)))
    sess.query("INSERT INTO events VALUES " + ", ".join(rows))
    grows = ["(%d, %s, %s, %s, %s)" % (i, esc(k), esc(g["created"]), esc(T0), esc(json.dumps(g["props"])))
             for (i, k), g in groups.items()]
    sess.query("INSERT INTO groups VALUES " + ", ".join(grows))
    return sess


def run(sess, sql):
    sql = sql.replace("now()", NOW).replace("today()", "toDate(%s)" % NOW)
    settings = "output_format_json_quote_64bit_integers = 0, output_format_json_quote_64bit_floats = 0, join_use_nulls = 1"
    if " SETTINGS " in sql:
        sql = sql + ", " + settings
    else:
        sql = sql + " SETTINGS " + settings
    res = sess.query(sql, "JSONCompact")
    return json.loads(res.bytes())["data"]
