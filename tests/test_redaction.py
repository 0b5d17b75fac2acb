"""Secrets in URLs (passwords, keys, tokens) and keys echoed by services never reach output,
reprs, errors or the response cache."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import httpx
import pytest
from report_fixtures import run_report_command

from toolkit.errors import InputError
from toolkit.findings.store import FindingsStore, StoreError
from toolkit.keys import MASK, Secret, redact, redact_url
from toolkit.tracking.carriers import Kuaidi100Client, Query, SeventeenTrackClient

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "s3cret-Pa55"
KK = "SEKRIT-KUAIDI-31c9d2"
KC = "SEKRIT-CUSTOMER-8e4b"
# Nothing listens on port 1: the connection is refused at once.
CLOSED = "127.0.0.1:1"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"postgresql+psycopg://u@host/db?password={PASSWORD}",
            "postgresql+psycopg://u@host/db?password=****",
        ),
        (
            f"postgresql+psycopg://u:{PASSWORD}@host:5432/db?sslmode=require",
            "postgresql+psycopg://u:****@host:5432/db?sslmode=require",
        ),
        (
            f"https://api.example.com/v1?api_key={PASSWORD}&number=LZ603184755US&sig=ab12cd34",
            "https://api.example.com/v1?api_key=****&number=LZ603184755US&sig=****",
        ),
        (
            f"https://x.example/cb#access_token={PASSWORD}&state=7",
            "https://x.example/cb#access_token=****&state=7",
        ),
        (f"http://proxy:{PASSWORD}@10.0.0.1:3128", "http://proxy:****@10.0.0.1:3128"),
        ("https://api.17track.net/track/v2.2", "https://api.17track.net/track/v2.2"),
        ("sqlite:////home/ana/var/findings.sqlite", "sqlite:////home/ana/var/findings.sqlite"),
        ("https://host:8080/@team/page", "https://host:8080/@team/page"),
    ],
)
def test_redact_url_hides_passwords_keys_tokens_and_signatures(url, shown):
    assert redact_url(url) == shown
    assert redact_url(f"could not open ({url}).") == f"could not open ({shown})."


def test_redact_hides_url_secrets_and_given_secrets_in_any_text():
    text = f"store postgresql://u@h/db?password={PASSWORD} refused key {KK}"
    out = redact(text, [Secret(KK)])
    assert PASSWORD not in out and KK not in out and out.count(MASK) == 2


def test_client_repr_hides_the_password_of_its_base_url(caplog):
    caplog.set_level(logging.DEBUG)
    base = f"https://ana:{PASSWORD}@proxy.example.com/17track?token={PASSWORD}x"

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy refused {request.url}", request=request)

    client = SeventeenTrackClient(
        Secret("test-key-redact"),
        base_url=base,
        transport=httpx.MockTransport(refuse),
        cache_dir=False,
        max_attempts=1,
    )
    result = client.track([Query("LZ603184755US")])
    shown = [repr(client), str(client), client.namespace, caplog.text]
    shown += [e.message for e in result.errors]
    assert result.errors and result.errors[0].error == "connection_error"
    assert "ana:****@proxy.example.com" in repr(client)
    assert not any(PASSWORD in text for text in shown)
    client.close()


def test_findings_store_errors_and_repr_hide_a_query_string_password():
    url = f"postgresql+psycopg://toolkit@{CLOSED}/db?password={PASSWORD}&connect_timeout=3"
    with pytest.raises(StoreError) as err:
        FindingsStore(url)
    text = str(err.value) + repr(err.value)
    assert PASSWORD not in text
    assert f"password={MASK}" in text and "Check that the server is running" in text
    with pytest.raises(InputError) as err:
        FindingsStore(f"postgresql+nodriver://u@host/db?password={PASSWORD}")
    assert PASSWORD not in str(err.value) and "not supported" in str(err.value)


@pytest.mark.slow
def test_report_command_never_prints_the_store_password(tmp_path):
    url = f"postgresql+psycopg://toolkit@{CLOSED}/db?password={PASSWORD}"
    done = run_report_command(
        "--findings-url", url, "--finding-status", "open", "--out", str(tmp_path)
    )
    assert done.returncode == 2
    assert "cannot open the findings database" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_report_command_hides_the_password_when_the_report_itself_fails(tmp_path):
    url = f"postgresql+psycopg://toolkit@{CLOSED}/db?password={PASSWORD}"
    done = run_report_command("--findings-url", url, "--carrier", "sf", "--out", str(tmp_path))
    assert "the report stopped with StoreError" in done.stderr
    assert done.returncode == 2, done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []


def echoing_kuaidi100(request: httpx.Request) -> httpx.Response:
    """Kuaidi100 refusing a carrier code, echoing the key and customer id in its message."""
    return httpx.Response(
        200,
        json={
            "result": False,
            "returnCode": "400",
            "message": f"找不到对应公司 key={KK} customer={KC}",
        },
    )


def test_cached_answers_never_hold_the_keys_a_service_echoed(tmp_path):
    def client() -> Kuaidi100Client:
        return Kuaidi100Client(
            Secret(KK),
            Secret(KC),
            transport=httpx.MockTransport(echoing_kuaidi100),
            cache_dir=tmp_path,
        )

    with client() as first:
        fresh = first.track([Query("75891234567890", carrier="zto")])
    with client() as second:
        cached = second.track([Query("75891234567890", carrier="zto")])
    assert cached.from_cache == 1  # the answer was cached...
    assert fresh.errors[0].error == cached.errors[0].error == "carrier_unknown"
    assert fresh.errors[0].message == cached.errors[0].message
    db = tmp_path / "responses.sqlite3"
    with sqlite3.connect(db) as conn:
        payloads = [r[0] for r in conn.execute("SELECT payload FROM answers")]
    assert len(payloads) == 1 and MASK in payloads[0]
    raw = db.read_bytes()
    for secret in (KK, KC):  # ...without the key or the customer id it echoed
        assert secret.encode() not in raw
        assert secret not in fresh.errors[0].message
