"""The store contract: SQLite (file and :memory:) and PostgreSQL behave the same through the `Store` ABC. Plus
what only shared stores show (replicas see each other and take turns), PostgreSQL specifics (NOTIFY, reconnect,
schema selection), the store URL parsing, and two real `latticework server --store postgresql://...` replicas
creating services at once.

PostgreSQL: LATTICEWORK_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/test); each test gets its
own schema, dropped afterwards, so tests run in parallel.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from latticework.control.store import Record, Store
from latticework.control.store.factory import (
    StoreLocation,
    StoreUnavailableError,
    open_store,
    redact,
    store_location,
)
from latticework.control.store.sqlite import SqliteStore
from postgres_kit import PG_BASE, admin

ACCOUNT, REGION = "111122223333", "us-west-2"

Opener = Callable[[], Store]


# --- fixtures ---------------------------------------------------------------------------------------------------


def _backend_pids(pg_schema: str) -> list[int]:
    rows = admin("SELECT pid FROM pg_stat_activity WHERE application_name = %s", f"lw_{pg_schema}")
    return [int(pid) for (pid,) in rows]


class _Opened:
    """Opens one store location (of the given engine) as often as a test asks; closes them all at the end."""

    def __init__(self, request: pytest.FixtureRequest, tmp_path: Path, engine: str) -> None:
        self.tmp_path = tmp_path
        self.location = {
            "sqlite-file": lambda: "sqlite:" + str(tmp_path / "state" / "latticework.db"),
            "sqlite-memory": lambda: "sqlite::memory:",
            "postgres": lambda: str(request.getfixturevalue("pg_url")),
        }[engine]()
        self.stores: list[Store] = []

    def __call__(self) -> Store:
        self.stores.append(open_store(self.location, self.tmp_path))
        return self.stores[-1]

    def close(self) -> None:
        for store in self.stores:
            store.close()


ALL = ["sqlite-file", "sqlite-memory", pytest.param("postgres", marks=pytest.mark.postgres)]
SHARED = ["sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=ALL)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """One open store of each implementation."""
    opened = _Opened(request, tmp_path, request.param)
    yield opened()
    opened.close()


@pytest.fixture(params=SHARED)
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the same durable store again (a restart, or another replica)."""
    opened = _Opened(request, tmp_path, request.param)
    yield opened
    opened.close()


def rec(
    id: str,
    *,
    kind: str = "service",
    name: str | None = None,
    parent: str | None = None,
    ref: str | None = None,
    account: str = ACCOUNT,
    region: str = REGION,
    doc: dict[str, Any] | None = None,
) -> Record:
    arn = f"arn:aws:vpc-lattice:{region}:{account}:{kind}/{id}"
    return Record(kind, account, region, id, arn, doc or {"id": id}, name, parent, ref)


def put_all(store: Store, *records: Record) -> list[Record]:
    with store.transaction() as tx:
        return [tx.put(record) for record in records]


def ids(records: list[Record]) -> list[str]:
    return [record.id for record in records]


# --- reads and writes -------------------------------------------------------------------------------------------


def test_put_assigns_increasing_seq_and_get_returns_the_same_record(store: Store) -> None:
    first, second = put_all(store, rec("svc-1", name="one", doc={"a": 1}), rec("svc-2", name="two"))
    assert 0 < first.seq < second.seq
    with store.transaction() as tx:
        got = tx.get("service", ACCOUNT, REGION, "svc-1")
    assert got == Record("service", ACCOUNT, REGION, "svc-1", first.arn, {"a": 1}, "one", None, None, first.seq)


@pytest.mark.parametrize(
    ("kind", "account", "region", "id"),
    [
        ("servicenetwork", ACCOUNT, REGION, "svc-1"),
        ("service", "999988887777", REGION, "svc-1"),
        ("service", ACCOUNT, "eu-west-1", "svc-1"),
        ("service", ACCOUNT, REGION, "svc-2"),
    ],
)
def test_get_is_keyed_by_kind_account_region_and_id(
    store: Store, kind: str, account: str, region: str, id: str
) -> None:
    put_all(store, rec("svc-1"))
    with store.transaction() as tx:
        assert tx.get(kind, account, region, id) is None


def test_get_by_arn_finds_the_record_and_nothing_for_an_unknown_arn(store: Store) -> None:
    (record,) = put_all(store, rec("svc-1", name="one"))
    with store.transaction() as tx:
        found = tx.get_by_arn(record.arn)
        assert found is not None
        assert (found.id, found.seq) == ("svc-1", record.seq)
        assert tx.get_by_arn(record.arn + "x") is None


@pytest.mark.parametrize("column", ["name", "parent", "ref"])
def test_find_filters_by_each_indexed_column(store: Store, column: str) -> None:
    put_all(
        store,
        rec("r-1", **{column: "x"}),
        rec("r-2", **{column: "y"}),
        rec("r-3", **{column: "x"}),
        rec("r-4"),
        rec("r-5", kind="listener", **{column: "x"}),
        rec("r-6", account="999988887777", **{column: "x"}),
        rec("r-7", region="eu-west-1", **{column: "x"}),
    )
    with store.transaction() as tx:
        assert ids(tx.find("service", ACCOUNT, REGION, **{column: "x"})) == ["r-1", "r-3"]
        assert ids(tx.find("service", ACCOUNT, REGION, **{column: "y"})) == ["r-2"]
        assert tx.find("service", ACCOUNT, REGION, **{column: "z"}) == []
        assert ids(tx.find("service", ACCOUNT, REGION)) == ["r-1", "r-2", "r-3", "r-4"]


def test_find_combines_filters(store: Store) -> None:
    put_all(
        store,
        rec("a", parent="p1", ref="r1"),
        rec("b", parent="p1", ref="r2"),
        rec("c", parent="p2", ref="r1"),
        rec("d", parent="p1", ref="r1", name="n"),
    )
    with store.transaction() as tx:
        assert ids(tx.find("service", ACCOUNT, REGION, parent="p1", ref="r1")) == ["a", "d"]
        assert ids(tx.find("service", ACCOUNT, REGION, parent="p1", ref="r1", name="n")) == ["d"]


def test_find_is_in_creation_order_and_pages_with_after_and_limit(store: Store) -> None:
    # ids sort the other way round from creation, so the order can only come from seq
    records = put_all(store, *(rec(f"z{9 - i}", parent="p") for i in range(7)))
    expected = [r.id for r in records]
    with store.transaction() as tx:
        assert ids(tx.find("service", ACCOUNT, REGION, parent="p")) == expected
        first = tx.find("service", ACCOUNT, REGION, parent="p", limit=3)
        assert ids(first) == expected[:3]
        second = tx.find("service", ACCOUNT, REGION, parent="p", after=first[-1].seq, limit=3)
        assert ids(second) == expected[3:6]
        rest = tx.find("service", ACCOUNT, REGION, parent="p", after=second[-1].seq, limit=3)
        assert ids(rest) == expected[6:]
        assert tx.find("service", ACCOUNT, REGION, parent="p", after=records[-1].seq) == []
        assert tx.find("service", ACCOUNT, REGION, parent="p", limit=0) == []


def test_count_by_kind_parent_and_ref(store: Store) -> None:
    put_all(
        store,
        rec("a", parent="p1", ref="r1"),
        rec("b", parent="p1", ref="r2"),
        rec("c", parent="p2", ref="r1"),
        rec("d", kind="listener", parent="p1"),
        rec("e", region="eu-west-1", parent="p1"),
    )
    with store.transaction() as tx:
        assert tx.count("service", ACCOUNT, REGION) == 3
        assert tx.count("service", ACCOUNT, REGION, parent="p1") == 2
        assert tx.count("service", ACCOUNT, REGION, ref="r1") == 2
        assert tx.count("service", ACCOUNT, REGION, parent="p1", ref="r2") == 1
        assert tx.count("listener", ACCOUNT, REGION, parent="p2") == 0
        assert tx.count("targetgroup", ACCOUNT, REGION) == 0


def test_put_of_a_stored_record_updates_it_in_place_and_keeps_its_seq(store: Store) -> None:
    first, second = put_all(store, rec("a", name="old", parent="p"), rec("b", parent="p"))
    first.doc = {"status": "ACTIVE", "n": 2}
    first.name, first.parent, first.ref, first.arn = "new", "q", "r", first.arn + "/moved"
    with store.transaction() as tx:
        updated = tx.put(first)
    assert updated.seq == first.seq
    with store.transaction() as tx:
        got = tx.get("service", ACCOUNT, REGION, "a")
        assert got is not None
        assert (got.doc, got.name, got.parent, got.ref, got.arn, got.seq) == (
            {"status": "ACTIVE", "n": 2},
            "new",
            "q",
            "r",
            first.arn,
            first.seq,
        )
        assert ids(tx.find("service", ACCOUNT, REGION)) == ["a", "b"]  # still first in creation order
        assert tx.find("service", ACCOUNT, REGION, parent="p") == [second]
        assert tx.get_by_arn(first.arn.removesuffix("/moved")) is None


def test_delete_removes_only_that_record(store: Store) -> None:
    first, _ = put_all(store, rec("a", parent="p"), rec("b", parent="p"))
    with store.transaction() as tx:
        tx.delete(first)
    with store.transaction() as tx:
        assert tx.get("service", ACCOUNT, REGION, "a") is None
        assert tx.get_by_arn(first.arn) is None
        assert ids(tx.find("service", ACCOUNT, REGION, parent="p")) == ["b"]
        assert tx.count("service", ACCOUNT, REGION, parent="p") == 1


def test_a_deleted_id_can_be_created_again_with_a_later_seq(store: Store) -> None:
    (first,) = put_all(store, rec("a"))
    with store.transaction() as tx:
        tx.delete(first)
    (again,) = put_all(store, rec("a", doc={"second": True}))
    assert again.seq > first.seq


def test_document_round_trips_exactly(store: Store) -> None:
    doc = {
        "zeta": 1,
        "alpha": [1, 2.5, [3, {"deep": [None, True, False]}], "x"],
        "float": 1e20,  # JSONB would hand this back as an int
        "small": 5e-324,
        "precise": 0.1 + 0.2,
        "negativeZero": -0.0,
        "bigInt": 2**62 + 1,
        "unicode": 'crème brûlée 東京 🚀 \u0000 \\ "quoted"',
        "empty": {},
        "emptyList": [],
        "_settlesAt": 1712345678.123456,
    }
    put_all(store, rec("a", doc=doc))
    with store.transaction() as tx:
        got = tx.get("service", ACCOUNT, REGION, "a")
    assert got is not None
    assert got.doc == doc
    assert list(got.doc) == list(doc)  # key order kept
    assert type(got.doc["float"]) is float
    assert type(got.doc["bigInt"]) is int
    assert repr(got.doc["precise"]) == repr(doc["precise"])
    assert str(got.doc["negativeZero"]) == "-0.0"


# --- transactions and the config version ------------------------------------------------------------------------


def test_an_exception_rolls_back_every_write_and_keeps_the_version(store: Store) -> None:
    (kept,) = put_all(store, rec("kept", doc={"v": 1}))
    version = store.config_version()
    with pytest.raises(RuntimeError, match="boom"), store.transaction() as tx:
        tx.put(rec("new"))
        kept.doc = {"v": 2}
        tx.put(kept)
        tx.delete(rec("kept"))
        tx.remember_result((ACCOUNT, REGION, "CreateService", "tok"), "d", "{}")
        raise RuntimeError("boom")
    assert store.config_version() == version
    with store.transaction() as tx:
        assert tx.get("service", ACCOUNT, REGION, "new") is None
        got = tx.get("service", ACCOUNT, REGION, "kept")
        assert got is not None
        assert got.doc == {"v": 1}
        assert tx.idempotent_result((ACCOUNT, REGION, "CreateService", "tok")) is None


def test_the_store_is_usable_after_a_rollback(store: Store) -> None:
    with pytest.raises(KeyError), store.transaction() as tx:
        tx.put(rec("a"))
        raise KeyError("a")
    (record,) = put_all(store, rec("a"))
    assert record.seq > 0


def test_each_committed_change_bumps_the_version_once(store: Store) -> None:
    start = store.config_version()
    a, b, _ = put_all(store, rec("a"), rec("b"), rec("c"))  # three writes, one commit
    assert store.config_version() == start + 1
    a.doc = {"changed": True}
    put_all(store, a)
    assert store.config_version() == start + 2
    with store.transaction() as tx:
        tx.delete(b)
    assert store.config_version() == start + 3


def test_read_only_transactions_and_idempotency_entries_do_not_bump_the_version(store: Store) -> None:
    put_all(store, rec("a"))
    version = store.config_version()
    with store.transaction() as tx:
        tx.get("service", ACCOUNT, REGION, "a")
        tx.find("service", ACCOUNT, REGION)
        tx.count("service", ACCOUNT, REGION)
        tx.idempotent_result((ACCOUNT, REGION, "CreateService", "t"))
    with store.transaction() as tx:
        # a remembered answer is not configuration: the data plane has nothing to reload
        tx.remember_result((ACCOUNT, REGION, "CreateService", "t"), "digest", '{"id":"a"}')
    assert store.config_version() == version


# --- idempotency entries and the secret ---------------------------------------------------------------------------


def test_idempotency_entries_are_keyed_by_all_four_parts_and_replaced_on_remember(store: Store) -> None:
    key = (ACCOUNT, REGION, "CreateService", "token-1")
    with store.transaction() as tx:
        assert tx.idempotent_result(key) is None
        tx.remember_result(key, "digest-1", '{"id":"svc-1"}')
    with store.transaction() as tx:
        assert tx.idempotent_result(key) == ("digest-1", '{"id":"svc-1"}')
        for other in [
            ("999988887777", REGION, "CreateService", "token-1"),
            (ACCOUNT, "eu-west-1", "CreateService", "token-1"),
            (ACCOUNT, REGION, "CreateListener", "token-1"),
            (ACCOUNT, REGION, "CreateService", "token-2"),
        ]:
            assert tx.idempotent_result(other) is None
        tx.remember_result(key, "digest-2", "null")
    with store.transaction() as tx:
        assert tx.idempotent_result(key) == ("digest-2", "null")


def test_the_secret_is_32_random_bytes_per_store(store: Store) -> None:
    other = SqliteStore(":memory:")
    try:
        assert len(store.secret()) == 32
        assert store.secret() == store.secret()
        assert store.secret() != other.secret()
    finally:
        other.close()


# --- durable stores: reopen and replicas -------------------------------------------------------------------------


def test_data_version_idempotency_and_secret_survive_close_and_reopen(reopen: Opener) -> None:
    store = reopen()
    (record,) = put_all(store, rec("a", name="keep", doc={"x": [1.5, "é"]}))
    with store.transaction() as tx:
        tx.remember_result((ACCOUNT, REGION, "CreateService", "t"), "d", "{}")
    version, secret = store.config_version(), store.secret()
    store.close()
    again = reopen()
    assert again.config_version() == version
    assert again.secret() == secret
    with again.transaction() as tx:
        assert tx.get("service", ACCOUNT, REGION, "a") == record
        assert tx.idempotent_result((ACCOUNT, REGION, "CreateService", "t")) == ("d", "{}")
    (later,) = put_all(again, rec("b"))
    assert later.seq > record.seq  # sequence numbers are never reused


def test_replicas_share_records_version_and_secret(reopen: Opener) -> None:
    one, two = reopen(), reopen()
    assert one.secret() == two.secret()
    put_all(one, rec("a", name="from-one"))
    assert two.config_version() == one.config_version()
    with two.transaction() as tx:
        assert ids(tx.find("service", ACCOUNT, REGION, name="from-one")) == ["a"]
        tx.delete(rec("a"))
    assert one.config_version() == two.config_version()
    with one.transaction() as tx:
        assert tx.get("service", ACCOUNT, REGION, "a") is None


def test_a_replica_transaction_waits_for_the_writer_and_then_sees_its_write(reopen: Opener) -> None:
    """The read-check-write of unique names holds across replicas: the second waits, then sees the first."""
    _assert_second_replica_waits_then_sees_the_first(reopen(), reopen())


def _assert_second_replica_waits_then_sees_the_first(one: Store, two: Store) -> None:
    entered, seen = threading.Event(), []

    def second() -> None:
        with two.transaction() as tx:
            entered.set()
            seen.extend(ids(tx.find("service", ACCOUNT, REGION, name="only")))
            if not seen:
                tx.put(rec("from-two", name="only"))

    with one.transaction() as tx:
        assert tx.find("service", ACCOUNT, REGION, name="only") == []
        tx.put(rec("from-one", name="only"))
        thread = threading.Thread(target=second)
        thread.start()
        assert not entered.wait(0.5), "a second transaction ran while the first was open"
    thread.join(timeout=30)
    assert entered.is_set()
    assert seen == ["from-one"]
    with one.transaction() as tx:
        assert ids(tx.find("service", ACCOUNT, REGION, name="only")) == ["from-one"]


# --- PostgreSQL specifics ---------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_commit_notifies_the_new_version_and_read_only_does_not(
    pg_url: str, pg_schema: str, tmp_path: Path
) -> None:
    import psycopg

    store = open_store(pg_url, tmp_path)
    try:
        (pid,) = _backend_pids(pg_schema)  # other tests' stores notify on the same channel: keep ours

        def ours(timeout: float) -> list[str]:
            return [n.payload for n in listener.notifies(timeout=timeout) if n.pid == pid]

        with psycopg.connect(PG_BASE, autocommit=True) as listener:
            listener.execute("LISTEN latticework_config")
            with store.transaction() as tx:
                tx.find("service", ACCOUNT, REGION)
                tx.remember_result((ACCOUNT, REGION, "CreateService", "t"), "d", "{}")
            assert ours(0.3) == []
            put_all(store, rec("a"), rec("b"))
            put_all(store, rec("c"))
            with pytest.raises(ValueError), store.transaction() as tx:
                tx.put(rec("d"))
                raise ValueError("rolled back")
            assert ours(0.5) == ["1", "2"]
            assert store.config_version() == 2
    finally:
        store.close()


@pytest.mark.postgres
def test_postgres_replicas_take_turns_even_when_the_database_default_is_repeatable_read(
    pg_url: str, tmp_path: Path
) -> None:
    """Each transaction runs at READ COMMITTED, so it sees commits made while it waited for the lock."""
    import psycopg

    option = "options=-cdefault_transaction_isolation%3Drepeatable%5C%20read"
    with psycopg.connect(f"{PG_BASE}?{option}") as probe:  # the option as written does reach the server
        assert probe.execute("SHOW default_transaction_isolation").fetchone() == ("repeatable read",)
    one, two = open_store(f"{pg_url}&{option}", tmp_path), open_store(f"{pg_url}&{option}", tmp_path)
    try:
        _assert_second_replica_waits_then_sees_the_first(one, two)
    finally:
        one.close()
        two.close()


@pytest.mark.postgres
def test_postgres_store_reconnects_after_the_server_drops_its_connection(
    pg_url: str, pg_schema: str, tmp_path: Path
) -> None:
    store = open_store(pg_url, tmp_path)
    try:
        put_all(store, rec("a"))
        (pid,) = _backend_pids(pg_schema)
        assert admin("SELECT pg_terminate_backend(%s)", pid) == [(True,)]
        (record,) = put_all(store, rec("b"))
        assert record.seq > 0
        assert store.config_version() == 2
    finally:
        store.close()


@pytest.mark.postgres
def test_postgres_tables_live_in_the_url_schema_and_schemas_are_isolated(pg_schema: str, tmp_path: Path) -> None:
    other_schema = pg_schema + "_b"
    one = open_store(f"{PG_BASE}?schema={pg_schema}", tmp_path)
    other = open_store(f"{PG_BASE}?schema={other_schema}", tmp_path)
    try:
        put_all(one, rec("a"))
        tables = admin("SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", pg_schema)
        assert tables == [("idempotency",), ("meta",), ("resources",)]
        with other.transaction() as tx:
            assert tx.get("service", ACCOUNT, REGION, "a") is None
        assert (one.config_version(), other.config_version()) == (1, 0)
        assert one.secret() != other.secret()
    finally:
        one.close()
        other.close()
        admin(f'DROP SCHEMA IF EXISTS "{other_schema}" CASCADE')


@pytest.mark.postgres
def test_postgres_search_path_option_selects_an_existing_schema(pg_schema: str, tmp_path: Path) -> None:
    admin(f'CREATE SCHEMA "{pg_schema}"')
    store = open_store(f"{PG_BASE}?options=-csearch_path%3D{pg_schema}", tmp_path)
    try:
        put_all(store, rec("a"))
        assert admin(f'SELECT id FROM "{pg_schema}".resources') == [("a",)]
    finally:
        store.close()


@pytest.mark.postgres
def test_postgres_search_path_naming_a_missing_schema_is_a_clear_error(pg_schema: str, tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match="search_path names no existing schema"):
        open_store(f"{PG_BASE}?options=-csearch_path%3D{pg_schema}", tmp_path)


def test_an_unreachable_postgres_is_store_unavailable_without_the_password(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreUnavailableError, match="cannot open the store") as caught:
        open_store(f"postgresql://lw:hunter2@127.0.0.1:{port}/test?connect_timeout=2", tmp_path)
    assert "hunter2" not in str(caught.value)


# --- store URLs (pure) -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, StoreLocation("sqlite", "/state/latticework.db")),
        ("", StoreLocation("sqlite", "/state/latticework.db")),
        ("sqlite:/var/lib/lw.db", StoreLocation("sqlite", "/var/lib/lw.db")),
        ("sqlite:///var/lib/lw.db", StoreLocation("sqlite", "/var/lib/lw.db")),
        ("sqlite:rel/lw.db", StoreLocation("sqlite", "rel/lw.db")),
        ("sqlite::memory:", StoreLocation("sqlite", ":memory:")),
        ("postgresql://u@h:5433/db?schema=s", StoreLocation("postgresql", "postgresql://u@h:5433/db?schema=s")),
        ("postgres://u@h/db", StoreLocation("postgresql", "postgres://u@h/db")),
    ],
)
def test_store_location_of_each_url_form(url: str | None, expected: StoreLocation) -> None:
    assert store_location(url, Path("/state")) == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite:", "sqlite://", "/var/lib/lw.db", "redis://h"])
def test_store_location_rejects_other_urls_naming_the_accepted_forms(url: str) -> None:
    with pytest.raises(ValueError, match=r"expected postgresql://USER@HOST\[:PORT\]/DATABASE"):
        store_location(url, Path("/state"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h/db?password=secret&schema=s", "postgresql://u@h/db?password=***&schema=s"),
        ("postgresql://h/db", "postgresql://h/db"),
        ("postgresql://u:p%40ss@h/db", "postgresql://u:***@h/db"),
    ],
)
def test_redact_hides_passwords(url: str, expected: str) -> None:
    assert redact(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://h/db?schema=lw", ("postgresql://h/db", "lw")),
        ("postgresql://h/db?sslmode=disable&schema=a%20b&x=1", ("postgresql://h/db?sslmode=disable&x=1", "a b")),
        (
            "postgresql://h/db?options=-c%20search_path%3Dx+y",
            ("postgresql://h/db?options=-c%20search_path%3Dx+y", None),
        ),
        ("postgresql://h/db", ("postgresql://h/db", None)),
    ],
)
def test_split_schema_takes_out_only_the_schema_parameter(url: str, expected: tuple[str, str | None]) -> None:
    postgres = pytest.importorskip("latticework.control.store.postgres")
    assert postgres.split_schema(url) == expected


def test_split_schema_rejects_an_empty_schema() -> None:
    postgres = pytest.importorskip("latticework.control.store.postgres")
    with pytest.raises(ValueError, match="schema parameter is empty"):
        postgres.split_schema("postgresql://h/db?schema=")


# --- the server -------------------------------------------------------------------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "latticework", "server", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "250", **(env or {})},
    )


def test_server_rejects_an_unsupported_store_url_as_a_usage_error(tmp_path: Path) -> None:
    result = _cli("--state-dir", str(tmp_path), "--store", "mysql://u:pw@h/db")
    assert result.returncode == 2
    assert "Invalid value for --store: unsupported store URL 'mysql://u:***@h/db'" in result.stderr
    assert ":pw@" not in result.stderr


def test_server_reads_the_store_url_from_latticework_store(tmp_path: Path) -> None:
    result = _cli("--state-dir", str(tmp_path), env={"LATTICEWORK_STORE": "redis://h"})
    assert result.returncode == 2
    assert "unsupported store URL 'redis://h'" in result.stderr


def test_server_exits_1_with_one_line_when_postgres_cannot_be_opened(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _cli("--state-dir", str(tmp_path), "--store", f"postgresql://u:pw@127.0.0.1:{port}/test")
    assert result.returncode == 1
    assert result.stderr.startswith("latticework server: cannot open the store at postgresql://u:***@127.0.0.1:")
    assert "Traceback" not in result.stderr


@pytest.mark.postgres
@pytest.mark.slow
def test_two_replicas_on_one_database_create_each_name_exactly_once(pg_url: str, make_server: Any) -> None:
    replicas = [make_server("--store", pg_url), make_server("--store", pg_url)]
    names = [f"race-{i}" for i in range(30)]
    outcomes: list[dict[str, str]] = [{}, {}]
    start = threading.Barrier(2)

    def create_all(index: int) -> None:
        lattice = replicas[index].client()
        start.wait()
        for name in names:
            try:
                outcomes[index][name] = lattice.create_service(name=name)["id"]
            except ClientError as error:
                code, status = error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]
                outcomes[index][name] = f"{code}/{status}"

    threads = [threading.Thread(target=create_all, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    winners: dict[str, str] = {}
    for name in names:
        results = [outcomes[0][name], outcomes[1][name]]
        assert sorted(r.startswith("svc-") for r in results) == [False, True], (name, results)
        assert "ConflictException/409" in results, (name, results)
        winners[name] = next(r for r in results if r.startswith("svc-"))
    listed = [
        sorted(
            (item["name"], item["id"])
            for page in r.client().get_paginator("list_services").paginate()
            for item in page["items"]
        )
        for r in replicas
    ]
    assert listed[0] == listed[1] == sorted(winners.items())
    versions = [_health_version(r.url) for r in replicas]
    assert versions[0] == versions[1] >= len(names)  # one shared version, bumped by every winning create


def _health_version(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_latticework/health", timeout=5) as response:
        return int(json.loads(response.read())["configVersion"])


# --- what the data plane reads and writes -------------------------------------------------------------------------


def test_read_all_returns_every_account_and_region_of_the_kinds_with_the_version(store: Store) -> None:
    put_all(
        store,
        rec("svc-1"),
        rec("svc-2", account="999988887777", region="eu-west-1"),
        rec("tg-1", kind="targetgroup"),
        rec("sn-1", kind="servicenetwork"),
    )
    version, records = store.read_all(["service", "targetgroup"])
    assert version == store.config_version()
    assert sorted(ids(records)) == ["svc-1", "svc-2", "tg-1"]


def test_a_write_that_is_not_configuration_does_not_bump_the_version(store: Store) -> None:
    [target] = put_all(store, rec("tg-1/10.0.0.1:80", kind="target", doc={"status": "INITIAL"}))
    before = store.config_version()
    with store.transaction() as tx:
        target.doc["status"] = "HEALTHY"
        tx.put(target, config=False)
    assert store.config_version() == before
    with store.transaction() as tx:
        stored = tx.get("target", ACCOUNT, REGION, "tg-1/10.0.0.1:80")
    assert stored is not None and stored.doc["status"] == "HEALTHY"


def test_sqlite_read_all_sees_the_last_commit_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    """The data plane's read never waits for (or sees) an API write in progress."""
    from latticework.control.store.sqlite import SqliteStore

    reader, writer = SqliteStore(tmp_path / "db"), SqliteStore(tmp_path / "db")
    put_all(writer, rec("svc-1"))
    committed = writer.config_version()
    with writer.transaction() as tx:
        tx.put(rec("svc-2"))
        version, records = reader.read_all(["service"])
    assert version == committed and ids(records) == ["svc-1"]
    assert reader.read_all(["service"])[0] == committed + 1
    reader.close()
    writer.close()
