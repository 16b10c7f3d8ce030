"""`make ingest SOURCE=<url or file>`: load products into the running local cloud's catalog.

    python -m devstack.ingest https://dummyjson.com/products
    python -m devstack.ingest products.json --page-size 50

Asks the running stack (PORT, default 8000) where its services are, then runs the catalog's
ingestion in this process, with a progress bar. Pages of a URL are cached on disk by the
URL's hash (`--cache-dir`), so a second run makes no requests; running it twice creates no
duplicates. Bad records are listed and skipped.
"""

from __future__ import annotations

import argparse
import json
import sys

from devstack.client import connect

BAR_WIDTH = 30


def progress_bar(done: int, total: int | None) -> None:
    if total:
        filled = min(BAR_WIDTH, BAR_WIDTH * done // total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} products")
    else:
        sys.stderr.write(f"\r{done} products")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="a DummyJSON-compatible URL (paged with limit/skip) or a JSON file")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--cache-dir", default=None, help="where fetched pages are kept (default: a temp dir)")
    args = parser.parse_args(argv)
    if not connect():
        return 1
    from chalicelib.catalog.container import catalog
    from chalicelib.errors import DomainError

    try:
        report = catalog().ingestor(args.cache_dir).run(args.source, page_size=args.page_size, progress=progress_bar)
    except DomainError as exc:
        print(f"\n{exc.detail}", file=sys.stderr)
        return 1
    sys.stderr.write("\n")
    summary = report.to_json()
    for bad in summary["skipped"]:
        print(f"skipped record #{bad['position']} (id {bad['id']}): {'; '.join(bad['errors'])}", file=sys.stderr)
    print(
        json.dumps(
            {name: value for name, value in summary.items() if name != "skipped"}
            | {"skipped": len(summary["skipped"])},
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
