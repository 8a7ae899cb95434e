"""What the scanner page needs from the server, without a browser: the page and its settings,
the service worker, compressed static files, the signed registry snapshot, and the
inspector reports API (idempotent uploads, clear refusals)."""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from signing import SNAPSHOT_TYPE, parse_stamp
from signing._jws import verify as verify_jws
from tests.conftest import NOW, Demo
from verifier.settings import Settings, SettingsError
from verifier.web.routes.scanner_page import PACKAGE_STATIC, SHELL_HEADER, shell


def _config(page: str) -> dict[str, Any]:
    raw = page.split('<script id="ocop-config" type="application/json">')[1].split(
        "</script>", maxsplit=1
    )[0]
    config: dict[str, Any] = json.loads(raw)
    return config


def test_the_scan_page_is_vietnamese_first_and_carries_its_keys_and_words(demo: Demo) -> None:
    page = demo.client.get("/scan")
    assert page.status_code == 200
    assert "Quét tem OCOP" in page.text
    config = _config(page.text)
    assert config["root_keys"] == [demo.service.root_public.hex()]
    assert config["texts"]["verdicts"]["genuine"][0] == "Tem OCOP thật"
    assert config["texts"]["tone"]["revoked"] == "red"
    assert config["max_list_age_hours"] == demo.service.settings.scanner_list_age_hours
    english = _config(demo.client.get("/scan", params={"lang": "en"}).text)
    assert english["texts"]["ui"]["checked_offline"].startswith("Checked offline")


def test_the_service_worker_may_control_the_whole_site(demo: Demo) -> None:
    answer = demo.client.get("/sw.js")
    assert answer.headers["service-worker-allowed"] == "/"
    assert answer.headers["content-type"].startswith("text/javascript")
    assert "/static/vendor/zxing-wasm/zxing_reader.wasm" in answer.text


def test_the_decoder_is_served_as_wasm_and_compressed(demo: Demo) -> None:
    path = "/static/vendor/zxing-wasm/zxing_reader.wasm"
    plain = demo.client.get(path, headers={"Accept-Encoding": "identity"})
    packed = demo.client.get(path, headers={"Accept-Encoding": "gzip"})
    assert plain.headers["content-type"] == "application/wasm"
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # httpx decodes; the bytes on the wire are fewer
    assert packed.num_bytes_downloaded < len(plain.content) * 0.6


def test_the_registry_snapshot_is_signed_and_names_every_product(demo: Demo) -> None:
    answer = demo.client.get("/.well-known/ocop/registry-snapshot")
    claims = verify_jws(answer.content, SNAPSHOT_TYPE, [demo.service.root_public], "snapshot")
    genuine = parse_stamp(demo.sample("genuine")).payload.certificate_id
    entry = next(c for c in claims["certificates"] if c["certificate_id"] == genuine)
    assert entry["product"] == "Mật ong hoa nhãn Ba Vì"
    assert entry["issuer"] == "VN-01"
    assert (entry["stars"], entry["status"]) == (4, "active")
    etag = answer.headers["etag"]
    again = demo.client.get("/.well-known/ocop/registry-snapshot", headers={"If-None-Match": etag})
    assert again.status_code == 304


def _report(demo: Demo, **changes: Any) -> dict[str, Any]:
    photo = base64.b64encode(b"\xff\xd8\xff\xe0 a tiny jpeg").decode()
    report = {
        "client_id": str(uuid.uuid4()),
        "created_at": NOW.isoformat(),
        "code": demo.sample("star_mismatch"),
        "verdict": "star_mismatch",
        "stars_seen": 5,
        "shop_name": "Tạp hóa Minh Anh",
        "address": "Chợ Đồng Xuân, Hà Nội",
        "latitude": 21.03,
        "longitude": 105.85,
        "note": "",
        "photos": [f"data:image/jpeg;base64,{photo}"],
    }
    return {**report, **changes}


def test_a_report_is_filed_once_however_often_it_is_sent(demo: Demo) -> None:
    inspector = demo.token("inspector")
    report = _report(demo)
    first = demo.client.post("/api/v1/reports", json=report, headers=inspector)
    again = demo.client.post("/api/v1/reports", json=report, headers=inspector)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["serial"] == parse_stamp(report["code"]).payload.serial
    mine = demo.client.get("/api/v1/reports", headers=inspector).json()["reports"]
    assert [r["client_id"] for r in mine].count(report["client_id"]) == 1
    assert mine[0]["photos"] == 1


@pytest.mark.parametrize(
    ("changes", "role", "status", "code"),
    [
        ({}, "producer", 403, "forbidden"),
        ({}, None, 401, "unauthorized"),
        ({"photos": ["data:text/html;base64,PGI+"]}, "inspector", 422, "invalid"),
        ({"photos": ["data:image/png;base64,@@@"]}, "inspector", 422, "invalid"),
        ({"photos": ["data:image/png;base64,AAAA"] * 4}, "inspector", 422, "invalid_request"),
        ({"verdict": "fine"}, "inspector", 422, "invalid_request"),
        ({"latitude": 95}, "inspector", 422, "invalid_request"),
        ({"client_id": "x"}, "inspector", 422, "invalid_request"),
        ({"created_at": "2026-11-24T10:00:00"}, "inspector", 422, "invalid"),
        ({"photos": ["data:image/png;base64," + "A" * (9 * 1024 * 1024)]}, "inspector", 413,
         "too_large"),
    ],
)  # fmt: skip
def test_bad_reports_are_refused_and_store_nothing(
    demo: Demo, changes: dict[str, Any], role: str | None, status: int, code: str
) -> None:
    inspector = demo.token("inspector")
    before = len(demo.client.get("/api/v1/reports", headers=inspector).json()["reports"])
    headers = demo.token(role) if role else {}
    answer = demo.client.post("/api/v1/reports", json=_report(demo, **changes), headers=headers)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    after = demo.client.get("/api/v1/reports", headers=inspector).json()["reports"]
    assert len(after) == before


def test_the_scanner_list_age_is_a_setting(tmp_path: Path) -> None:
    (tmp_path / "demo.json").write_text("{}")
    environ = {"OCOP_SCANNER_LIST_AGE_HOURS": "12"}
    assert Settings.load(tmp_path, environ).scanner_list_age_hours == 12
    with pytest.raises(SettingsError, match="whole number of hours"):
        Settings.load(tmp_path, {"OCOP_SCANNER_LIST_AGE_HOURS": "soon"})


def test_the_snapshot_sends_only_what_changed_since_a_version(demo: Demo) -> None:
    root = [demo.service.root_public]
    full = demo.client.get("/.well-known/ocop/registry-snapshot")
    held = verify_jws(full.content, SNAPSHOT_TYPE, root, "snapshot")
    nothing = demo.client.get(
        "/.well-known/ocop/registry-snapshot", params={"since": held["version"]}
    )
    unchanged = verify_jws(nothing.content, SNAPSHOT_TYPE, root, "snapshot")
    assert (unchanged["since"], unchanged["certificates"]) == (held["version"], [])
    certificate = parse_stamp(demo.sample("genuine")).payload.certificate_id
    revoked = demo.client.post(
        f"/api/v1/certificates/{certificate}/revoke",
        json={"decision": "QĐ-1/2026", "decision_date": "2026-11-23", "reason": "Nhãn sai"},
        headers=demo.token("authority_VN-01"),
    )
    assert revoked.status_code == 200
    demo.publish()
    changes = demo.client.get(
        "/.well-known/ocop/registry-snapshot", params={"since": held["version"]}
    )
    claims = verify_jws(changes.content, SNAPSHOT_TYPE, root, "snapshot")
    assert claims["version"] > held["version"]
    assert [(c["certificate_id"], c["status"]) for c in claims["certificates"]] == [
        (certificate, "revoked")
    ]
    assert len(changes.content) < len(full.content) / 2


def test_the_page_and_its_worker_name_the_files_by_their_content(
    demo: Demo, tmp_path: Path
) -> None:
    """The worker's cache was named by hand (ocop-scan-v6) and served the page's code
    cache-first: a changed scan.js never reached a phone that had the page. Now a change to a
    file changes its name and the cache's, and only its own."""
    page = demo.client.get("/scan")
    urls = _config(page.text)["shell"]["urls"]
    version = page.headers[SHELL_HEADER]
    worker = demo.client.get("/sw.js").text
    assert "__OCOP_" not in worker
    assert "/.well-known/" not in worker  # the page keeps the lists: a first visit gets them once
    assert f"const VERSION = {json.dumps(version)};" in worker
    for url in urls.values():
        assert url in worker
    assert f'src="{urls["scan.js"]}"' in page.text
    assert urls["scan.js"].startswith("/static/scan.js?v=")
    served = demo.client.get(urls["scan.js"])
    assert served.content == (PACKAGE_STATIC / "scan.js").read_bytes()
    static = tmp_path / "static"
    shutil.copytree(PACKAGE_STATIC, static)
    before = shell(static)
    assert before.version == version
    with (static / "scan.js").open("a", encoding="utf-8") as code:
        code.write("\n// changed\n")
    after = shell(static)
    assert after.version != before.version
    changed = {name for name in before.urls if after.urls[name] != before.urls[name]}
    assert changed == {"scan.js"}  # the decoder keeps its name: not downloaded again


def test_the_static_files_directory_is_a_setting(tmp_path: Path) -> None:
    (tmp_path / "demo.json").write_text("{}")
    assert Settings.load(tmp_path, {}).static_dir is None
    assert Settings.load(tmp_path, {"OCOP_STATIC_DIR": str(tmp_path)}).static_dir == tmp_path
    with pytest.raises(SettingsError, match="OCOP_STATIC_DIR"):
        Settings.load(tmp_path, {"OCOP_STATIC_DIR": str(tmp_path / "missing")})
