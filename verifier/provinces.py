"""The 34 provinces and centrally-run cities since 1 July 2025 (Resolution 202/2025/QH15),
with their administrative codes and the approximate position of their administrative centre.

The positions serve place summaries without a map ("near Hà Nội") and the distance from where
a batch was sold; they are accurate to a few kilometres, which is all these need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PROVINCES", "Province", "distance_km", "nearest", "province"]


@dataclass(frozen=True, slots=True)
class Province:
    code: str
    name: str
    latitude: float
    longitude: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.latitude, self.longitude


PROVINCES: dict[str, Province] = {
    p.code: p
    for p in (
        Province("01", "Hà Nội", 21.028, 105.854),
        Province("04", "Cao Bằng", 22.666, 106.258),
        Province("08", "Tuyên Quang", 21.823, 105.214),
        Province("11", "Điện Biên", 21.386, 103.023),
        Province("12", "Lai Châu", 22.396, 103.458),
        Province("14", "Sơn La", 21.327, 103.914),
        Province("15", "Lào Cai", 21.705, 104.875),
        Province("19", "Thái Nguyên", 21.594, 105.848),
        Province("20", "Lạng Sơn", 21.853, 106.761),
        Province("22", "Quảng Ninh", 20.951, 107.073),
        Province("24", "Bắc Ninh", 21.273, 106.194),
        Province("25", "Phú Thọ", 21.322, 105.402),
        Province("31", "Hải Phòng", 20.845, 106.688),
        Province("33", "Hưng Yên", 20.646, 106.051),
        Province("37", "Ninh Bình", 20.250, 105.975),
        Province("38", "Thanh Hóa", 19.807, 105.776),
        Province("40", "Nghệ An", 18.679, 105.681),
        Province("42", "Hà Tĩnh", 18.343, 105.906),
        Province("44", "Quảng Trị", 17.468, 106.622),
        Province("46", "Huế", 16.464, 107.591),
        Province("48", "Đà Nẵng", 16.054, 108.202),
        Province("51", "Quảng Ngãi", 15.120, 108.792),
        Province("52", "Gia Lai", 13.776, 109.224),
        Province("56", "Khánh Hòa", 12.238, 109.197),
        Province("66", "Đắk Lắk", 12.667, 108.038),
        Province("68", "Lâm Đồng", 11.940, 108.458),
        Province("75", "Đồng Nai", 10.957, 106.843),
        Province("79", "Hồ Chí Minh", 10.776, 106.700),
        Province("80", "Tây Ninh", 10.535, 106.413),
        Province("82", "Đồng Tháp", 10.360, 106.360),
        Province("86", "Vĩnh Long", 10.254, 105.972),
        Province("91", "An Giang", 10.012, 105.080),
        Province("92", "Cần Thơ", 10.045, 105.747),
        Province("96", "Cà Mau", 9.177, 105.150),
    )
}


def province(code: str) -> Province | None:
    """Return the province with this two-digit code, or ``None``."""
    return PROVINCES.get(code)


def nearest(latitude: float, longitude: float) -> tuple[Province, float]:
    """Return the province whose centre is nearest to a point, and the distance in km."""
    point = (latitude, longitude)
    return min(
        ((p, distance_km(point, p.centre)) for p in PROVINCES.values()), key=lambda pair: pair[1]
    )


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Return the great-circle distance between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))
