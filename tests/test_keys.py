"""Keys: read from the environment or .env, and never shown anywhere."""

from __future__ import annotations

import json
import logging
import pickle

import httpx
import pytest
from carrier_fakes import FakeServices, reply

import toolkit
from toolkit.errors import InputError
from toolkit.keys import Keys, Secret, load_keys, redact
from toolkit.tracking.carriers import AfterShipClient, Kuaidi100Client, Query, SeventeenTrackClient

K17 = "SEKRIT-17TRACK-5f3a9c"
KK = "SEKRIT-KUAIDI-77b1e0"
KC = "SEKRIT-CUSTOMER-0a9d"
KA = "SEKRIT-AFTERSHIP-c4e2"
ALL = (K17, KK, KC, KA)


def test_secret_hides_its_value_everywhere_but_reveal():
    s = Secret(K17)
    assert repr(s) == str(s) == f"{s}" == "Secret('****')"
    assert K17 not in repr([s, {"k": s}])
    assert s.reveal() == K17
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(AttributeError):
        s._value = "x"
    with pytest.raises(ValueError):
        Secret("  ")


def test_keys_come_from_the_environment():
    keys = load_keys(
        {"SEVENTEENTRACK_API_KEY": K17, "KUAIDI100_KEY": KK, "KUAIDI100_CUSTOMER": KC},
        dotenv=None,
    )
    assert keys.seventeentrack.reveal() == K17
    assert keys.kuaidi100 is True
    assert keys.aftership is None
    assert not any(k in repr(keys) for k in ALL)


def test_dotenv_fills_in_without_overriding_the_environment(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"SEVENTEENTRACK_API_KEY=from-file-1234\nAFTERSHIP_API_KEY={KA}\n")
    keys = load_keys({"SEVENTEENTRACK_API_KEY": K17}, dotenv=env_file)
    assert keys.seventeentrack.reveal() == K17
    assert keys.aftership.reveal() == KA


def test_blank_values_count_as_no_key(tmp_path):
    keys = load_keys({"SEVENTEENTRACK_API_KEY": "   ", "KUAIDI100_KEY": KK}, dotenv=None)
    assert keys.seventeentrack is None
    assert keys.kuaidi100 is False  # the customer id is missing


def test_default_dotenv_is_read_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"AFTERSHIP_API_KEY={KA}\n")
    assert load_keys({}).aftership.reveal() == KA


def test_redact_replaces_every_occurrence():
    assert redact(f"a {K17} b {K17}", [Secret(K17)]) == "a **** b ****"
    assert redact("nothing here", [None, ""]) == "nothing here"


def _leaky_handler(request: httpx.Request) -> httpx.Response:
    """A hostile service: echoes keys back in every kind of error it can produce."""
    path = request.url.path
    body = request.content.decode(errors="replace")
    if path.endswith("/register"):
        numbers = [e["number"] for e in json.loads(body)]
        accepted = [{"number": n, "carrier": 0} for n in numbers]
        return httpx.Response(200, json={"code": 0, "data": {"accepted": accepted, "rejected": []}})
    if path.endswith("/gettrackinfo"):
        raise httpx.ConnectError(f"proxy refused request with 17token={K17}", request=request)
    if path == "/poll/query.do":
        if "75891234567890" in body:
            return httpx.Response(
                200, json={"result": False, "returnCode": "999", "message": f"bad {KK} for {KC}"}
            )
        if "1100087654321" in body:
            return reply("kuaidi100_bad_sign")
        if "YT7512345678901" in body:
            return httpx.Response(200, content=f"<html>{KK}".encode())
        return reply("kuaidi100_no_quota")
    if request.method == "POST":
        if "RB771204584KR" in body:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"meta": {"code": 429}})
        return httpx.Response(
            400, json={"meta": {"code": 4012, "message": f"key {KA} rejected"}, "data": {}}
        )
    return httpx.Response(200, json={"meta": {"code": 200}, "data": {"trackings": []}})


def _refusing_handler(request: httpx.Request) -> httpx.Response:
    if request.url.path.startswith("/track/"):
        return reply("seventeentrack_auth_error")
    if request.url.path.startswith("/tracking/"):
        return reply("aftership_auth_error")
    return reply("kuaidi100_bad_sign")


def test_keys_never_reach_errors_logs_or_reprs(caplog):
    caplog.set_level(logging.DEBUG)
    keys = Keys(Secret(K17), Secret(KK), Secret(KC), Secret(KA))
    transport = httpx.MockTransport(_leaky_handler)
    outputs = []
    kinds = set()
    for services in ("17track", "aftership"):
        events, errors = toolkit.track(
            [
                "LZ603184755US",
                "RB771204584KR",
                "75891234567890",
                "1100087654321",
                "YT7512345678901",
                "SF1402233445566",
            ],
            services=services,
            keys=keys,
            transport=transport,
            cache_dir=False,
            progress=False,
            max_attempts=2,
            phones={"SF1402233445566": "13800135678"},
        )
        outputs += [errors.to_string(), events.to_string(), repr(errors.attrs), repr(events.attrs)]
        outputs += list(errors["message"])
        kinds |= set(errors["error"])
    refusing = httpx.MockTransport(_refusing_handler)
    clients = [
        SeventeenTrackClient(keys.seventeentrack, transport=refusing, cache_dir=False),
        Kuaidi100Client(
            keys.kuaidi100_key, keys.kuaidi100_customer, transport=refusing, cache_dir=False
        ),
        AfterShipClient(keys.aftership, transport=refusing, cache_dir=False),
    ]
    for c in clients:
        res = c.track(
            [
                Query("LZ603184755US"),
                Query("75891234567890", carrier="zto"),
                Query("SF1402233445567", carrier="sf"),
            ]
        )
        outputs += [repr(c), str(c), repr(res), *(str(e) for e in res.errors)]
        kinds |= {e.error for e in res.errors}
    outputs += [repr(keys), str(keys), caplog.text]
    outputs += [r.getMessage() for r in caplog.records]
    outputs += [str(r.args) for r in caplog.records]
    everything = "\n".join(outputs)
    assert kinds >= {  # every error path was walked
        "auth",
        "connection_error",
        "server_error",
        "malformed_response",
        "quota",
        "carrier_unknown",
        "rate_limited",
        "needs_phone",
    }
    assert "****" in everything  # keys echoed by the services were scrubbed
    for key in ALL:
        assert key not in everything


def test_sandbox_clients_never_send_a_real_key():
    fake = FakeServices()
    keys = Keys(Secret(K17), Secret(KK), Secret(KC), Secret(KA))
    toolkit.track(
        ["LZ603184755US", "75891234567890"],
        keys=keys,
        sandbox=True,
        transport=fake.transport(),
        cache_dir=False,
        progress=False,
    )
    sent = [*fake.seventeen.requests, *fake.kuaidi100.requests]
    assert sent
    for r in sent:
        text = str(r.headers) + r.content.decode() + str(r.url)
        assert not any(k in text for k in ALL)


def test_a_live_client_without_its_key_is_refused_with_the_variable_to_set():
    with pytest.raises(InputError, match="SEVENTEENTRACK_API_KEY"):
        SeventeenTrackClient(None)
    with pytest.raises(InputError, match="KUAIDI100_CUSTOMER"):
        Kuaidi100Client(Secret(KK), None)
    assert AfterShipClient(None, sandbox=True, cache_dir=False).source == "aftership·sandbox"
