"""The files of a batch besides its PDF, written chunk by chunk like it: the CSV manifest
(what each stamp holds and where it is printed) and the ZIP of PNGs (the QR codes alone)."""

from __future__ import annotations

import io
import zipfile

from stamps.qr import png_bytes
from stamps.sheet import PNG_MODULE_PX, Layout, StampChunk, human_serial
from stamps.spreadsheet import text_cell

__all__ = ["CsvManifest", "PngZip"]


class CsvManifest:
    """The manifest of a batch: one row per stamp with its serial, URL, digits, place, and
    its PIN as printed (``1234 5678``; empty for a batch without claims)."""

    HEADER = (
        "serial", "key_index", "printed_serial", "url", "digits", "page", "row", "column", "pin",
    )  # fmt: skip

    def __init__(self, layout: Layout, host: str) -> None:
        if any(c in host for c in ',"\r\n'):
            raise ValueError(f"{host!r} is not a host name")
        self.layout = layout
        self._parts = [",".join(self.HEADER) + "\n"]
        self._count = 0

    def add(self, chunk: StampChunk) -> None:
        """Append the rows of ``chunk``. No field needs quoting: numbers, the printed serial,
        the PIN (digits and a space), and a URL of a host name and digits or base64url (``?``,
        ``=``, ``-``, ``_``); the text ones go through :func:`text_cell` all the same, the rule
        of every CSV the project writes (none of them starts a formula)."""
        key, position = chunk.key_index, self.layout.position
        numbers = range(self._count, self._count + len(chunk.serials))
        pins = chunk.pins if chunk.pins is not None else [""] * len(chunk.serials)
        rows = zip(numbers, chunk.serials, chunk.urls, chunk.digits, pins, strict=True)
        for n, serial, url, digits, pin in rows:
            page, row, column = position(n)
            self._parts.append(
                f"{serial},{key},{text_cell(human_serial(key, serial))},"
                f"{text_cell(url)},{text_cell(digits)},{page},{row},{column},{text_cell(pin)}\n"
            )
        self._count += len(chunk.serials)

    def finish(self) -> None:
        """Nothing to close; for symmetry with the other writers."""

    def take(self) -> bytes:
        """Return the CSV bytes (UTF-8) made since the last call."""
        data, self._parts = "".join(self._parts).encode(), []
        return data


class _Sink(io.RawIOBase):
    """An unseekable byte sink, so that zipfile streams (data descriptors, no seeking)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        chunk = bytes(data)  # type: ignore[call-overload]
        self.parts.append(chunk)
        return len(chunk)


class PngZip:
    """A ZIP of one PNG per stamp, named by its printed serial, for producers who lay out
    their own packaging: the QR code only, never the PIN of a batch with claims (which is
    printed apart from the QR, from the manifest's ``pin`` column)."""

    def __init__(self, module_px: int = PNG_MODULE_PX) -> None:
        self.module_px = module_px
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(self._sink, "w", zipfile.ZIP_STORED)

    def add(self, chunk: StampChunk) -> None:
        """Add the PNGs of ``chunk``."""
        for i, serial in enumerate(chunk.serials):
            name = f"{human_serial(chunk.key_index, serial)}.png"
            png = chunk.pngs[i] if chunk.pngs else png_bytes(chunk.matrix(i), self.module_px)
            self._zip.writestr(name, png)

    def finish(self) -> None:
        """Write the ZIP's central directory."""
        self._zip.close()

    def take(self) -> bytes:
        """Return the ZIP bytes made since the last call."""
        data, self._sink.parts = b"".join(self._sink.parts), []
        return data
