"""Opens the store a URL names (the server's `--store` option and LATTICEWORK_STORE):

- nothing: SQLite at STATE_DIR/latticework.db (the default);
- `sqlite:PATH`, `sqlite:///ABSOLUTE/PATH`, `sqlite::memory:`: SQLite there;
- `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME&...]` (or `postgres://`): PostgreSQL, any
  libpq URL parameter allowed; `schema` keeps the tables in that schema, created when missing.

psycopg is imported only for a PostgreSQL URL, so the default needs nothing beyond the base install. Parsing is
pure (`store_location`); only `open_store` connects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from latticework.control.store import Store

__all__ = ["StoreLocation", "StoreUnavailableError", "open_store", "redact", "store_location"]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_USAGE = "expected postgresql://USER@HOST[:PORT]/DATABASE[?schema=NAME], sqlite:PATH or sqlite::memory:"


class StoreUnavailableError(RuntimeError):
    """The store a URL names cannot be opened: its driver is missing or its server does not answer."""


@dataclass(frozen=True, slots=True)
class StoreLocation:
    engine: Literal["sqlite", "postgresql"]
    target: str  # a file path or ":memory:" for SQLite, the libpq URL for PostgreSQL


def store_location(url: str | None, state_dir: Path) -> StoreLocation:
    """Where a store URL points; raises ValueError with the accepted forms for anything else."""
    if not url:
        return StoreLocation("sqlite", str(state_dir / "latticework.db"))
    if url.startswith(_POSTGRES_SCHEMES):
        return StoreLocation("postgresql", url)
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:")
        path = path.removeprefix("//")  # URL form with an empty host: sqlite:///abs/path
        if not path:
            raise ValueError(f"the SQLite store URL {url!r} names no file; {_USAGE}")
        return StoreLocation("sqlite", path)
    raise ValueError(f"unsupported store URL {redact(url)!r}; {_USAGE}")


def open_store(url: str | None, state_dir: Path) -> Store:
    """The store `url` names (see the module docstring), opened and with its schema in place."""
    location = store_location(url, state_dir)
    if location.engine == "sqlite":
        from latticework.control.store.sqlite import SqliteStore

        return SqliteStore(location.target)
    try:
        import psycopg

        from latticework.control.store.postgres import PostgresStore
    except ImportError as exc:
        raise StoreUnavailableError("a postgresql:// store needs psycopg: pip install 'latticework[postgres]'") from exc
    try:
        return PostgresStore(location.target)
    except (psycopg.Error, ValueError) as exc:  # unreachable, refused, bad parameter, missing schema
        raise StoreUnavailableError(f"cannot open the store at {redact(location.target)}: {exc}") from exc


def redact(url: str) -> str:
    """The URL with its password (in the authority or as a `password=` parameter) replaced by ***, for logs."""
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:***@{hosts}"
    query = "&".join(
        "password=***" if piece.partition("=")[0] == "password" else piece for piece in parts.query.split("&")
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))
