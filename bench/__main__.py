"""`make bench`: run every benchmark and print its table; `make bench BENCH="search orders"` (or
`python -m bench search orders`) runs only the named ones. `scale` runs only when named."""

import os
import sys

from bench import (
    bookings,
    catalog_http,
    inventory_stock,
    monitoring,
    orders_checkout,
    pages,
    procurement_bulk,
    scale,
    search,
    statistics_queries,
    worker,
)

BENCHES = {
    "catalog": catalog_http.main,
    "inventory": inventory_stock.main,
    "orders": orders_checkout.main,
    "search": search.main,
    "procurement": procurement_bulk.main,
    "worker": worker.main,
    "statistics": statistics_queries.main,
    "bookings": bookings.main,
    "pages": pages.main,
    "monitoring": monitoring.main,
    "scale": scale.main,
}

if __name__ == "__main__":
    # `scale` fills the database it is given (half an hour at full scale): only when named
    names = sys.argv[1:] or os.environ.get("BENCH", "").split() or [n for n in BENCHES if n != "scale"]
    unknown = [name for name in names if name not in BENCHES]
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    for name in names:
        BENCHES[name]()
