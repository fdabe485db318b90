"""Runs every corpus twin on chdb (embedded ClickHouse) over the fixed dataset and writes the
answers groupd must give: crates/groupd/tests/fixtures/corpus/corpus.json.

Run: python3 tests/oracle/corpus_expected.py   (needs `pip install chdb`)
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import chtables  # noqa: E402
import corpus  # noqa: E402
import dataset  # noqa: E402

OUT = os.path.join(dataset.ROOT, "crates/groupd/tests/fixtures/corpus/corpus.json")


def main():
    session = chtables.load(dataset.events())
    entries = []
    for source, hogql, twin in corpus.CORPUS:
        entry = {"source": source, "query": hogql}
        if twin == corpus.UNSUPPORTED:
            entry["unsupported"] = True
        else:
            try:
                entry["expect"] = chtables.run(session, twin or hogql)
            except Exception as e:  # a twin to fix: say which
                print("TWIN FAILED:", hogql, "\n   ", str(e).split("\n")[0][:300])
                continue
        entries.append(entry)
    with open(OUT, "w") as f:
        json.dump(entries, f, indent=1)
        f.write("\n")
    print("%d entries, %d unsupported" % (len(entries), sum(1 for e in entries if e.get("unsupported"))))


if __name__ == "__main__":
    main()
