"""Fake-camera files for Chromium (--use-file-for-fake-video-capture): a stamp as a phone
would film it, in a larger frame, tilted and slightly blurred, written as Y4M (I420)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from stamps import encode_qr
from stamps.qr import png_bytes

WIDTH, HEIGHT = 640, 480


def stamp_frame(
    url: str, *, angle: float = 8.0, blur: float = 0.8, module_px: int = 6
) -> Image.Image:
    """Return a grey 640x480 frame holding the stamp's QR, rotated by ``angle`` degrees and
    blurred with a Gaussian of radius ``blur``."""
    qr = Image.open(io.BytesIO(png_bytes(encode_qr(url).modules, module_px))).convert("L")
    qr = qr.rotate(angle, expand=True, fillcolor=235, resample=Image.Resampling.BICUBIC)
    frame = Image.new("L", (WIDTH, HEIGHT), 200)
    frame.paste(qr, ((WIDTH - qr.width) // 2, (HEIGHT - qr.height) // 2))
    return frame.filter(ImageFilter.GaussianBlur(blur)).convert("RGB")


def write_y4m(frame: Image.Image, path: Path, frames: int = 10) -> Path:
    """Write ``frame`` repeated as a Y4M (4:2:0) video Chromium can use as its camera."""
    rgb = np.asarray(frame, dtype=np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.257 * r + 0.504 * g + 0.098 * b + 16
    u = -0.148 * r - 0.291 * g + 0.439 * b + 128
    v = 0.439 * r - 0.368 * g - 0.071 * b + 128
    planes = [y] + [p.reshape(HEIGHT // 2, 2, WIDTH // 2, 2).mean(axis=(1, 3)) for p in (u, v)]
    data = b"".join(np.clip(p, 0, 255).astype(np.uint8).tobytes() for p in planes)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + data)
    return path
