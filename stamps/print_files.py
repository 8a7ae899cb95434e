"""The kinds of print-ready file a batch is given as, with their media types and writers."""

from __future__ import annotations

from typing import Literal

from stamps.data_files import CsvManifest, PngZip
from stamps.sheet import Layout, PdfSheets

__all__ = ["MEDIA_TYPES", "FileKind", "FileWriter", "file_writer"]


FileKind = Literal["pdf", "csv", "zip"]
MEDIA_TYPES: dict[FileKind, str] = {
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "zip": "application/zip",
}
FileWriter = PdfSheets | CsvManifest | PngZip


def file_writer(kind: FileKind, layout: Layout, host: str, title: str) -> FileWriter:
    """Return the writer of one kind of file: PDF sheets titled ``title``, the CSV manifest,
    or the ZIP of PNGs."""
    if kind == "pdf":
        return PdfSheets(layout, host, title)
    if kind == "csv":
        return CsvManifest(layout, host)
    return PngZip()
