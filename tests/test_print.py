"""The print test: batches made by `ocop stamps batch`, rasterised by PDFium (the engine of
Chrome's and Edge's PDF viewers and print dialogs) as a printer would, decode with zxing-cpp,
every stamp on every page, to exactly the serials, URLs and positions of the CSV manifest, in
order."""

from __future__ import annotations

import argparse
import csv
import zipfile
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from signing import parse_stamp
from stamps.sheet import DEFAULT_MARGIN_MM, MIN_GS1_STAMP_MM, MIN_STAMP_MM, Layout
from tests.conftest import NOW, Demo
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
