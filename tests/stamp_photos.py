"""Simulated phone photos of printed stamps, for bench/photo_reads.py and the tests.

A stamp signed with the test vectors' province key is printed at 16 or 20 mm (QR with its quiet
zone, over its label strip) on a package, and photographed: a phone camera's field of view at
a distance, the stamp's plane tilted and turned, out of focus and shaken, uneven light, sensor
noise, colour, JPEG. Every photo has one dominant fault (its family) at a severity drawn from
that family's range, over milder amounts of the others. Everything is drawn from one seeded
generator: the same seed gives the same photos, byte for byte.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from signing import Payload, PrivateKey, sign_payload
from stamps.qr import QUIET_ZONE, encode_qr
from tests.vectors import generate

#: The dominant fault of a photo.
FAMILIES = ("focus_blur", "shake_blur", "small", "tilted", "faded", "compressed")
#: Printed widths of the stamp's QR code with its quiet zone, in millimetres.
STAMP_SIZES_MM = (16.0, 20.0)
#: Phone photo sizes, in pixels.
RESOLUTIONS = ((1600, 1200), (2048, 1536), (2592, 1944), (3264, 2448), (4000, 3000))
#: Width of the scene a phone's main camera sees, per millimetre of distance (a 70 degree field).
FIELD_PER_MM = 2 * math.tan(math.radians(35))
SEED = 17
_LABEL_RATIO = 0.32  # the label strip under the QR, as a share of the stamp's width


@dataclass(frozen=True, slots=True)
class PhotoCase:
    """One photo to make: the stamp, the print, the camera and the faults."""

    number: int
    family: str
    text: str  # what the stamp's QR code says
    stamp_mm: float
    width: int
    height: int
    distance_mm: float
    centre: tuple[float, float]  # where the stamp is, as shares of the photo's width and height
    turn: float  # degrees, in the photo's plane
    tilt: float  # degrees the stamp's plane leans away from the camera
    tilt_axis: float  # degrees: the direction it leans
    focus_blur: float  # the Gaussian's sigma, in modules
    shake: float  # the length of the motion blur, in modules
    shake_angle: float  # degrees
    contrast: float  # ink against paper: 1 is black on white
    uneven_light: float  # the darkest corner's loss of light: 0 is even
    noise: float  # the sensor noise's sigma, in grey levels
    quality: int  # JPEG quality
    module_px: float  # the width of a module in the photo where the stamp is, in pixels


@cache
def _province_key() -> PrivateKey:
    return generate._keys()["province"].private


def stamp_text(number: int) -> str:
    """Return the URL of a genuine stamp: serial ``number`` of a certificate of the test
    vectors' province key."""
    key = _province_key()
    payload = Payload(
        key_index=1,
        certificate_id=1000 + number % 7,
        stars=3 + number % 2,
        valid_until=date(2028, 6, 30),
        serial=100_000 + number,
    )
    return sign_payload(payload, key).url(generate.HOST)


def photo_cases(count: int = 200, seed: int = SEED) -> list[PhotoCase]:
    """Return ``count`` photos to make: the families in turn, each size in turn within a
    family, every figure drawn from ``seed``."""
    draw = random.Random(seed)
    return [_case(number, draw) for number in range(count)]


def _case(number: int, draw: random.Random) -> PhotoCase:
    family = FAMILIES[number % len(FAMILIES)]
    stamp_mm = STAMP_SIZES_MM[(number + number // len(FAMILIES)) % 2]  # each family, both sizes
    width, height = draw.choice(RESOLUTIONS)
    text = stamp_text(number)
    modules = len(encode_qr(text).modules) + 2 * QUIET_ZONE
    distance_mm = draw.uniform(*((180, 350) if family == "small" else (70, 160)))

    def fault(name: str, usual: tuple[float, float], dominant: tuple[float, float]) -> float:
        return draw.uniform(*(dominant if family == name else usual))

    return PhotoCase(
        number=number,
        family=family,
        text=text,
        stamp_mm=stamp_mm,
        width=width,
        height=height,
        distance_mm=distance_mm,
        centre=(draw.uniform(0.3, 0.7), draw.uniform(0.3, 0.7)),
        turn=draw.uniform(0, 360),
        tilt=fault("tilted", (0, 20), (30, 55)),
        tilt_axis=draw.uniform(0, 360),
        focus_blur=fault("focus_blur", (0.05, 0.25), (0.3, 0.7)),
        shake=fault("shake_blur", (0.0, 0.3), (0.4, 1.4)),
        shake_angle=draw.uniform(0, 180),
        contrast=fault("faded", (0.6, 1.0), (0.15, 0.35)),
        uneven_light=fault("faded", (0.0, 0.3), (0.3, 0.6)),
        noise=fault("compressed", (1.5, 4.0), (5.0, 10.0)),
        quality=round(fault("compressed", (55, 85), (30, 40))),
        module_px=width / (FIELD_PER_MM * distance_mm) * stamp_mm / modules,
    )


def photo_jpeg(case: PhotoCase) -> bytes:
    """Return the photo ``case`` describes, as the JPEG a phone would send."""
    rng = np.random.default_rng(case.number)
    scene = _package(case, rng)
    stamp, corners = _printed_stamp(case)
    left, top, right, bottom = _bounds(corners, case)
    margin = math.ceil(4 * case.module_px * (1 + case.focus_blur + case.shake))
    left, top = max(0, left - margin), max(0, top - margin)
    right, bottom = min(case.width, right + margin), min(case.height, bottom + margin)
    box = (right - left, bottom - top)
    where = [(x - left, y - top) for x, y in corners]
    coefficients = _perspective(where, stamp.size)
    photographed = stamp.transform(
        box, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC
    )
    mask = Image.new("L", stamp.size, 255).transform(
        box, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR
    )
    region = scene.crop((left, top, right, bottom))
    region.paste(photographed, (0, 0), mask)
    region = _blurred(region, case)
    scene.paste(region, (left, top))
    return _as_phone_jpeg(scene, case, rng)


def _package(case: PhotoCase, rng: np.random.Generator) -> Image.Image:
    """Return the package around the stamp: soft shapes and lines of print, in grey."""
    small = Image.new("L", (case.width // 8, case.height // 8), int(rng.integers(90, 200)))
    pen = ImageDraw.Draw(small)
    for _ in range(12):
        x, y = int(rng.integers(0, small.width)), int(rng.integers(0, small.height))
        w, h = int(rng.integers(10, small.width // 3)), int(rng.integers(5, small.height // 3))
        pen.rectangle((x, y, x + w, y + h), fill=int(rng.integers(40, 240)))
    for _ in range(30):  # lines of small print
        x, y = int(rng.integers(0, small.width)), int(rng.integers(0, small.height))
        end = x + int(rng.integers(10, 80))
        pen.line((x, y, end, y), fill=int(rng.integers(20, 120)), width=1)
    return small.resize((case.width, case.height), Image.Resampling.BILINEAR)


def _printed_stamp(case: PhotoCase) -> tuple[Image.Image, list[tuple[float, float]]]:
    """Return the printed stamp (QR with its quiet zone over the label strip), drawn with about
    two pixels for each pixel it will cover in the photo, and where its corners land in the
    photo."""
    qr = np.pad(np.asarray(encode_qr(case.text).modules, dtype=bool), QUIET_ZONE)
    module = max(4, math.ceil(2 * case.module_px))
    side = qr.shape[0] * module
    paper, ink = 235, 235 - round(case.contrast * 215)
    pixels = np.where(np.repeat(np.repeat(qr, module, 0), module, 1), ink, paper)
    label = round(side * _LABEL_RATIO)
    stamp = Image.new("L", (side, side + label), paper)
    stamp.paste(Image.fromarray(pixels.astype(np.uint8)), (0, 0))
    pen = ImageDraw.Draw(stamp)
    red = round(paper - case.contrast * 120)  # the OCOP mark's red, as grey
    pen.rectangle((side // 10, side + label // 8, side // 2, label * 7 // 8 + side), outline=red,
                  width=max(1, module // 2))  # fmt: skip
    for i in range(3):  # the serial and the host, as short dark lines
        y = side + label * (i + 2) // 6
        pen.line((side * 11 // 20, y, side * 9 // 10, y), fill=ink, width=max(1, module // 2))
    return stamp, _corners(case, stamp.size)


def _corners(case: PhotoCase, size: tuple[int, int]) -> list[tuple[float, float]]:
    """Return where the stamp's corners land in the photo: the stamp's plane turned, then
    leaning by ``case.tilt`` towards ``case.tilt_axis``, in front of a pinhole camera; its QR
    code's centre at ``case.centre``."""
    focal = case.width / FIELD_PER_MM  # pixels across for a width equal to the distance
    mm_per_px = case.stamp_mm / size[0]
    turn, tilt, axis = (math.radians(a) for a in (case.turn, case.tilt, case.tilt_axis))
    lean, side = (math.cos(axis), math.sin(axis)), (-math.sin(axis), math.cos(axis))
    cx, cy = case.centre[0] * case.width, case.centre[1] * case.height
    landed = []
    for x, y in ((0, 0), (size[0], 0), (size[0], size[1]), (0, size[1])):
        u, v = (x - size[0] / 2) * mm_per_px, (y - size[0] / 2) * mm_per_px
        u, v = u * math.cos(turn) - v * math.sin(turn), u * math.sin(turn) + v * math.cos(turn)
        along, across = u * lean[0] + v * lean[1], u * side[0] + v * side[1]
        depth = case.distance_mm + along * math.sin(tilt)
        along *= math.cos(tilt)
        u, v = along * lean[0] + across * side[0], along * lean[1] + across * side[1]
        landed.append((cx + focal * u / depth, cy + focal * v / depth))
    return landed


def _bounds(corners: list[tuple[float, float]], case: PhotoCase) -> tuple[int, int, int, int]:
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    return (
        max(0, math.floor(min(xs))),
        max(0, math.floor(min(ys))),
        min(case.width, math.ceil(max(xs))),
        min(case.height, math.ceil(max(ys))),
    )


def _perspective(where: list[tuple[float, float]], size: tuple[int, int]) -> tuple[float, ...]:
    """Return Pillow's PERSPECTIVE coefficients that take a point of the photo to the point of
    the stamp image (of ``size``) whose corners land at ``where``."""
    source = ((0, 0), (size[0], 0), (size[0], size[1]), (0, size[1]))
    rows, values = [], []
    for (x, y), (u, v) in zip(where, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values += [u, v]
    return tuple(float(c) for c in np.linalg.solve(np.array(rows), np.array(values)))


def _blurred(region: Image.Image, case: PhotoCase) -> Image.Image:
    """Return the region around the stamp out of focus and shaken, by the case's amounts."""
    blurred = region.filter(ImageFilter.GaussianBlur(case.focus_blur * case.module_px))
    length = case.shake * case.module_px
    if length < 0.5:
        return blurred
    pixels = np.asarray(blurred, dtype=np.float32)
    steps = max(2, math.ceil(length) + 1)
    dx, dy = math.cos(math.radians(case.shake_angle)), math.sin(math.radians(case.shake_angle))
    total = np.zeros_like(pixels)
    for i in range(steps):
        along = length * (i / (steps - 1) - 0.5)
        total += _shifted(pixels, along * dx, along * dy)
    return Image.fromarray(np.clip(total / steps, 0, 255).astype(np.uint8))


def _shifted(pixels: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Return ``pixels`` moved by a whole number of pixels nearest (``dx``, ``dy``)."""
    return np.roll(pixels, (round(dy), round(dx)), axis=(0, 1))


def _as_phone_jpeg(scene: Image.Image, case: PhotoCase, rng: np.random.Generator) -> bytes:
    """Return ``scene`` under uneven light, with sensor noise, in warm colour, as a JPEG."""
    light = np.linspace(1 - case.uneven_light, 1, 64, dtype=np.float32)
    field = Image.fromarray((np.add.outer(light, light) / 2 * 255).astype(np.uint8)).rotate(
        float(rng.uniform(0, 360)), resample=Image.Resampling.BILINEAR, fillcolor=255
    )
    gain = np.asarray(field.resize(scene.size, Image.Resampling.BILINEAR), dtype=np.float32)
    grey = np.asarray(scene, dtype=np.float32) * (gain / 255)
    grey += rng.standard_normal(grey.shape, dtype=np.float32) * case.noise
    colour = np.stack([grey * 1.0, grey * 0.96, grey * 0.88], axis=-1)
    out = io.BytesIO()
    Image.fromarray(np.clip(colour, 0, 255).astype(np.uint8), "RGB").save(
        out, "JPEG", quality=case.quality
    )
    return out.getvalue()
