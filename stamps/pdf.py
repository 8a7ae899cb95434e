"""A small streaming PDF 1.4 writer: pages are written as they come, so a document of
thousands of pages never sits in memory whole. Only what stamp sheets need: pages with
Flate-compressed content, one shared resource dictionary, base-14 fonts, form XObjects."""

from __future__ import annotations

import zlib

__all__ = ["MM", "PdfDocument", "pdf_string", "pdf_text"]

MM = 72 / 25.4  # PDF points per millimetre


def pdf_string(text: str) -> bytes:
    """Return ``text`` as a PDF literal string in WinAnsi (cp1252) encoding.

    Raises ``UnicodeEncodeError`` for characters the base-14 fonts cannot show."""
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def pdf_text(text: str) -> bytes:
    """Return ``text`` as a PDF text string (UTF-16BE with its byte order mark), for document
    information such as the title, which may be in any language."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


class PdfDocument:
    """Builds a PDF as a sequence of byte chunks: :meth:`header`, then :meth:`page` for each
    page, then :meth:`trailer`. ``resources`` maps names to PDF objects added with
    :meth:`add_object` before the first page; every page shares them."""

    def __init__(self, *, compress_level: int = 6) -> None:
        self._offsets: dict[int, int] = {}
        self._position = 0
        self._next = 3  # 1: catalog, 2: page tree
        self._pages: list[int] = []
        self._compress_level = compress_level
        self._chunks: list[bytes] = []
        self._resources: dict[str, dict[str, int]] = {}
        self._resources_ref: int | None = None

    def _emit(self, data: bytes) -> None:
        self._chunks.append(data)
        self._position += len(data)

    def _object(self, number: int, body: bytes) -> None:
        self._offsets[number] = self._position
        self._emit(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    def _new_number(self) -> int:
        number, self._next = self._next, self._next + 1
        return number

    def take(self) -> bytes:
        """Return the bytes produced since the last call."""
        data, self._chunks = b"".join(self._chunks), []
        return data

    def header(self) -> None:
        """Start the document."""
        self._emit(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def add_object(self, category: str, name: str, body: bytes) -> None:
        """Add a shared resource, e.g. ``("Font", "F1", b"<< ... >>")``."""
        number = self._new_number()
        self._object(number, body)
        self._resources.setdefault(category, {})[name] = number

    def add_form(self, name: str, width: float, height: float, content: bytes) -> None:
        """Add a form XObject (drawn with ``/name Do``) of ``width`` x ``height`` points; it
        may use the fonts added before it."""
        fonts = " ".join(f"/{n} {r} 0 R" for n, r in self._resources.get("Font", {}).items())
        head = (
            f"<< /Type /XObject /Subtype /Form /BBox [0 0 {width:.3f} {height:.3f}] "
            f"/Resources << /Font << {fonts} >> >> /Length {len(content)} >>\nstream\n"
        ).encode()
        self.add_object("XObject", name, head + content + b"\nendstream")

    def page(self, width: float, height: float, content: bytes) -> None:
        """Add a page of ``width`` x ``height`` points drawing ``content``."""
        if self._resources_ref is None:
            self._resources_ref = self._new_number()
            entries = " ".join(
                f"/{category} << "
                + " ".join(f"/{name} {number} 0 R" for name, number in names.items())
                + " >>"
                for category, names in self._resources.items()
            )
            self._object(self._resources_ref, f"<< {entries} >>".encode())
        packed = zlib.compress(content, self._compress_level)
        stream = self._new_number()
        self._object(
            stream,
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed)
            + packed
            + b"\nendstream",
        )
        page = self._new_number()
        self._object(
            page,
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:.3f} {height:.3f}] "
                f"/Resources {self._resources_ref} 0 R /Contents {stream} 0 R >>"
            ).encode(),
        )
        self._pages.append(page)

    def trailer(self, title: str = "") -> None:
        """Finish the document: page tree, catalog, cross-reference table."""
        kids = " ".join(f"{p} 0 R" for p in self._pages)
        self._object(2, f"<< /Type /Pages /Kids [{kids}] /Count {len(self._pages)} >>".encode())
        self._object(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        info = self._new_number()
        self._object(info, b"<< /Title " + pdf_text(title) + b" /Producer (OCOP stamp) >>")
        size = self._next
        xref_at = self._position
        lines = [b"xref\n0 %d\n" % size, b"0000000000 65535 f \n"]
        lines += [b"%010d 00000 n \n" % self._offsets[n] for n in range(1, size)]
        self._emit(b"".join(lines))
        self._emit(
            b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (size, info, xref_at)
        )
