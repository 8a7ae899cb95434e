"""Turning signed stamps into things that are printed: QR matrices and images."""

from stamps.qr import ERROR_CORRECTION_LEVELS, QrMatrix, encode_qr, write_png

__all__ = ["ERROR_CORRECTION_LEVELS", "QrMatrix", "encode_qr", "write_png"]
