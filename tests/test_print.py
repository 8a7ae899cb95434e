"""The print test: batches made by `ocop stamps batch`, rasterised by PDFium (the engine of
Chrome's and Edge's PDF viewers and print dialogs) as a printer would, decode with zxing-cpp,
every stamp on every page, to exactly the serials, URLs and positions of the CSV manifest, in
order. A batch with claims (issue 21) prints each stamp's PIN in its panel, where the layout
says, as the manifest and the batch's secret say."""

from __future__ import annotations

import argparse
import csv
import io
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from signing import STAMP_DIGITS, parse_stamp
from stamps.chunks import ChunkEncoder
from stamps.pdf import MM
from stamps.sheet import DEFAULT_MARGIN_MM, MIN_GS1_STAMP_MM, MIN_STAMP_MM, Layout, PdfSheets
from tests.conftest import NOW, Demo
from verifier.claims.pins import pin_of, printed_pin
from verifier.cli import main, stamp_batches
from verifier.store.models import Batch
from verifier.web.routes.batch_api import PrintOptions

MM_PER_INCH = 25.4


def _render(pdf: Path, dpi: int) -> list[Image.Image]:
    """The PDF's pages as a printer would raster them, in greyscale at ``dpi``."""
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.render(scale=dpi / 72, grayscale=True).to_pil() for page in document]
    finally:
        document.close()


def _decoded(pages: list[Image.Image], layout: Layout, dpi: int) -> list[dict[str, Any]]:
    """Every QR found, with the page, row and column its centre falls in."""
    found = []
    width, height = layout.cell
    for number, page in enumerate(pages, start=1):
        for result in zxingcpp.read_barcodes(page):
            corners = result.position
            x = (corners.top_left.x + corners.bottom_right.x) / 2 / dpi * MM_PER_INCH
            y = layout.page_height - (corners.top_left.y + corners.bottom_right.y) / 2 / dpi * (
                MM_PER_INCH
            )
            row, column = next(
                (r, c)
                for r in range(1, layout.rows + 1)
                for c in range(1, layout.columns + 1)
                if 0 <= x - layout.origin(r, c)[0] <= width
                and 0 <= y - layout.origin(r, c)[1] <= height
            )
            found.append({"page": number, "row": row, "column": column, "url": result.text})
    return sorted(found, key=lambda f: (f["page"], f["row"], f["column"]))


Box = tuple[float, float, float, float]  # left, bottom, right, top in points


def _field(layout: Layout, row: int, column: int) -> Box:
    """The PIN field of a cell, as the layout gives it, in points."""
    left, bottom, width, height = (v * MM for v in layout.pin_field(row, column))
    return left, bottom, left + width, bottom + height


def _inside(box: Box, field: Box) -> bool:
    return field[0] <= box[0] and box[2] <= field[2] and field[1] <= box[1] and box[3] <= field[3]


def _overlaps(box: Box, field: Box) -> bool:
    return box[0] < field[2] and box[2] > field[0] and box[1] < field[3] and box[3] > field[1]


def _chars(page: pdfium.PdfPage) -> list[tuple[str, Box]]:
    """The characters PDFium finds on ``page`` (white space left out), with their boxes."""
    text = page.get_textpage()
    chars = [(text.get_text_range(i, 1), text.get_charbox(i)) for i in range(text.count_chars())]
    return [(c, box) for c, box in chars if c.strip()]


def _pin_fields(pdf: Path, layout: Layout) -> list[dict[str, Any]]:
    """The text in each cell's PIN field, page by page: the characters whose box lies inside
    the field the layout gives, and how many more only straddle its edge. Cells whose field
    holds no character are left out."""
    found = []
    document = pdfium.PdfDocument(pdf)
    try:
        for number, page in enumerate(document, start=1):
            chars = _chars(page)
            for row in range(1, layout.rows + 1):
                for column in range(1, layout.columns + 1):
                    field = _field(layout, row, column)
                    inside = "".join(c for c, box in chars if _inside(box, field))
                    touching = sum(1 for _, box in chars if _overlaps(box, field))
                    if touching:
                        place = {"page": number, "row": row, "column": column}
                        found.append({**place, "pin": inside, "straddling": touching - len(inside)})
    finally:
        document.close()
    return found


def _check_pins(pdf: Path, layout: Layout, manifest: list[dict[str, str]], secret: bytes) -> None:
    """Each stamp's PIN field holds the manifest's PIN, whole, and that PIN is the batch's."""
    expected = [
        {"page": int(m["page"]), "row": int(m["row"]), "column": int(m["column"]),
         "pin": m["pin"].replace(" ", ""), "straddling": 0}
        for m in manifest
    ]  # fmt: skip
    assert _pin_fields(pdf, layout) == expected
    for m in manifest:
        assert m["pin"] == printed_pin(pin_of(secret, int(m["key_index"]), int(m["serial"])))


def _batch_secret(demo: Demo, batch_id: int | None = None) -> bytes:
    """The PIN secret of batch ``batch_id``, or of the newest batch."""
    demo.service.refresh()
    with demo.service.sessions() as session:
        query = select(Batch).order_by(Batch.id.desc())
        batch = session.get(Batch, batch_id) if batch_id else session.scalars(query).first()
        assert batch is not None
        assert batch.claim_secret is not None
        return batch.claim_secret


def _batch(demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Path:
    monkeypatch.setenv("OCOP_DATABASE_URL", demo.service.settings.database_url)
    certificate = str(parse_stamp(demo.sample("genuine")).payload.certificate_id)
    files = ["--out", str(tmp_path / "s.pdf"), "--csv", str(tmp_path / "s.csv")]
    command = ["stamps", "batch", "--data-dir", str(demo.data_dir), "--certificate", certificate,
               *files, *args]  # fmt: skip
    assert main(command) == 0
    return tmp_path


def _manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / "s.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def _check(folder: Path, layout: Layout, dpi: int) -> list[dict[str, str]]:
    manifest = _manifest(folder)
    decoded = _decoded(_render(folder / "s.pdf", dpi), layout, dpi)
    expected = [
        {"page": int(m["page"]), "row": int(m["row"]), "column": int(m["column"]), "url": m["url"]}
        for m in manifest
    ]
    assert decoded == expected
    return manifest


def test_a4_sheets_at_300_dpi_decode_to_the_manifest_in_order(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = Layout.sheet(cut_marks=True)
    count = layout.per_page * 2 + 9  # two full pages and a partial third
    folder = _batch(demo, tmp_path, monkeypatch, "--count", str(count), "--cut-marks",
                    "--zip", str(tmp_path / "s.zip"))  # fmt: skip
    manifest = _check(folder, layout, 300)
    assert len(manifest) == count
    assert {m["page"] for m in manifest} == {"1", "2", "3"}
    assert {m["pin"] for m in manifest} == {""}  # no claims: no PIN, and no panel
    document = pdfium.PdfDocument(folder / "s.pdf")
    assert "PIN" not in document[0].get_textpage().get_text_bounded()
    document.close()
    demo.service.refresh()  # the batch was issued by another process: the CLI
    serials = [int(m["serial"]) for m in manifest]
    assert serials == list(range(serials[0], serials[0] + count))
    for m in manifest:  # every stamp is genuine and says what the manifest says
        stamp = parse_stamp(m["url"])
        assert (stamp.payload.serial, stamp.digits) == (int(m["serial"]), m["digits"])
        verdict = demo.client.get("/api/v1/verify", params={"code": m["url"]}).json()
        assert verdict["verdict"] == "genuine"
    with zipfile.ZipFile(folder / "s.zip") as archive:
        names = archive.namelist()
        assert names == [f"{m['printed_serial']}.png" for m in manifest]
        first = zxingcpp.read_barcodes(Image.open(archive.open(names[0])))
        assert [r.text for r in first] == [manifest[0]["url"]]


def test_the_smallest_stamps_decode_at_150_dpi(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = Layout.sheet(stamp_mm=MIN_STAMP_MM, gap=2)
    folder = _batch(demo, tmp_path, monkeypatch, "--count", str(layout.per_page + 3),
                    "--stamp-size", str(MIN_STAMP_MM), "--gap", "2")  # fmt: skip
    assert len(_check(folder, layout, 150)) == layout.per_page + 3


def test_the_gs1_form_at_its_smallest_size_decodes_to_the_manifest_and_is_genuine(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20: stamps in their GS1 Digital Link form (QR version 8 at level M) at 19 mm,
    read at 150 dpi; each genuine, naming the honey's GTIN."""
    layout = Layout.sheet(stamp_mm=MIN_GS1_STAMP_MM, gap=2)
    folder = _batch(demo, tmp_path, monkeypatch, "--count", str(layout.per_page + 3), "--form",
                    "gs1", "--stamp-size", str(MIN_GS1_STAMP_MM), "--gap", "2")  # fmt: skip
    manifest = _check(folder, layout, 150)
    assert len(manifest) == layout.per_page + 3
    demo.service.refresh()
    for m in manifest[:: layout.per_page // 4]:
        assert m["url"].startswith("https://ocop.vn/01/08935049500018/21/")
        stamp = parse_stamp(m["url"])
        assert (stamp.payload.serial, stamp.digits) == (int(m["serial"]), m["digits"])
        verdict = demo.client.get("/api/v1/verify", params={"code": m["url"]}).json()
        assert verdict["verdict"] == "genuine"


@pytest.mark.parametrize("form", ["decimal", "gs1"])
def test_the_error_correction_level_asked_is_the_one_printed_regression(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    """``ocop stamps batch --level Q`` printed level M: the option never reached the encoder."""
    folder = _batch(demo, tmp_path, monkeypatch, "--count", "3", "--level", "Q", "--form", form)
    found = zxingcpp.read_barcodes(_render(folder / "s.pdf", 300)[0])
    assert [r.ec_level for r in found] == ["Q"] * 3


def test_the_gs1_form_needs_a_gtin_and_room(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("OCOP_DATABASE_URL", demo.service.settings.database_url)
    tea = str(parse_stamp(demo.sample("genuine_5_stars")).payload.certificate_id)
    with demo.service.sessions() as session:
        before = session.scalar(select(func.count()).select_from(Batch))
    common = ["stamps", "batch", "--data-dir", str(demo.data_dir), "--count", "2",
              "--out", str(tmp_path / "s.pdf"), "--form", "gs1"]  # fmt: skip
    assert main([*common, "--certificate", tea]) == 2
    assert "has no GTIN" in capsys.readouterr().err
    honey = str(parse_stamp(demo.sample("genuine")).payload.certificate_id)
    assert main([*common, "--certificate", honey, "--stamp-size", str(MIN_STAMP_MM)]) == 2
    assert "19 mm at least" in capsys.readouterr().err
    with demo.service.sessions() as session:  # neither refusal recorded a batch
        assert session.scalar(select(func.count()).select_from(Batch)) == before
    assert not (tmp_path / "s.pdf").exists()


def test_a_roll_has_one_stamp_per_page(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = Layout.roll(25)
    folder = _batch(demo, tmp_path, monkeypatch, "--count", "4", "--layout", "roll",
                    "--stamp-size", "25")  # fmt: skip
    manifest = _check(folder, layout, 300)
    assert [(m["page"], m["row"], m["column"]) for m in manifest] == [
        (str(p), "1", "1") for p in range(1, 5)
    ]


def test_an_interrupted_batch_leaves_no_file_that_looks_complete(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Serials are recorded before anything is signed; the PDF only ever appears whole."""

    def interrupt(done: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(
        "verifier.cli.stamp_batches._Progress.__call__", lambda self, done: interrupt(done)
    )
    monkeypatch.setenv("OCOP_DATABASE_URL", demo.service.settings.database_url)
    certificate = str(parse_stamp(demo.sample("genuine")).payload.certificate_id)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(KeyboardInterrupt):
        main(["stamps", "batch", "--data-dir", str(demo.data_dir), "--certificate", certificate,
              "--count", "5000", "--out", str(out / "s.pdf")])  # fmt: skip
    assert list(out.iterdir()) == []
    recorded = capsys.readouterr().err
    assert "serials" in recorded
    assert "recorded" in recorded
    demo.service.refresh()
    with demo.service.sessions() as session:
        batch = session.scalars(select(Batch).order_by(Batch.id.desc())).first()
        assert batch is not None
        assert batch.count == 5000
        assert batch.created_at == NOW  # the command's clock is the pinned one


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "100001"], "a batch holds 1 to 100,000 stamps"),
        (["--count", "5", "--stamp-size", "5"], "stamp size must be 16-60 mm"),
        (["--count", "5", "--layout", "sheet", "--margin", "120"], "no stamp fits"),
    ],
)
def test_batch_limits_are_clear_errors_that_change_nothing(
    demo: Demo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("OCOP_DATABASE_URL", demo.service.settings.database_url)
    with demo.service.sessions() as session:
        before = session.scalars(select(Batch.id)).all()
    out = tmp_path / "out"
    out.mkdir()
    command = ["stamps", "batch", "--data-dir", str(demo.data_dir), "--certificate", "1",
               "--out", str(out / "s.pdf"), *args]  # fmt: skip
    assert main(command) == 2
    assert message in capsys.readouterr().err
    assert list(out.iterdir()) == []
    with demo.service.sessions() as session:
        assert session.scalars(select(Batch.id)).all() == before


@pytest.mark.parametrize("kind", ["sheet", "roll"])
def test_the_command_and_the_api_print_with_the_same_defaults(kind: str) -> None:
    """One set of print defaults (they were written in the command and in the API apart)."""
    parser = argparse.ArgumentParser()
    stamp_batches.add_parsers(parser.add_subparsers())
    args = parser.parse_args(["stamps", "batch", "--data-dir", ".", "--certificate", "1",
                              "--count", "1", "--out", "s.pdf", "--layout", kind])  # fmt: skip
    command = Layout.of_kind(
        args.layout, args.paper, args.stamp_size, args.margin, args.gap, args.cut_marks
    )
    assert command == PrintOptions.model_validate({"layout": kind}).page_layout()
    assert command.margin == DEFAULT_MARGIN_MM[kind]


@pytest.mark.parametrize(
    ("kind", "layout", "dpi"),
    [("sheet", Layout.sheet(), 300), ("roll", Layout.roll(), 300),
     ("sheet", Layout.sheet(stamp_mm=MIN_STAMP_MM), 150)],
    ids=["sheet", "roll", "smallest"],
)  # fmt: skip
def test_a_claims_batch_prints_each_pin_in_its_panel_apart_from_the_qr(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, layout: Layout,
    dpi: int,
) -> None:  # fmt: skip
    """Issue 21's print test: every QR decodes to the manifest's URL at its place, and every
    PIN field holds the manifest's PIN, which is the one the batch's secret gives."""
    layout = layout.with_pin_panels()
    count = layout.per_page + 3 if kind == "sheet" else 3
    folder = _batch(demo, tmp_path, monkeypatch, "--count", str(count), "--claims",
                    "--layout", kind, "--stamp-size", str(layout.stamp_mm),
                    "--zip", str(tmp_path / "s.zip"))  # fmt: skip
    manifest = _check(folder, layout, dpi)
    assert len(manifest) == count
    assert len({m["pin"] for m in manifest}) == count
    _check_pins(folder / "s.pdf", layout, manifest, _batch_secret(demo))
    with zipfile.ZipFile(folder / "s.zip") as archive:  # the QR alone: no PIN by its side
        image = Image.open(archive.open(archive.namelist()[0]))
        assert image.width == image.height
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [manifest[0]["url"]]


def test_the_pin_digits_are_tall_enough_to_read_under_foil(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a stamp of the default 20 mm, the PIN's digits stand 3.5 mm tall at least."""
    folder = _batch(demo, tmp_path, monkeypatch, "--count", "1", "--claims")
    document = pdfium.PdfDocument(folder / "s.pdf")
    field = _field(Layout.sheet().with_pin_panels(), 1, 1)
    heights = [(box[3] - box[1]) / MM for _, box in _chars(document[0]) if _inside(box, field)]
    document.close()
    assert len(heights) == 8
    assert min(heights) >= 3.5


def test_the_api_prints_a_claims_batch_with_its_pins_and_a_plain_one_without(
    demo: Demo, tmp_path: Path
) -> None:
    """The download streamed from the signer's codes: the manifest's pin column and the PIN
    panels for a batch ordered with claims; an empty column and no panel for one without."""
    certificate = parse_stamp(demo.sample("genuine")).payload.certificate_id
    producer = demo.token("producer")
    batches = {}
    for claims in (True, False):
        order = {"certificate_id": certificate, "count": 4, "claims": claims}
        ordered = demo.client.post("/api/v1/batches", json=order, headers=producer)
        assert ordered.status_code == 201, ordered.text
        batches[claims] = ordered.json()["id"]
    layout = Layout.roll().with_pin_panels()
    files = f"/api/v1/batches/{batches[True]}/stamps"
    answer = demo.client.get(f"{files}.csv", params={"layout": "roll"}, headers=producer)
    assert answer.status_code == 200, answer.text
    manifest = list(csv.DictReader(io.StringIO(answer.text)))
    pdf = tmp_path / "s.pdf"
    pdf.write_bytes(demo.client.get(f"{files}.pdf", params={"layout": "roll"},
                                    headers=producer).content)  # fmt: skip
    decoded = _decoded(_render(pdf, 300), layout, 300)
    assert [d["url"] for d in decoded] == [m["url"] for m in manifest]
    _check_pins(pdf, layout, manifest, _batch_secret(demo, batches[True]))
    plain = f"/api/v1/batches/{batches[False]}/stamps"
    rows = list(csv.DictReader(io.StringIO(demo.client.get(f"{plain}.csv", headers=producer).text)))
    assert [r["pin"] for r in rows] == [""] * 4
    pdf.write_bytes(demo.client.get(f"{plain}.pdf", headers=producer).content)
    document = pdfium.PdfDocument(pdf)
    assert "PIN" not in document[0].get_textpage().get_text_bounded()
    document.close()


def test_pin_panels_make_the_cells_taller_and_may_leave_no_room() -> None:
    sheet, roll = Layout.sheet(), Layout.roll()
    assert sheet.with_pin_panels().cell[1] == pytest.approx(37.4)
    assert sheet.with_pin_panels().per_page == 48 < sheet.per_page == 72
    assert roll.with_pin_panels().page_height == pytest.approx(roll.page_height + 11)
    with pytest.raises(ValueError, match="no PIN panels"):
        sheet.pin_field(1, 1)
    strip = Layout("sheet", 297, 50)  # room for a row of stamps, not with their panels
    assert strip.rows == 1
    with pytest.raises(ValueError, match="no stamp fits"):
        strip.with_pin_panels()


def test_the_pdf_refuses_pins_without_panels_and_panels_without_pins() -> None:
    """A PIN left out, or drawn over another stamp, would be a misprint: refused."""
    chunk = ChunkEncoder("ocop.vn").encode(1, 4, range(7, 8), ["1" * STAMP_DIGITS])
    with_pin = replace(chunk, pins=["1234 5678"])
    with pytest.raises(ValueError, match="PIN panels"):
        PdfSheets(Layout.sheet(), "ocop.vn").add(with_pin)
    with pytest.raises(ValueError, match="PIN panels"):
        PdfSheets(Layout.sheet().with_pin_panels(), "ocop.vn").add(chunk)
    with pytest.raises(ValueError, match="two groups of four digits"):
        PdfSheets(Layout.sheet().with_pin_panels(), "ocop.vn").add(replace(chunk, pins=["1234"]))
