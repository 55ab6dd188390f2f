"""`make bench`: run every benchmark and print its table. `BENCH_ONLY=search make bench` (or
`python -m bench search`) runs only the named ones: catalog, search."""

import os
import sys

from bench import catalog_http, search

BENCHES = {"catalog": catalog_http.main, "search": search.main}

if __name__ == "__main__":
    chosen = sys.argv[1:] or [b for b in os.environ.get("BENCH_ONLY", "").split(",") if b] or list(BENCHES)
    for name in chosen:
        BENCHES[name]()
