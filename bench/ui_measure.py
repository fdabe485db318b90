"""Web UI page weight and latency on many groups.

    python3 bench/ui_measure.py http://127.0.0.1:8000 phc_TOKEN phx_KEY 100000

Loads N groups of type `company` through /batch ($groupidentify, 1000 per request; 0 skips
loading), signs in to the UI with the key, then prints the list page's weight (HTML and assets,
raw and gzipped) and the median/max latency of the list page, live-search fragments, Load more,
a group's profile, its Events tab and a property save (10 runs each).
"""
import gzip, http.cookiejar, json, re, statistics, sys, time, urllib.parse, urllib.request

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

op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
op.open(urllib.request.Request(base + "/ui/login", data=urllib.parse.urlencode({"personal_api_key": key}).encode())).read()


def timed(path, data=None, headers=None):
    ts, body = [], b""
    for i in range(10):
        d = data(i) if data else None
        t = time.time()
        body = op.open(urllib.request.Request(base + path, data=d, headers=headers or {}), timeout=60).read()
        ts.append((time.time() - t) * 1000)
    return body, f"median {statistics.median(ts):.1f} ms, max {max(ts):.1f} ms"


page, lat = timed("/ui/projects/1/types/0")
assets = [op.open(base + f"/ui/assets/{a}").read() for a in ("htmx.min.js", "app.css", "app.js")]
raw = len(page) + sum(map(len, assets))
zipped = len(gzip.compress(page)) + sum(len(gzip.compress(a)) for a in assets)
print(f"list page: HTML {len(page) / 1024:.1f} KB + assets {sum(map(len, assets)) / 1024:.1f} KB = "
      f"{raw / 1024:.1f} KB ({zipped / 1024:.1f} KB gzipped); assets are cached a day")
print(f"list page: {lat}")
hx = {"HX-Request": "true"}
more = re.search(rb'hx-get="([^"]*fragment=more)"', page).group(1).decode().replace("&amp;", "&")
csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
for label, path, data in [
    ("search 'Company 4242'", "/ui/projects/1/types/0?fragment=rows&search=Company%204242", None),
    ("search 'pro'", "/ui/projects/1/types/0?fragment=rows&search=pro", None),
    ("load more", more, None),
    ("group profile", "/ui/projects/1/types/0/group?key=c054321", None),
    ("events tab", "/ui/projects/1/types/0/group?key=c054321&tab=events", None),
    ("save a property", "/ui/projects/1/types/0/group/property?key=c054321",
     lambda i: urllib.parse.urlencode({"csrf_token": csrf, "name": "seats", "value": str(100 + i)}).encode()),
]:
    _, lat = timed(path, data, hx if "fragment" in path else None)
    print(f"{label}: {lat}")
