"""Findings store: adding, versioned updates, history, queries, bad input and CSV export.

Every test runs on a fresh SQLite file and, when a PostgreSQL server is available, on a
fresh schema of it (see ``store_url``).
"""

from __future__ import annotations

import csv
import os
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.errors import InputError, ToolkitError
from toolkit.findings.schema import SCHEMA_VERSION
from toolkit.findings.store import (
    ENV_URL,
    FindingNotFoundError,
    FindingsStore,
    StaleVersionError,
    StoreError,
    default_path,
)

LOCAL_PG_URL = "postgresql+psycopg://toolkit:toolkit@127.0.0.1:5432/toolkit_test"
TOMORROW = date.today() + timedelta(days=1)

# ---------------------------------------------------------------- backends


def _pg_base_url() -> str | None:
    """The test server's URL, or None when no PostgreSQL is reachable (fails in CI)."""
    configured = os.environ.get("TOOLKIT_TEST_PG_URL", "").strip()
    url = configured or LOCAL_PG_URL
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return url
    except Exception as exc:
        reason = f"no PostgreSQL at {sa.make_url(url).render_as_string(hide_password=True)}"
        if configured or os.environ.get("CI") == "true":
            pytest.fail(f"{reason} ({exc}); CI must run the PostgreSQL tests", pytrace=False)
        return None


def pg_schema_url(base: str, schema: str) -> str:
    """The base URL with its search path pointed at one schema."""
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A URL for an empty store: a new SQLite file, or a new schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'findings.sqlite'}"
        return
    base = _pg_base_url()
    if base is None:
        pytest.skip("PostgreSQL is not available on this machine")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield pg_schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def store(store_url):
    with FindingsStore(store_url) as s:
        yield s


def counts(store_url: str) -> tuple[int, int, int]:
    """Rows in findings, finding_versions and finding_parcels, read straight from the database."""
    engine = sa.create_engine(store_url)
    with engine.connect() as conn:
        out = tuple(
            conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
            for t in ("findings", "finding_versions", "finding_parcels")
        )
    engine.dispose()
    return out


def add_one(store: FindingsStore, **extra):
    values = {"category": "handover_not_synced", "analyst": "li.na", "notes": "asked EMS"}
    values.update(extra)
    return store.add(["P-1001"], **values)


# ---------------------------------------------------------------- add and get


def test_add_then_get_returns_every_field_as_given(store):
    contacted = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    f = store.add(
        ["P-1", "P-2"],
        category="handover_not_synced",
        analyst="li.na",
        notes="EMS has it under a new number",
        tracking_numbers=["LX123456785CN", "9812345678901"],
        root_cause="domestic waybill not linked",
        actions_taken=["asked Royal Mail for the domestic number", "linked the EMS number"],
        buyer_contacted=True,
        buyer_contacted_at=contacted,
        compensation_kind="coupon",
        compensation_amount="10.50",
        compensation_currency="cny",
        internal_notes="carrier rep was slow",
        status="waiting",
        follow_up=TOMORROW,
    )
    assert f.id.startswith("F-") and len(f.id) == 12
    assert f.version == 1
    assert f.compensation_amount == Decimal("10.50")
    assert f.compensation_currency == "CNY"
    assert f.created_at.tzinfo is not None and f.created_at == f.updated_at
    got = store.get(f.id)
    assert got == f
    assert got.parcel_ids == ("P-1", "P-2")
    assert got.actions_taken[1] == "linked the EMS number"
    assert got.buyer_contacted_at == contacted
    assert store.get(f.id.lower()) == f  # ids are not case-sensitive for people typing them


def test_defaults_and_contact_time_filled_in(store):
    f = store.add("P-9", category="moving", analyst="wang")
    assert f.parcel_ids == ("P-9",)
    assert (f.status, f.notes, f.actions_taken, f.buyer_contacted) == ("open", "", (), False)
    g = store.update(f.id, expected_version=1, analyst="wang", buyer_contacted=True)
    assert g.buyer_contacted_at == g.updated_at


def test_ids_are_unique(store):
    made = store.add_many(
        {"parcel_ids": [f"P{i}"], "category": "moving", "analyst": "a"} for i in range(300)
    )
    assert len({f.id for f in made}) == 300
    assert len(store.query()) == 300


def test_store_reopens_with_its_data_and_schema_version(store_url):
    with FindingsStore(store_url) as s:
        f = add_one(s)
    with FindingsStore(store_url) as s:
        assert s.get(f.id) == f
    engine = sa.create_engine(store_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version FROM schema_info").scalar_one() == 1
    engine.dispose()
    assert SCHEMA_VERSION == 1


def test_store_written_by_newer_release_is_refused(store_url):
    FindingsStore(store_url).close()
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE schema_info SET version = 99")
    engine.dispose()
    with pytest.raises(ToolkitError, match=r"schema version 99.*Upgrade the toolkit"):
        FindingsStore(store_url)


def test_get_unknown_id(store):
    with pytest.raises(FindingNotFoundError, match="F-0000000000"):
        store.get("F-0000000000")
    with pytest.raises(FindingNotFoundError, match="look like F-"):
        store.history("P-1001")


# ---------------------------------------------------------------- updates and history


def test_update_makes_a_new_version_and_history_keeps_every_one(store):
    f = add_one(store)
    g = store.update(f.id, expected_version=1, analyst="li.na", status="waiting")
    h = store.update(
        f.id,
        expected_version=2,
        analyst="wang.wei",
        status="resolved",
        root_cause="EMS waybill 9812345678901",
        actions_taken=["linked numbers"],
    )
    assert (g.version, h.version) == (2, 3)
    assert h.created_at == f.created_at and h.updated_at >= g.updated_at >= f.updated_at
    assert store.get(f.id) == h
    hist = store.history(f.id)
    assert hist["version"].tolist() == [1, 2, 3]
    assert hist["analyst"].tolist() == ["li.na", "li.na", "wang.wei"]
    assert hist["changed"].tolist() == [
        "created",
        "status",
        "status, root_cause, actions_taken, analyst",
    ]
    assert hist["status"].tolist() == ["open", "waiting", "resolved"]
    assert hist["notes"].tolist() == ["asked EMS"] * 3  # full values, not only changes
    assert hist["actions_taken"].iloc[2] == ("linked numbers",)
    assert str(hist["changed_at"].dt.tz) == "UTC"


def test_stale_update_is_refused_and_nothing_is_saved(store):
    f = add_one(store)
    store.update(f.id, expected_version=1, analyst="wang.wei", notes="called EMS")
    with pytest.raises(StaleVersionError) as err:
        store.update(f.id, expected_version=1, analyst="li.na", notes="waiting on Royal Mail")
    e = err.value
    assert (e.expected_version, e.current_version, e.changed_by) == (1, 2, "wang.wei")
    assert "version 2" in str(e) and "'wang.wei'" in str(e) and "expected_version=2" in str(e)
    assert isinstance(e, ToolkitError)
    assert store.get(f.id).notes == "called EMS"
    assert len(store.history(f.id)) == 2
    retried = store.update(f.id, expected_version=2, analyst="li.na", notes="waiting on RM")
    assert retried.version == 3
    assert store.history(f.id)["notes"].tolist() == ["asked EMS", "called EMS", "waiting on RM"]


def test_moving_parcels_between_findings_updates_query_by_parcel(store):
    f = add_one(store)
    store.update(f.id, expected_version=1, analyst="li.na", parcel_ids=["P-2002", "P-2003"])
    assert store.query(parcel_id="P-1001").empty
    assert store.query(parcel_id="P-2003")["id"].tolist() == [f.id]


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"status": "closed"}, "status"),
        ({"category": "lost"}, "category"),
        ({"compensation_amount": -1}, "compensation_amount"),
        ({"follow_up": date.today() - timedelta(days=2)}, "follow_up"),
        ({"colour": "red"}, "colour"),
        ({"version": 7}, "version"),
        ({"parcel_ids": []}, "parcel_ids"),
        ({"notes": 42}, "notes"),
        ({}, "no field to change"),
        ({"notes": "asked EMS"}, "changes nothing"),
    ],
)
def test_bad_update_names_the_problem_and_changes_nothing(store, kwargs, names):
    f = add_one(store)
    with pytest.raises(InputError, match=names):
        store.update(f.id, expected_version=1, analyst="li.na", **kwargs)
    assert store.get(f.id) == f
    assert len(store.history(f.id)) == 1


def test_update_needs_analyst_and_version(store):
    f = add_one(store)
    with pytest.raises(InputError, match="analyst"):
        store.update(f.id, expected_version=1, analyst=" ", notes="x")
    with pytest.raises(InputError, match="expected_version"):
        store.update(f.id, analyst="li.na", notes="x")
    with pytest.raises(InputError, match="expected_version 5 does not exist"):
        store.update(f.id, expected_version=5, analyst="li.na", notes="x")
    with pytest.raises(FindingNotFoundError):
        store.update("F-ZZZZZZZZZZ", expected_version=1, analyst="li.na", notes="x")
    assert store.get(f.id) == f


# ---------------------------------------------------------------- bad input on add


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"category": "lost_forever"}, "category"),
        ({"category": None}, "category"),
        ({"status": "closed"}, "status"),
        ({"compensation_amount": -5, "compensation_currency": "CNY"}, "compensation_amount"),
        ({"compensation_amount": "ten"}, "compensation_amount"),
        ({"compensation_amount": float("nan")}, "compensation_amount"),
        ({"compensation_amount": 5, "compensation_kind": "coupon"}, "compensation_currency"),
        ({"compensation_currency": "YUAN"}, "compensation_currency"),
        ({"compensation_kind": "cash_in_envelope"}, "compensation_kind"),
        ({"analyst": ""}, "analyst"),
        ({"analyst": "   "}, "analyst"),
        ({"analyst": None}, "analyst"),
        ({"follow_up": date.today() - timedelta(days=2)}, "follow_up"),
        ({"follow_up": "next week"}, "follow_up"),
        ({"priority": "high"}, "priority"),
        ({"id": "F-AAAAAAAAAA"}, "id"),
        ({"parcel_ids": []}, "parcel_ids"),
        ({"parcel_ids": ["P-1", "  "]}, r"parcel_ids\[1\]"),
        ({"parcel_ids": None}, "parcel_ids"),
        ({"notes": "null \x00 byte"}, "notes"),
        ({"buyer_contacted": "yes"}, "buyer_contacted"),
        ({"buyer_contacted_at": datetime(2026, 1, 1, 10, 0)}, "buyer_contacted_at"),
        ({"buyer_contacted_at": datetime.now(UTC) + timedelta(days=3)}, "buyer_contacted_at"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(store, store_url, kwargs, field):
    values = {"parcel_ids": ["P-1"], "category": "moving", "analyst": "li.na"}
    values.update(kwargs)
    with pytest.raises(InputError, match=field) as err:
        store.add(**values)
    assert err.value.where == "FindingsStore.add"
    assert err.value.hint  # every refusal says what to do
    assert counts(store_url) == (0, 0, 0)
    assert store.query().empty


def test_add_many_is_all_or_nothing(store, store_url):
    items = [{"parcel_ids": [f"P{i}"], "category": "moving", "analyst": "a"} for i in range(5)]
    items[3]["status"] = "finished"
    with pytest.raises(InputError, match=r"item 4.*status"):
        store.add_many(items)
    assert counts(store_url) == (0, 0, 0)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    notes=st.text(
        st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=200
    ),
    parcel=st.text(
        st.characters(exclude_categories=["Cc", "Cs", "Zl", "Zp"]), min_size=1, max_size=40
    ).filter(str.strip),
    amount=st.decimals(min_value=0, max_value=10**9, places=2),
)
def test_any_text_and_amount_round_trip_exactly(store, notes, parcel, amount):
    f = store.add(
        [parcel],
        category="customs_hold",
        analyst="张伟",
        notes=notes,
        compensation_kind="partial_refund",
        compensation_amount=amount,
        compensation_currency="EUR",
    )
    got = store.get(f.id)
    assert got.notes == notes
    assert got.parcel_ids == (parcel.strip(),)
    assert got.compensation_amount == amount
    assert store.history(f.id)["notes"].iloc[0] == notes
    assert f.id in store.query(parcel_id=parcel.strip())["id"].tolist()


# ---------------------------------------------------------------- query


def test_query_filters_combine(store):
    a = store.add(["P-1", "P-2"], category="customs_hold", analyst="li.na")
    b = store.add(["P-2"], category="moving", analyst="wang.wei", status="waiting")
    c = store.add(["P-3"], category="customs_hold", analyst="wang.wei")
    store.update(c.id, expected_version=1, analyst="wang.wei", status="resolved")

    def ids(**kw):
        return store.query(**kw)["id"].tolist()

    assert ids() == [a.id, b.id, c.id]
    assert ids(parcel_id="P-2") == [a.id, b.id]
    assert ids(parcel_id=["P-1", "P-3"]) == [a.id, c.id]
    assert ids(status="resolved") == [c.id]
    assert ids(status=["open", "waiting"]) == [a.id, b.id]
    assert ids(category="customs_hold", analyst="wang.wei") == [c.id]
    assert ids(parcel_id="P-2", analyst="li.na") == [a.id]
    assert ids(parcel_id="P-404") == []
    latest = store.get(c.id).updated_at
    assert ids(since=latest) == [c.id]
    assert ids(since=latest + timedelta(seconds=1)) == []
    assert ids(since="2000-01-01") == [a.id, b.id, c.id]


def test_query_result_columns_and_types(store):
    add_one(store, compensation_kind="coupon", compensation_amount=3, compensation_currency="USD")
    df = store.query()
    assert df.columns[:3].tolist() == ["id", "version", "parcel_ids"]
    assert "internal_notes" in df.columns
    assert str(df["created_at"].dtype) == "datetime64[ns, UTC]"
    assert df["parcel_ids"].iloc[0] == ("P-1001",)
    assert df["compensation_amount"].iloc[0] == Decimal(3)
    empty = store.query(parcel_id="nothing")
    assert empty.columns.tolist() == df.columns.tolist()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"status": "done"}, "status"), ({"category": "x"}, "category"), ({"since": "soon"}, "since")],
)
def test_query_refuses_unknown_values_instead_of_finding_nothing(store, kwargs, name):
    with pytest.raises(InputError, match=name):
        store.query(**kwargs)


# ---------------------------------------------------------------- export


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_partner_safe_export_masks_recipients_and_drops_internal_notes(store, tmp_path):
    parcels = pd.DataFrame(
        {
            "parcel_id": ["P-1001"],
            "recipient_name": ["王小明"],
            "recipient_phone": ["+86 139 1234 5678"],
            "recipient_address": ["广东省深圳市南山区科技园路1号"],
        }
    )
    add_one(
        store,
        notes="王小明 says call 13812345678; address 广东省深圳市南山区科技园路1号",
        root_cause='=HYPERLINK("http://x")',
        actions_taken=[
            "texted 王小明 at 13912345678",
            "SF: 签收人：李小四, 送至科技园路1号, 139 1234 5678",
        ],
        internal_notes="partner is unreliable",
    )
    safe = read_csv(store.export_csv(tmp_path / "partner.csv", parcels=parcels))
    assert len(safe) == 1
    row = safe[0]
    assert "internal_notes" not in row
    assert "partner is unreliable" not in (tmp_path / "partner.csv").read_text("utf-8-sig")
    assert "王小明" not in row["notes"] and "王*" in row["notes"]
    assert "13812345678" not in row["notes"] and "138****5678" in row["notes"]
    assert "科技园路" not in row["notes"] and "广东省深圳市****" in row["notes"]
    assert (
        row["actions_taken"]
        == "texted 王** at 139****5678\nSF: 签收人：李**, 送至****, 139****5678"
    )
    assert row["root_cause"].startswith("'=")  # a spreadsheet shows it instead of running it
    assert row["parcel_ids"] == "P-1001"

    full = read_csv(store.export_csv(tmp_path / "internal.csv", partner_safe=False))
    assert full[0]["internal_notes"] == "partner is unreliable"
    assert "13812345678" in full[0]["notes"]


def test_export_filters_and_lists(store, tmp_path):
    store.add(["P-1", "P-2"], category="moving", analyst="a", actions_taken=["one", "two"])
    store.add(["P-3"], category="delivered", analyst="a", status="resolved")
    rows = read_csv(store.export_csv(tmp_path / "open.csv", status="open"))
    assert [r["parcel_ids"] for r in rows] == ["P-1; P-2"]
    assert rows[0]["actions_taken"] == "one\ntwo"
    with pytest.raises(InputError, match="colour"):
        store.export_csv(tmp_path / "x.csv", colour="red")


# ---------------------------------------------------------------- where the store lives


def test_url_from_environment(tmp_path, monkeypatch):
    target = tmp_path / "deep" / "dir" / "team.sqlite"
    monkeypatch.setenv(ENV_URL, f"sqlite:///{target}")
    with FindingsStore() as s:
        add_one(s)
    assert target.is_file()  # created on first use, folders included
    with FindingsStore(f"sqlite:///{target}") as s:
        assert len(s) == 1


def test_default_store_is_git_ignored_in_a_checkout():
    root = Path(__file__).resolve().parents[1]
    assert default_path() == root / "var" / "findings.sqlite"
    assert "/var/" in (root / ".gitignore").read_text().splitlines()


def test_sqlite_store_uses_wal(tmp_path):
    FindingsStore(f"sqlite:///{tmp_path / 'w.sqlite'}").close()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_bad_urls_are_toolkit_errors():
    with pytest.raises(InputError, match="cannot be read"):
        FindingsStore("not a url at all")
    with pytest.raises(InputError, match="not supported"):
        FindingsStore("oracle+nodriver://u:p@h/db")


def test_password_never_shown():
    secret = "s3cret-Pa55-word"
    url = f"postgresql+psycopg://toolkit:{secret}@127.0.0.1:5432/toolkit_test?connect_timeout=3"
    with pytest.raises(StoreError) as err:
        FindingsStore(url)
    text = str(err.value) + repr(err.value)
    assert secret not in text
    assert "***" in text and "Check that the server is running" in text


def test_query_by_a_very_long_parcel_list(store):
    made = store.add_many(
        {"parcel_ids": [f"L{i}", "COMMON"], "category": "moving", "analyst": "a"}
        for i in range(0, 70_000, 7000)
    )
    wanted = [f"L{i}" for i in range(70_000)]  # more than PostgreSQL takes in one statement
    assert store.query(parcel_id=wanted)["id"].tolist() == [f.id for f in made]
    assert len(store.query(parcel_id=[*wanted, "COMMON"])) == len(made)  # no duplicates


def test_a_broken_character_in_a_note_is_kept_visible_and_the_finding_saved(store):
    f = store.add(["P1"], category="customs_hold", analyst="ana", notes="pasted \ud800 text")
    assert store.get(f.id).notes == "pasted \ufffd text"
