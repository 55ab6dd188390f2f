"""`make bench`: run every benchmark and print its table."""

from bench import catalog_http

if __name__ == "__main__":
    catalog_http.main()
