"""Finding 8 of issue 15 (no rate limit anywhere: 3,000 anonymous checks, 3,000 answers 200)
and the request id of every error answer, through HTTP on SQLite and PostgreSQL.

Each test loads small limits into :class:`Settings` (as the environment sets them) and sends a
burst beyond them; nothing waits for a window to pass."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from starlette.types import ASGIApp

from tests.conftest import NOW, Demo
from verifier.service import Service
from verifier.settings import RateLimits, Settings, SettingsError
from verifier.web.app import create_app
from verifier.web.ratelimits import Limiter, TrustedProxies, client_key

MakeApp = Callable[..., ASGIApp]
CLIENT = ("203.0.113.7", 50000)


@pytest.fixture
def make_app(demo: Demo) -> Iterator[MakeApp]:
    """Start the demo's service again with settings loaded from environment variables
    (``OCOP_RATE_LIMIT_VERIFY="5/minute"``, ...) and return its app."""
    started: list[Service] = []

    def make(**environ: str) -> ASGIApp:
        environ["OCOP_DATABASE_URL"] = demo.service.settings.database_url
        service = Service.start(Settings.load(demo.data_dir, environ), NOW)
        started.append(service)
        return create_app(service, clock=lambda: NOW)

    yield make
    for service in started:
        service.close()


def _client(app: ASGIApp, address: str = CLIENT[0]) -> TestClient:
    return TestClient(app, client=(address, 50000))


def _assert_rate_limited(response: Any) -> dict[str, Any]:
    """Assert a JSON 429 with Retry-After and the request id in body and header."""
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["retry-after"]) >= 1
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["request_id"] == response.headers["x-request-id"]
    assert "giây" in error["messages"]["vi"]
    assert error["messages"]["en"] == error["message"]
    return error


def test_anonymous_verify_flood_on_the_fast_path_gets_429_regression(
    demo: Demo, make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    """Finding 8: anonymous GET /api/v1/verify (the FastVerify path) had no limit at all."""
    caplog.set_level(logging.INFO, logger="verifier")
    client = _client(make_app(OCOP_RATE_LIMIT_VERIFY="5/minute"))
    code = demo.sample("genuine")
    answers = [client.get("/api/v1/verify", params={"code": code}) for _ in range(8)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    for refused in answers[5:]:
        assert _assert_rate_limited(refused)["limit"] == "verify"
        assert "frame-ancestors 'none'" in refused.headers["content-security-policy"]
    ids = {a.headers["x-request-id"] for a in answers[5:]}
    assert len(ids) == 3  # one id per answer
    logged = [r.getMessage() for r in caplog.records if "rate_limited" in r.getMessage()]
    assert len(logged) == 3
    assert all(f"client={CLIENT[0]}" in line for line in logged)


def test_verify_post_and_consumer_page_share_the_limit_regression(
    demo: Demo, make_app: MakeApp
) -> None:
    """Finding 8 on POST /api/v1/verify; the consumer page counts against the same limit and
    answers a page in Vietnamese."""
    client = _client(make_app(OCOP_RATE_LIMIT_VERIFY="3/minute"))
    code = demo.sample("genuine")
    answers = [client.post("/api/v1/verify", json={"code": code}) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200] * 3
    _assert_rate_limited(answers[3])
    page = client.get(code.replace("https://ocop.vn", ""))
    assert page.status_code == 429
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]  # Edge's own answer
    assert int(page.headers["retry-after"]) >= 1
    assert "Quá nhiều yêu cầu" in page.text
    assert page.headers["x-request-id"] in page.text


def test_another_client_address_keeps_its_own_allowance_regression(
    demo: Demo, make_app: MakeApp
) -> None:
    """One flooding address is refused; a second address (another shop) still gets answers,
    and so does a signed-in inspector behind the flooding address (counted by token)."""
    app = make_app(OCOP_RATE_LIMIT_VERIFY="2/minute")
    code = demo.sample("genuine")
    flooder = _client(app)
    answers = [flooder.get("/api/v1/verify", params={"code": code}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    other = _client(app, "198.51.100.9").get("/api/v1/verify", params={"code": code})
    assert other.status_code == 200
    inspector = flooder.get(
        "/api/v1/verify", params={"code": code}, headers=demo.token("inspector")
    )
    assert inspector.status_code == 200


def test_forwarded_for_counts_only_from_a_trusted_proxy_regression(
    demo: Demo, make_app: MakeApp
) -> None:
    """A caller cannot choose its own address with X-Forwarded-For; a trusted proxy can."""
    code = demo.sample("genuine")
    direct = _client(make_app(OCOP_RATE_LIMIT_VERIFY="2/minute"))
    spoofed = [
        direct.get(
            "/api/v1/verify", params={"code": code}, headers={"X-Forwarded-For": f"10.0.0.{i}"}
        )
        for i in range(3)
    ]
    assert [a.status_code for a in spoofed] == [200, 200, 429]
    behind = make_app(OCOP_RATE_LIMIT_VERIFY="2/minute", OCOP_TRUSTED_PROXIES="203.0.113.0/24")
    proxy = _client(behind)
    for shop in ("192.0.2.1", "192.0.2.2"):
        sent = [
            proxy.get(
                "/api/v1/verify",
                params={"code": code},
                headers={"X-Forwarded-For": f"10.9.9.9, {shop}"},  # the first is the caller's
            )
            for _ in range(3)
        ]
        assert [a.status_code for a in sent] == [200, 200, 429]


def test_a_flood_of_changes_since_a_version_gets_429_regression(
    demo: Demo, make_app: MakeApp
) -> None:
    """Changes since a version are signed for each version asked, and the document routes
    had no limit: one client could make the service sign hundreds of them a second. They
    now share the checks' allowance."""
    client = _client(make_app(OCOP_RATE_LIMIT_VERIFY="3/minute"))
    for since in range(3):
        answer = client.get("/.well-known/ocop/status-list", params={"since": since})
        assert answer.status_code == 200
    _assert_rate_limited(client.get("/.well-known/ocop/registry-snapshot", params={"since": 0}))


def test_photo_verify_flood_gets_429_regression(demo: Demo, make_app: MakeApp) -> None:
    """Finding 8 on POST /api/v1/verify/image, which decodes a photo on the server."""
    client = _client(make_app(OCOP_RATE_LIMIT_PHOTO="2/minute"))
    blank = io.BytesIO()
    Image.new("L", (64, 64), 255).save(blank, format="PNG")
    files = {"file": ("blank.png", blank.getvalue(), "image/png")}
    answers = [client.post("/api/v1/verify/image", files=files) for _ in range(3)]
    assert [a.status_code for a in answers[:2]] == [422, 422]  # no QR code in a blank photo
    assert _assert_rate_limited(answers[2])["limit"] == "photo"


def test_repeated_bad_tokens_get_429_regression(demo: Demo, make_app: MakeApp) -> None:
    """Finding 8 on tokens: a client guessing bearer tokens is refused after a few 401s,
    whatever token it tries next; another client's token still works."""
    app = make_app(OCOP_RATE_LIMIT_TOKEN_FAILURES="3/minute")  # noqa: S106
    guesser = _client(app)
    body = {"key_index": 1, "first_serial": 1, "last_serial": 1, "reason": "guess"}
    answers = [
        guesser.post(
            "/api/v1/blocked-serials", json=body, headers={"Authorization": f"Bearer guess-{i}"}
        )
        for i in range(5)
    ]
    assert [a.status_code for a in answers[:3]] == [401] * 3
    for refused in answers[3:]:
        assert _assert_rate_limited(refused)["limit"] == "token_failures"
    code = demo.sample("genuine")
    honest = _client(app, "198.51.100.9")
    answer = honest.get("/api/v1/verify", params={"code": code}, headers=demo.token("inspector"))
    assert answer.status_code == 200


@pytest.mark.parametrize("form", ["/desk", "/producer"])
def test_sign_in_form_flood_gets_429_page_regression(
    demo: Demo, make_app: MakeApp, form: str
) -> None:
    """Finding 8 on the sign-in forms: the next attempt past the limit is a page saying, in
    Vietnamese, to try again later, with a way back to the form."""
    client = _client(make_app(OCOP_RATE_LIMIT_SIGN_IN="3/minute"))
    answers = [
        client.post(f"{form}/sign-in", data={"token": f"guess-{i}"}, follow_redirects=False)
        for i in range(4)
    ]
    assert all(a.status_code != 429 for a in answers[:3])
    page = answers[3]
    assert page.status_code == 429
    assert page.headers["content-type"].startswith("text/html")
    assert int(page.headers["retry-after"]) >= 1
    assert "Vui lòng thử lại sau" in page.text
    assert f'href="{form}"' in page.text


def test_error_answers_carry_a_request_id_that_is_logged_regression(
    demo: Demo, caplog: pytest.LogCaptureFixture
) -> None:
    """Every error answer names a request id, in its body and in X-Request-ID, and the log
    line of that error carries the same id."""
    caplog.set_level(logging.INFO, logger="verifier")
    answers = [
        demo.client.get("/api/v1/verify"),  # 422, no code
        demo.client.get("/api/v1/certificates/999999"),  # 404
        demo.client.post("/api/v1/blocked-serials", json={}),  # 401, no token
        demo.client.post("/api/v1/verify", content=b"x" * (65 * 1024)),  # 413, body limit
        demo.client.get("/api/v1/nothing%0A404%20forged%20line"),  # 404, a newline in the path
    ]
    assert [a.status_code for a in answers] == [422, 404, 401, 413, 404]
    for answer in answers:
        rid = answer.json()["error"]["request_id"]
        assert rid == answer.headers["x-request-id"]
        [line] = [r.getMessage() for r in caplog.records if rid in r.getMessage()]
        assert "\n" not in line
    assert len({a.headers["x-request-id"] for a in answers}) == 5


def test_a_fault_on_the_fast_path_answers_json_with_a_logged_request_id_regression(
    demo: Demo, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A fault in the hot path answered text/plain 500 (or nothing) with no id; now JSON 500
    whose id is in the ERROR log line with the traceback."""

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(demo.service, "verify", broken)
    caplog.set_level(logging.INFO, logger="verifier")
    answer = demo.client.get("/api/v1/verify", params={"code": demo.sample("genuine")})
    assert answer.status_code == 500
    error = answer.json()["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"] == answer.headers["x-request-id"]
    [line] = [r for r in caplog.records if error["request_id"] in r.getMessage()]
    assert line.levelno == logging.ERROR
    assert line.exc_info is not None
    assert "disk on fire" in str(line.exc_info[1])


def test_request_id_from_a_trusted_proxy_is_reused_when_printable(
    demo: Demo, make_app: MakeApp
) -> None:
    trusted = _client(make_app(OCOP_TRUSTED_PROXIES=CLIENT[0]))
    reused = trusted.get("/api/v1/certificates/999999", headers={"X-Request-ID": "edge-42.a"})
    assert reused.json()["error"]["request_id"] == "edge-42.a"
    for hostile in ("a\x7fb", "x" * 65, "two words"):
        answer = trusted.get("/api/v1/certificates/999999", headers={"X-Request-ID": hostile})
        assert answer.json()["error"]["request_id"] != hostile
    untrusted = _client(make_app())
    answer = untrusted.get("/api/v1/certificates/999999", headers={"X-Request-ID": "edge-42.a"})
    assert answer.json()["error"]["request_id"] != "edge-42.a"


def test_successful_check_carries_no_request_id(demo: Demo) -> None:
    """The hot path's success stays as it was: no id made, no header added."""
    answer = demo.client.get("/api/v1/verify", params={"code": demo.sample("genuine")})
    assert answer.status_code == 200
    assert "x-request-id" not in answer.headers


def test_default_limits_leave_a_shop_and_a_carrier_nat_inside(demo: Demo) -> None:
    """With the defaults, a burst of a hundred checks from one address (a carrier's NAT, a
    shop's counter) is answered."""
    code = demo.sample("genuine")
    answers = [demo.client.get("/api/v1/verify", params={"code": code}) for _ in range(100)]
    assert {a.status_code for a in answers} == {200}


def test_client_key_groups_an_ipv6_subscriber_by_its_64() -> None:
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_key("192.0.2.1") == "192.0.2.1"


def test_trusted_proxies_take_the_last_untrusted_forwarded_address() -> None:
    proxies = TrustedProxies(("10.0.0.0/8",))
    assert proxies.client("10.1.1.1", "198.51.100.1, 192.0.2.5, 10.2.2.2") == "192.0.2.5"
    assert proxies.client("192.0.2.99", "198.51.100.1") == "192.0.2.99"  # not a proxy
    assert proxies.client("10.1.1.1", "garbage") == "10.1.1.1"
    assert TrustedProxies(()).client("10.1.1.1", "198.51.100.1") == "10.1.1.1"


def test_rate_limit_settings_come_from_the_environment(tmp_path: Any) -> None:
    env = {
        "OCOP_KEY_PASSPHRASE": "not-the-demo",
        "OCOP_RATE_LIMIT_VERIFY": "100/second;1000/minute",
        "OCOP_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
    }
    settings = Settings.load(tmp_path, env)
    assert settings.rate_limits.verify == "100/second;1000/minute"
    assert settings.rate_limits.sign_in == RateLimits().sign_in
    assert settings.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    for variable, value in [
        ("OCOP_RATE_LIMIT_VERIFY", "lots"),
        ("OCOP_RATE_LIMIT_SIGN_IN", "0/minute"),
        ("OCOP_TRUSTED_PROXIES", "10.0.0.0/8, proxy.example"),
    ]:
        with pytest.raises(SettingsError):
            Settings.load(tmp_path, {**env, variable: value})


def test_the_limiter_counts_in_windows_and_says_when_to_come_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every limit of a kind counts (a burst and an hourly one); the window before weighs by
    the share of it still inside the last window's length; the wait is until one more request
    fits; counters of clients quiet for two windows are swept."""
    clock = [3600.0 * 100 + 10]  # 10 s into a minute and into an hour
    monkeypatch.setattr("verifier.web.ratelimits.time.monotonic", lambda: clock[0])
    limiter = Limiter(RateLimits(sign_in="2/minute;3/hour"))
    # the refused third counts too: 3 in this minute weigh 1 (what fits before one more) only
    # 40 s into the next (3 x 20/60), 90 s from now
    assert [limiter.hit("sign_in", "a") for _ in range(3)] == [None, None, 90]
    assert limiter.exhausted("sign_in", "a") == 90
    assert limiter.hit("sign_in", "b") is None  # another client, its own counters
    clock[0] += 90  # the minute's count has room again; the hour's holds 3 of 3, which weigh 2
    assert limiter.exhausted("sign_in", "a") == 3600 - 100 + 1200  # 20 minutes into the next
    assert limiter.hit("sign_in", "a") == 3600 - 100 + 1800  # 4, refused, weigh 2 half-way
    clock[0] += 2 * 3600  # two hours on, and a sweep of what passed
    assert limiter.exhausted("sign_in", "a") is None
    assert limiter.hit("sign_in", "a") is None
    assert len(limiter._counts) == 2  # client a's minute and hour; b's were swept


def test_a_burst_across_a_windows_end_is_refused_regression(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CI run of stop 24: four checks at a 3/minute limit, the fourth past the minute's end,
    all answered 200 (fixed windows started counting afresh). The window before still weighs:
    a burst is refused wherever it falls, and a client waits out the even spread of it."""
    clock = [60.0 * 1000 + 59.99]  # a hundredth of a second before a minute ends
    monkeypatch.setattr("verifier.web.ratelimits.time.monotonic", lambda: clock[0])
    limiter = Limiter(RateLimits(verify="3/minute"))
    answers = [limiter.hit("verify", "a") for _ in range(3)]
    clock[0] += 0.02  # into the next minute
    answers.append(limiter.hit("verify", "a"))
    assert answers[:3] == [None] * 3
    # with the refused one, 3 of the last minute must weigh 1 (what fits before one more): 40 s in
    assert answers[3] == 40
    clock[0] += 40
    assert limiter.hit("verify", "a") is None
    assert limiter.hit("verify", "a") == 40  # this minute's 3 weigh 1 only 40 s into the next


@pytest.mark.parametrize(
    "path",
    ["/01/08935049500018", "/01/08935049500018/10/MO-2026-05", "/api/v1/lots/1",
     "/api/v1/products/1/lots"],
)  # fmt: skip
def test_a_flood_of_digital_links_or_lots_gets_429_regression(make_app: MakeApp, path: str) -> None:
    """The Digital Link pages and the public lot reads each read the database (a product by its
    GTIN, its lots) for any anonymous client: they were counted against no limit. They count
    as checks now, as the stamp pages do."""
    client = _client(make_app(OCOP_RATE_LIMIT_VERIFY="5/minute"))
    answers = [client.get(path, headers={"Accept": "application/json"}) for _ in range(7)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    if path.startswith("/api/"):
        _assert_rate_limited(answers[5])
    else:  # a page a person opened: a readable page in Vietnamese
        assert answers[5].status_code == 429
        assert int(answers[5].headers["retry-after"]) >= 1
        assert "giây" in answers[5].text
