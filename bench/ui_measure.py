"""Web UI page weight and latency on many groups.

    python3 bench/ui_measure.py http://127.0.0.1:8000 phc_TOKEN phx_KEY 100000

Loads N groups of type `company` through /batch ($groupidentify, 1000 per request; 0 skips
loading), signs in to the UI with the key, then prints the list page's weight (HTML and assets:
bytes on the wire as a browser asking for gzip gets them, and uncompressed) and the median/max
latency of every page and interaction: the list, live-search fragments, Load more, a group's
profile and each of its tabs, the create form, the SQL page and a query run, settings, and a
property save (10 runs each). With EVENTS=M in the environment it also sends M events of 200
distinct_ids spread over the last 30 days, a fifth of them to the measured group c054321 and the
rest spread over the others. WAIT=S waits S seconds before measuring (compaction runs every 20 s
and moves events older than 10 s into segments; without a wait they are measured in the hot tail).
"""
import gzip, http.cookiejar, json, os, re, statistics, sys, time, urllib.parse, urllib.request

base, token, key, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if n:
    t = time.time()
    for start in range(0, n, 1000):
        batch = [{"event": "$groupidentify", "distinct_id": "loader", "timestamp": "2026-11-01T00:00:00Z",
                  "properties": {"$group_type": "company", "$group_key": f"c{i:06d}",
                                 "$group_set": {"name": f"Company {i}", "plan": ["free", "pro"][i % 2], "seats": i % 500}}}
                 for i in range(start, min(n, start + 1000))]
        req = urllib.request.Request(base + "/batch/", data=json.dumps({"api_key": token, "batch": batch}).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=120).read()
    print(f"loaded {n} groups in {time.time() - t:.1f} s")
m = int(os.environ.get("EVENTS", "0"))
if m:
    t, now = time.time(), time.time()
    for start in range(0, m, 1000):
        batch = [{"event": ["$pageview", "signed_up", "api_call"][i % 3], "distinct_id": f"u{i % 200}",
                  "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - (i * 7919 % (30 * 86400)))),
                  "properties": {"$groups": {"company": "c054321" if i % 5 == 0 else f"c{i * 7919 % max(n, 1):06d}"}}}
                 for i in range(start, min(m, start + 1000))]
        req = urllib.request.Request(base + "/batch/", data=json.dumps({"api_key": token, "batch": batch}).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=120).read()
    print(f"sent {m} events in {time.time() - t:.1f} s")
wait = int(os.environ.get("WAIT", "0"))
if wait:
    print(f"waiting {wait} s (compaction moves the events into segments meanwhile)")
    time.sleep(wait)

op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
op.open(urllib.request.Request(base + "/ui/login", data=urllib.parse.urlencode({"personal_api_key": key}).encode())).read()


GZ = {"Accept-Encoding": "gzip"}


def fetch(path, data=None, headers=None):
    """The body (decoded) and the bytes on the wire, asking for gzip as browsers do."""
    r = op.open(urllib.request.Request(base + path, data=data, headers={**GZ, **(headers or {})}), timeout=60)
    wire = r.read()
    body = gzip.decompress(wire) if r.headers.get("Content-Encoding") == "gzip" else wire
    return body, len(wire)


def timed(path, data=None, headers=None):
    ts, body = [], b""
    for i in range(10):
        d = data(i) if data else None
        t = time.time()
        body, _ = fetch(path, d, headers)
        ts.append((time.time() - t) * 1000)
    return body, f"median {statistics.median(ts):.1f} ms, max {max(ts):.1f} ms"


page, lat = timed("/ui/projects/1/types/0")
_, page_wire = fetch("/ui/projects/1/types/0")
assets = [fetch(f"/ui/assets/{a}") for a in ("htmx.min.js", "app.css", "app.js")]
raw = len(page) + sum(len(a) for a, _ in assets)
wire = page_wire + sum(w for _, w in assets)
print(f"list page first load: {wire / 1024:.1f} KB transferred (HTML {page_wire / 1024:.1f} KB + assets "
      f"{sum(w for _, w in assets) / 1024:.1f} KB), {raw / 1024:.1f} KB uncompressed; assets are cached a day")
print(f"list page: {lat}")
hx = {"HX-Request": "true"}
more = re.search(rb'hx-get="([^"]*fragment=more)"', page).group(1).decode().replace("&amp;", "&")
csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
g = "/ui/projects/1/types/0/group?key=c054321"
sql = urllib.parse.quote("SELECT event, count() FROM events GROUP BY event ORDER BY count() DESC LIMIT 10")
for label, path, data in [
    ("search 'Company 4242'", "/ui/projects/1/types/0?fragment=rows&search=Company%204242", None),
    ("search 'pro'", "/ui/projects/1/types/0?fragment=rows&search=pro", None),
    ("load more", more, None),
    ("group profile (properties)", g, None),
    ("properties filter", g + "&filter=plan", None),
    ("history tab", g + "&tab=history", None),
    ("events tab", g + "&tab=events", None),
    ("events tab (a quiet group)", "/ui/projects/1/types/0/group?key=c000007&tab=events", None),
    ("usage tab", g + "&tab=usage", None),
    ("related tab", g + "&tab=related", None),
    ("create form", "/ui/projects/1/types/0/new", None),
    ("sql page", "/ui/projects/1/sql", None),
    ("sql run (events by name)", "/ui/projects/1/sql?q=" + sql, None),
    ("settings", "/ui/projects/1/settings", None),
    ("save a property", "/ui/projects/1/types/0/group/property?key=c054321",
     lambda i: urllib.parse.urlencode({"csrf_token": csrf, "name": "seats", "value": str(100 + i)}).encode()),
]:
    _, lat = timed(path, data, hx if "fragment" in path else None)
    print(f"{label}: {lat}")
