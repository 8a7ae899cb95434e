"""The producer API for batches: order, look, download the PDF, CSV and ZIP (streamed), and
every refusal as a clear 4xx."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from signing import parse_stamp
from stamps.data_files import CsvManifest
from stamps.sheet import Layout
from tests.conftest import Demo
from verifier.settings import Settings, SettingsError


def _order(demo: Demo, count: int, role: str = "producer") -> dict[str, object]:
    certificate = parse_stamp(demo.sample("genuine")).payload.certificate_id
    response = demo.client.post(
        "/api/v1/batches",
        json={"certificate_id": certificate, "count": count},
        headers=demo.token(role),
    )
    assert response.status_code == 201, response.text
    batch: dict[str, object] = response.json()
    return batch


def test_a_producer_downloads_the_three_files_of_its_batch(demo: Demo) -> None:
    batch = _order(demo, 80)
    files = batch["files"]
    assert isinstance(files, dict)
    producer = demo.token("producer")

    pdf = demo.client.get(files["pdf"], headers=producer)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert f'filename="ocop-batch-{batch["id"]}.pdf"' in pdf.headers["content-disposition"]
    assert pdf.content.startswith(b"%PDF-1.4")
    assert pdf.content.rstrip().endswith(b"%%EOF")
    assert pdf.content.count(b"/Type /Page ") == 2  # 72 stamps on an A4 page

    manifest = list(
        csv.DictReader(io.StringIO(demo.client.get(files["csv"], headers=producer).text))
    )
    serials = [int(row["serial"]) for row in manifest]
    assert serials == list(
        range(int(str(batch["first_serial"])), int(str(batch["last_serial"])) + 1)
    )
    assert [row["page"] for row in manifest].count("2") == 8

    archive = zipfile.ZipFile(io.BytesIO(demo.client.get(files["zip"], headers=producer).content))
    names = archive.namelist()
    assert len(names) == 80
    decoded = zxingcpp.read_barcodes(Image.open(archive.open(names[-1])))
    assert [r.text for r in decoded] == [manifest[-1]["url"]]

    again = demo.client.get(files["pdf"], headers=producer)  # signatures are deterministic
    assert again.content == pdf.content


def test_the_issuing_authority_downloads_a_roll(demo: Demo) -> None:
    batch = _order(demo, 3, role="authority_VN-01")
    response = demo.client.get(
        f"/api/v1/batches/{batch['id']}/stamps.pdf",
        params={"layout": "roll", "stamp_size": 25},
        headers=demo.token("authority_VN-01"),
    )
    assert response.status_code == 200
    assert response.content.count(b"/Type /Page ") == 3


@pytest.mark.parametrize(
    ("role", "path", "params", "status", "code"),
    [
        ("inspector", "stamps.pdf", {}, 403, "forbidden"),
        ("authority_VN-TW", "stamps.pdf", {}, 403, "forbidden"),
        (None, "stamps.pdf", {}, 401, "unauthorized"),
        ("producer", "stamps.pdf", {"stamp_size": 5}, 422, "invalid_request"),
        ("producer", "stamps.pdf", {"paper": "A0"}, 422, "invalid_request"),
        ("producer", "stamps.pdf", {"paper": "A5", "stamp_size": 60, "margin": 50}, 422, "invalid"),
        ("producer", "stamps.docx", {}, 422, "invalid_request"),
    ],
)
def test_downloads_refused_with_a_clear_error(
    demo: Demo, role: str | None, path: str, params: dict[str, object], status: int, code: str
) -> None:
    batch = _order(demo, 2)
    headers = demo.token(role) if role else {}
    response = demo.client.get(f"/api/v1/batches/{batch['id']}/{path}", params=params,
                               headers=headers)  # fmt: skip
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_a_producer_downloads_its_batch_in_the_gs1_digital_link_form(demo: Demo) -> None:
    """Issue 20: ``?form=gs1`` for a product with a GTIN; refused, queueing nothing, for a
    product without one or stamps too small for its QR code."""
    batch = _order(demo, 5)
    producer = demo.token("producer")
    manifest = list(csv.DictReader(io.StringIO(demo.client.get(
        f"/api/v1/batches/{batch['id']}/stamps.csv", params={"form": "gs1"}, headers=producer,
    ).text)))  # fmt: skip
    assert [row["url"][:37] for row in manifest] == ["https://ocop.vn/01/08935049500018/21/"] * 5
    for row in manifest:
        verdict = demo.client.get("/api/v1/verify", params={"code": row["url"]}).json()
        assert verdict["verdict"] == "genuine"
    pdf = demo.client.get(f"/api/v1/batches/{batch['id']}/stamps.pdf?form=gs1", headers=producer)
    assert pdf.status_code == 200
    small = demo.client.get(f"/api/v1/batches/{batch['id']}/stamps.pdf",
                            params={"form": "gs1", "stamp_size": 16}, headers=producer)  # fmt: skip
    assert (small.status_code, small.json()["error"]["code"]) == (422, "invalid")
    assert "19 mm" in small.json()["error"]["message"]
    tea = parse_stamp(demo.sample("genuine_5_stars")).payload.certificate_id
    other = demo.client.post("/api/v1/batches", json={"certificate_id": tea, "count": 2},
                             headers=demo.token("authority_VN-TW")).json()  # fmt: skip
    for _ in range(3):  # more than the downloads a token may have open: none was left open
        refused = demo.client.get(f"/api/v1/batches/{other['id']}/stamps.pdf?form=gs1",
                                  headers=demo.token("authority_VN-TW"))  # fmt: skip
        assert refused.status_code == 422
        assert "has no GTIN" in refused.json()["error"]["message"]
    assert demo.client.get(f"/api/v1/batches/{other['id']}/stamps.pdf",
                           headers=demo.token("authority_VN-TW")).status_code == 200  # fmt: skip


def test_void_batches_and_unknown_batches_are_not_printed(demo: Demo) -> None:
    batch = _order(demo, 2)
    voided = demo.client.post(
        f"/api/v1/batches/{batch['id']}/void",
        json={"reason": "roll stolen from the print shop"},
        headers=demo.token("authority_VN-01"),
    )
    assert voided.status_code == 200
    assert voided.json()["files"] == {}
    producer = demo.token("producer")
    refused = demo.client.get(f"/api/v1/batches/{batch['id']}/stamps.pdf", headers=producer)
    assert refused.status_code == 409
    assert "voided" in refused.json()["error"]["message"]
    missing = demo.client.get("/api/v1/batches/999999/stamps.pdf", headers=producer)
    assert missing.status_code == 404
    shown = demo.client.get(f"/api/v1/batches/{batch['id']}", headers=producer)
    assert shown.json()["state"] == "void"


def test_a_revoked_certificate_stops_printing(demo: Demo) -> None:
    batch = _order(demo, 2)
    certificate = batch["certificate_id"]
    revoked = demo.client.post(
        f"/api/v1/certificates/{certificate}/revoke",
        json={"decision": "QĐ-99/2026", "decision_date": "2026-11-20", "reason": "fails tests"},
        headers=demo.token("authority_VN-01"),
    )
    assert revoked.status_code == 200, revoked.text
    refused = demo.client.get(f"/api/v1/batches/{batch['id']}/stamps.csv",
                              headers=demo.token("producer"))  # fmt: skip
    assert refused.status_code == 409
    assert "no longer active" in refused.json()["error"]["message"]


@pytest.mark.parametrize("host", ["ocop.vn/s", "ocop vn", "ocop.vn,x", '"ocop.vn"', "-ocop.vn"])
def test_the_public_host_must_be_a_host_name(tmp_path: Path, host: str) -> None:
    """The host goes into every printed URL and every manifest row: refused at start."""
    (tmp_path / "demo.json").write_text("{}")
    assert Settings.load(tmp_path, {"OCOP_PUBLIC_HOST": "tem.ocop.gov.vn:8443"}).public_host
    with pytest.raises(SettingsError, match="OCOP_PUBLIC_HOST"):
        Settings.load(tmp_path, {"OCOP_PUBLIC_HOST": host})


def test_the_manifest_refuses_a_host_that_would_need_quoting() -> None:
    """Manifest rows are written without a CSV writer; a host with a comma would shift the
    columns of every row."""
    assert CsvManifest(Layout.sheet(), "tem.ocop.gov.vn").take().startswith(b"serial,")
    with pytest.raises(ValueError, match="host name"):
        CsvManifest(Layout.sheet(), "ocop.vn,x")
