"""Where the synthetic people are born and live: provinces, communes, address lines.

Birth provinces are the 63 legacy provinces weighted by their 2019 census population (in
thousands). People mostly live in the 2025 province that absorbed the province where they
were born (``core.ids.units.LEGACY_TO_CURRENT``); some moved, mostly to Hồ Chí Minh City
and Hà Nội. Address lines follow the local habit: house number and street in a ward
(phường), a hamlet in a rural commune — ``Thôn``/``Xóm`` in the north, ``Bản`` in the
mountains, ``Ấp`` in the south.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from random import Random

from core.ids.units import LEGACY_TO_CURRENT, Commune, communes_of, province
from registries.population.names import Weighted, below

#: 2019 census population of each legacy province, in thousands.
LEGACY_POPULATION: dict[str, float] = {
    "001": 8054, "002": 854, "004": 530, "006": 314, "008": 785, "010": 731, "011": 599,
    "012": 460, "014": 1248, "015": 822, "017": 854, "019": 1287, "020": 782, "022": 1320,
    "024": 1804, "025": 1464, "026": 1152, "027": 1369, "030": 1893, "031": 2029,
    "033": 1253, "034": 1861, "035": 852, "036": 1781, "037": 982, "038": 3641, "040": 3327,
    "042": 1289, "044": 896, "045": 633, "046": 1129, "048": 1135, "049": 1496, "051": 1232,
    "052": 1487, "054": 873, "056": 1232, "058": 591, "060": 1231, "062": 541, "064": 1514,
    "066": 1870, "067": 623, "068": 1297, "070": 995, "072": 1170, "074": 2427, "075": 3097,
    "077": 1149, "079": 8993, "080": 1689, "082": 1765, "083": 1289, "084": 1010,
    "086": 1023, "087": 1600, "089": 1908, "091": 1724, "092": 1236, "093": 734, "094": 1200,
    "095": 907, "096": 1194,
}  # fmt: skip

BIRTH_PROVINCE = Weighted.of(LEGACY_POPULATION)

#: Share of households living outside the province they come from, and where they went.
MIGRANT_SHARE = 0.16
MIGRATION_TARGET = Weighted.of(
    {"79": 45, "01": 28, "75": 7, "24": 5, "48": 5, "31": 4, "92": 3, "56": 3}
)
#: Young adults registered for temporary residence away from their household (students,
#: factory and office workers): their current residence differs from the permanent one.
TEMPORARY_RESIDENCE_SHARE = 0.08
TEMPORARY_TARGET = Weighted.of({"79": 45, "01": 35, "75": 8, "24": 7, "48": 5})

_STREETS = Weighted.uniform(
    "Lê_Lợi Trần_Hưng_Đạo Nguyễn_Huệ Hai_Bà_Trưng Lý_Thường_Kiệt Quang_Trung Hùng_Vương "
    "Điện_Biên_Phủ Nguyễn_Trãi Lê_Duẩn Phan_Chu_Trinh Phan_Bội_Châu Nguyễn_Du Trần_Phú "
    "Lê_Lai Nguyễn_Thái_Học Bà_Triệu Hoàng_Diệu Ngô_Quyền Lạc_Long_Quân Võ_Thị_Sáu "
    "Cách_Mạng_Tháng_Tám Nguyễn_Văn_Cừ Trường_Chinh Lê_Hồng_Phong Tôn_Đức_Thắng "
    "Nguyễn_Chí_Thanh Hoàng_Hoa_Thám Lý_Tự_Trọng Pasteur Nguyễn_Đình_Chiểu Yersin "
    "Phạm_Văn_Đồng Võ_Văn_Kiệt Nguyễn_Văn_Linh 30_Tháng_4 Bạch_Đằng Chu_Văn_An Lê_Thánh_Tông"
)
_SOUTH_HAMLETS = Weighted.uniform(
    "Tân_Hòa Tân_Thạnh Phú_Hòa Bình_An Long_Thạnh Mỹ_Lợi Hòa_Bình Thạnh_Phú An_Lạc "
    "Phước_Thọ Vĩnh_Hưng Tân_Lập Bình_Thới Hưng_Lợi Mỹ_Hòa Long_Hòa"
)
_HIGHLAND_VILLAGES = Weighted.uniform(
    "Nà_Khương Pá_Vinh Huổi_Lèng Nậm_Cang Phiêng_Khoài Co_Mạ Tà_Phìn Na_Hang Lũng_Cú Pác_Nặm"
)
#: Current provinces where a rural address reads ``Bản …`` (the northern mountains).
_BAN_PROVINCES = frozenset({"04", "08", "11", "12", "14", "15", "20"})
#: The south-east and the Mekong delta (current codes 75 and up), where hamlets are ``Ấp``.
_SOUTH_FROM = 75


@dataclass(frozen=True, slots=True)
class Place:
    """A commune with everything needed to write an address: codes, names, style."""

    commune_code: str
    commune_name: str
    province_code: str
    province_name: str
    urban: bool


@functools.cache
def places_of(province_code: str) -> tuple[tuple[Place, ...], Weighted]:
    """The communes of a current province and a choice weighting wards 3:1 (denser)."""
    prov = province(province_code)
    out = tuple(_place(c, prov.name) for c in communes_of(province_code))
    weights = [(str(i), 3.0 if p.urban else 1.0) for i, p in enumerate(out)]
    return out, Weighted.of(weights)


def _place(c: Commune, province_name: str) -> Place:
    urban = c.name.startswith(("Phường", "Đặc khu"))
    return Place(c.code, c.name, c.province_code, province_name, urban)


def pick_place(rng: Random, province_code: str) -> Place:
    options, choice = places_of(province_code)
    return options[int(choice.pick(rng))]


@functools.cache
def main_legacy_of(province_code: str) -> str:
    """The legacy code a birth registered today in this current province would most likely
    carry: the absorbing province's own legacy code (the most populous one)."""
    members = [lg for lg, cur in LEGACY_TO_CURRENT.items() if cur == province_code]
    return max(members, key=lambda lg: LEGACY_POPULATION[lg])


def address_line(rng: Random, p: Place) -> str:
    """A street-level address line (without commune and province, which are separate)."""
    if p.urban:
        number = 1 + below(rng, 399)
        if rng.random() < 0.35:
            return f"Số {number}, ngõ {1 + below(rng, 199)}, đường {_STREETS.pick(rng)}"
        return f"Số {number} đường {_STREETS.pick(rng)}"
    if p.province_code in _BAN_PROVINCES and rng.random() < 0.6:
        return f"Bản {_HIGHLAND_VILLAGES.pick(rng)}"
    if int(p.province_code) >= _SOUTH_FROM:
        return f"Ấp {_SOUTH_HAMLETS.pick(rng)}"
    if rng.random() < 0.5:
        return f"Thôn {1 + below(rng, 15)}"
    return f"Xóm {1 + below(rng, 20)}"
