"""The chdb half of the oracle test (crates/groupd/tests/api/oracle.rs): reads
{"events": [capture events], "queries": [ClickHouse SQL]} on stdin, loads the events the way
groupd stores them (chtables.py), answers each query, and prints one JSON list:
{"rows": [...]} or {"error": "..."} per query."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chtables  # noqa: E402


def main():
    req = json.load(sys.stdin)
    sess = chtables.load(req["events"])
    out = []
    for q in req["queries"]:
        try:
            out.append({"rows": chtables.run(sess, q)})
        except Exception as e:  # reported per query; the test decides
            out.append({"error": str(e).split("\n")[0][:500]})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
