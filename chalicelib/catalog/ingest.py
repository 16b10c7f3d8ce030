"""Ingestion: products from a DummyJSON-compatible API, a JSON file or a list, upserted by their
source id in batches and indexed in bulk.

- A URL is read page by page (`limit`/`skip`, answers `{"products": [...], "total": n}`);
  each page is cached on disk under the SHA-256 of its URL and read from there before any
  call goes out, so a second run (or a run after a network failure) costs no requests.
- Per page: one BatchGetItem of what is stored; a record whose content is stored already is
  left alone (so running twice writes nothing the second time); the others are checked
  against the product schema (a bad one is reported and skipped, not fatal) and written with
  BatchWriteItem, then indexed in one bulk request. The table's stream then finds those
  versions already indexed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from chalicelib import schemas
from chalicelib.catalog.indexer import ProductIndex, write_of_product
from chalicelib.catalog.products import CatalogStorage, Category, Product, StoredProduct, category_name
from chalicelib.errors import BadRequest
from chalicelib.jsonlog import get_logger

PAGE_SIZE = 100
WORKERS = 4
MAX_PAGES = 10_000
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
DEFAULT_CACHE_DIR = Path(tempfile.gettempdir()) / "serverless-platform-ingest"

log = get_logger("catalog")


@dataclass(frozen=True)
class BadRecord:
    position: int
    product_id: Any
    errors: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"position": self.position, "id": self.product_id, "errors": self.errors}


@dataclass
class IngestReport:
    source: str
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    indexed: int = 0
    index_failures: list[int] = field(default_factory=list)
    skipped: list[BadRecord] = field(default_factory=list)
    categories_created: list[str] = field(default_factory=list)
    pages: int = 0
    cache_hits: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "received": self.received,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "indexed": self.indexed,
            "index_failures": self.index_failures,
            "skipped": [bad.to_json() for bad in self.skipped],
            "categories_created": self.categories_created,
            "pages": self.pages,
            "cache_hits": self.cache_hits,
            "seconds": round(self.seconds, 3),
            "items_per_s": round(self.received / self.seconds, 1) if self.seconds else None,
        }


class HttpCache:
    """GET JSON through a directory of responses named by the hash of their URL.

    Fetches go through the webhooks' outbound guard (chalicelib/webhooks.py): public addresses
    only (unless `allow_private`), every redirect hop checked again. A failure says only that
    the URL could not be read, never why, so ingestion cannot map which ports are open."""

    def __init__(
        self, directory: Path = DEFAULT_CACHE_DIR, timeout_s: float = 20.0, allow_private: bool = False
    ) -> None:
        self.directory = Path(directory)
        self.timeout_s = timeout_s
        self.allow_private = allow_private
        self.hits = 0

    def path(self, url: str) -> Path:
        return self.directory / f"{hashlib.sha256(url.encode()).hexdigest()}.json"

    def get_json(self, url: str) -> Any:
        path = self.path(url)
        if path.exists():
            self.hits += 1
            return json.loads(path.read_bytes())
        raw = self._fetch(url)
        try:
            data = json.loads(raw)
        except ValueError:
            raise BadRequest(f"{url} did not answer JSON") from None
        self.directory.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader (or a crash) never sees half a page.
        fd, temporary = tempfile.mkstemp(dir=self.directory, suffix=".part")
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
        os.replace(temporary, path)
        return data

    def _fetch(self, url: str) -> bytes:
        from chalicelib import webhooks

        try:
            fetched = webhooks.fetch(
                url,
                headers={"Accept": "application/json", "User-Agent": "catalog-ingest"},
                timeout_s=self.timeout_s,
                max_bytes=MAX_RESPONSE_BYTES,
                allow_private=self.allow_private,
            )
        except webhooks.WebhookRefused as exc:
            raise BadRequest(f"{url} is not allowed: {exc}") from None
        except webhooks.WebhookFailed:
            raise BadRequest(f"{url} could not be read") from None
        if not 200 <= fetched.status < 300:
            raise BadRequest(f"{url} answered {fetched.status}")
        if len(fetched.body) > MAX_RESPONSE_BYTES:
            raise BadRequest(f"{url} answered more than {MAX_RESPONSE_BYTES} bytes")
        return fetched.body


def page_url(url: str, limit: int, skip: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("limit", "skip")]
    return urlunsplit(parts._replace(query=urlencode([*query, ("limit", limit), ("skip", skip)])))


def _products_of(data: Any, where: str) -> tuple[list[Any], int | None]:
    if isinstance(data, list):
        return data, len(data)
    if isinstance(data, dict) and isinstance(data.get("products"), list):
        total = data.get("total")
        return data["products"], total if isinstance(total, int) else None
    raise BadRequest(f"{where} is not DummyJSON: expected a list or an object with a products list")


def pages(source: str | list[Any], cache: HttpCache, page_size: int) -> Iterator[tuple[list[Any], int | None]]:
    """(records, total) per page of the source; total is None when the source does not say."""
    if isinstance(source, list):
        for start in range(0, len(source), page_size):
            yield source[start : start + page_size], len(source)
        return
    if source.startswith(("http://", "https://")):
        skip = 0
        for _ in range(MAX_PAGES):
            url = page_url(source, page_size, skip)
            records, total = _products_of(cache.get_json(url), url)
            if records:
                yield records, total
            skip += len(records)
            if not records or total is None or skip >= total:
                return
        raise BadRequest(f"{source} has more than {MAX_PAGES} pages")
    try:
        data = json.loads(Path(source).read_bytes())
    except OSError as exc:
        raise BadRequest(f"{source} cannot be read: {exc.strerror}") from None
    except ValueError:
        raise BadRequest(f"{source} is not JSON") from None
    records, _ = _products_of(data, source)
    yield from pages(records, cache, page_size)


def check_record(record: Any) -> list[str]:
    """Why a record cannot be a product; empty when it can."""
    if not isinstance(record, dict):
        return ["$: a product must be an object"]
    problems = [f"{e.path}: {e.message}" for e in schemas.field_errors("product", record)]
    if "id" not in record:
        problems.insert(0, "$.id: the source id is required")
    return problems


Progress = Callable[[int, int | None], None]


def has_source_id(record: Any) -> bool:
    return isinstance(record, dict) and type(record.get("id")) is int and record["id"] >= 1


class _KnownCategories:
    """The categories one run has made sure of, shared by its workers."""

    def __init__(self) -> None:
        self.slugs: set[str] = set()
        self.lock = threading.Lock()

    def missing(self, slugs: set[str]) -> set[str]:
        with self.lock:
            missing = slugs - self.slugs
            self.slugs |= missing
            return missing


@dataclass
class PageOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    indexed: int = 0
    index_failures: list[int] = field(default_factory=list)
    skipped: list[BadRecord] = field(default_factory=list)
    categories_created: list[str] = field(default_factory=list)


@dataclass
class _Pending:
    future: Future[PageOutcome]
    product_ids: set[int]
    received: int
    total: int | None


class Ingestor:
    """Pages are read in order here and upserted by a few workers at once: each page spends most
    of its time waiting on DynamoDB or OpenSearch, and the two answer in parallel."""

    def __init__(self, store: CatalogStorage, index: ProductIndex, cache: HttpCache, workers: int = WORKERS) -> None:
        self.store = store
        self.index = index
        self.cache = cache
        self.workers = workers

    def run(
        self, source: str | list[Any], page_size: int = PAGE_SIZE, progress: Progress | None = None
    ) -> IngestReport:
        started = time.perf_counter()
        hits_before = self.cache.hits
        report = IngestReport(source=source if isinstance(source, str) else f"{len(source)} products in the request")
        highest = 0
        pending: deque[_Pending] = deque()
        known = _KnownCategories()

        def finish_oldest() -> None:
            page = pending.popleft()
            outcome = page.future.result()
            report.created += outcome.created
            report.updated += outcome.updated
            report.unchanged += outcome.unchanged
            report.indexed += outcome.indexed
            report.index_failures += outcome.index_failures
            report.categories_created += outcome.categories_created
            report.skipped += outcome.skipped
            if progress is not None:
                progress(page.received, page.total)

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ingest") as pool:
            for records, total in pages(source, self.cache, page_size):
                report.pages += 1
                candidates = self._candidates(records, report)
                ids = set(candidates)
                # A product repeated in a page still in flight: let that page land first, so the
                # later record is written (and versioned) after it, as the source orders them.
                while any(ids & page.product_ids for page in pending):
                    finish_oldest()
                pending.append(_Pending(pool.submit(self._upsert, candidates, known), ids, report.received, total))
                highest = max([highest, *ids])
                while len(pending) > self.workers:
                    finish_oldest()
            while pending:
                finish_oldest()
        report.skipped.sort(key=lambda bad: bad.position)
        if highest:
            self.store.raise_product_ids_above(highest)
        report.cache_hits = self.cache.hits - hits_before
        report.seconds = time.perf_counter() - started
        return report

    @staticmethod
    def _candidates(records: list[Any], report: IngestReport) -> dict[int, tuple[int, dict[str, Any]]]:
        """The page's records that carry a source id, by id, with their positions in the source."""
        by_id: dict[int, tuple[int, dict[str, Any]]] = {}
        for record in records:
            position = report.received
            report.received += 1
            if not has_source_id(record):
                product_id = record.get("id") if isinstance(record, dict) else None
                problems = check_record(record) or ["$.id: the source id must be a positive integer"]
                report.skipped.append(BadRecord(position, product_id, problems))
                continue
            # A source repeating an id within a page: the later record wins, as it would across pages.
            by_id[record["id"]] = (position, record)
        return by_id

    def _upsert(self, candidates: dict[int, tuple[int, dict[str, Any]]], known: _KnownCategories) -> PageOutcome:
        outcome = PageOutcome()
        stored = self.store.stored(candidates)
        changed: list[tuple[Product, StoredProduct | None]] = []
        for product_id, (position, record) in candidates.items():
            product = Product.from_json(product_id, record)
            current = stored.get(product_id)
            if current is not None and not current.deleted and current.content_hash == product.content_hash():
                # The very record already stored, so it passed these checks when it was written.
                outcome.unchanged += 1
                continue
            problems = check_record(record)
            if problems:
                outcome.skipped.append(BadRecord(position, product_id, problems))
                continue
            changed.append((product, current))
            if current is None or current.deleted:
                outcome.created += 1
            else:
                outcome.updated += 1
        if not changed:
            return outcome
        missing = known.missing({product.category for product, _ in changed})
        if missing:
            outcome.categories_created = self.store.ensure_categories(
                Category(slug, category_name(slug)) for slug in sorted(missing)
            )
        written = self.store.write_products(changed)
        try:
            failed = self.index.apply(write_of_product(product, deleted=False) for product in written)
        except Exception:
            # The writes are committed; the table's stream indexes them when search is back.
            log.exception("bulk indexing failed", extra={"products": len(written)})
            failed = {product.id for product in written}
        outcome.indexed = len(written) - len(failed)
        outcome.index_failures = sorted(failed)
        return outcome
