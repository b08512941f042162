"""Rough geography for synthetic parcels: where a commune is, where a parcel in it is.

The seed needs a point per parcel to derive its national id (a GeoHash of that point). We do
not ship commune boundaries, so each of the 34 provinces gets a hand-placed centre and a
spread, each commune a fixed point drawn around its province's centre (the same for every
run, whatever the seed), and each parcel a point a few hundred metres around its commune.
Parcels of a commune therefore cluster and share a GeoHash prefix, as real ones do.
"""

from __future__ import annotations

import functools
import random

from core.ids.parcel import MAX_LAT, MAX_LON, MIN_LAT, MIN_LON
from core.ids.units import commune

#: Province code → (latitude, longitude, spread in degrees) of the 2025 province.
PROVINCE_CENTRES: dict[str, tuple[float, float, float]] = {
    "01": (21.03, 105.75, 0.25),  # Hà Nội
    "04": (22.67, 106.25, 0.30),  # Cao Bằng
    "08": (22.30, 105.10, 0.45),  # Tuyên Quang
    "11": (21.60, 103.10, 0.35),  # Điện Biên
    "12": (22.30, 103.30, 0.30),  # Lai Châu
    "14": (21.20, 104.00, 0.45),  # Sơn La
    "15": (22.00, 104.30, 0.40),  # Lào Cai
    "19": (21.90, 105.80, 0.30),  # Thái Nguyên
    "20": (21.80, 106.60, 0.30),  # Lạng Sơn
    "22": (21.10, 107.20, 0.25),  # Quảng Ninh
    "24": (21.25, 106.20, 0.22),  # Bắc Ninh
    "25": (21.10, 105.30, 0.30),  # Phú Thọ
    "31": (20.90, 106.50, 0.22),  # Hải Phòng
    "33": (20.60, 106.20, 0.22),  # Hưng Yên
    "37": (20.30, 106.00, 0.22),  # Ninh Bình
    "38": (20.00, 105.50, 0.40),  # Thanh Hóa
    "40": (19.10, 104.90, 0.45),  # Nghệ An
    "42": (18.30, 105.70, 0.25),  # Hà Tĩnh
    "44": (17.20, 106.50, 0.35),  # Quảng Trị
    "46": (16.40, 107.50, 0.20),  # Huế
    "48": (15.70, 108.00, 0.30),  # Đà Nẵng
    "51": (14.80, 108.20, 0.40),  # Quảng Ngãi
    "52": (14.00, 108.40, 0.45),  # Gia Lai
    "56": (12.10, 108.90, 0.30),  # Khánh Hòa
    "66": (12.90, 108.40, 0.40),  # Đắk Lắk
    "68": (11.60, 108.00, 0.45),  # Lâm Đồng
    "75": (11.30, 107.00, 0.35),  # Đồng Nai
    "79": (10.85, 106.70, 0.25),  # Hồ Chí Minh
    "80": (10.80, 106.10, 0.30),  # Tây Ninh
    "82": (10.45, 105.90, 0.25),  # Đồng Tháp
    "86": (10.05, 106.30, 0.25),  # Vĩnh Long
    "91": (10.30, 105.20, 0.30),  # An Giang
    "92": (9.75, 105.75, 0.25),  # Cần Thơ
    "96": (9.20, 105.30, 0.25),  # Cà Mau
}

#: How far (degrees, each way) a parcel lies from its commune's point: about ±1 km.
PARCEL_SPREAD = 0.01


@functools.cache
def commune_point(commune_code: str) -> tuple[float, float]:
    """The fixed synthetic point of a commune, around its province's centre.

    Seeded by the code alone (not the run's rng), so a commune sits in the same place in
    every world and the parcel ids of one seed can be compared with another's.
    """
    lat, lon, spread = PROVINCE_CENTRES[commune(commune_code).province_code]
    r = random.Random(f"land-commune:{commune_code}")  # noqa: S311 - synthetic geography
    return lat + r.uniform(-spread, spread), lon + r.uniform(-spread, spread)


def parcel_point(rng: random.Random, commune_code: str) -> tuple[float, float]:
    """A random point near the commune's point, clamped inside the national id's box."""
    lat, lon = commune_point(commune_code)
    lat += rng.uniform(-PARCEL_SPREAD, PARCEL_SPREAD)
    lon += rng.uniform(-PARCEL_SPREAD, PARCEL_SPREAD)
    return min(max(lat, MIN_LAT), MAX_LAT), min(max(lon, MIN_LON), MAX_LON)
