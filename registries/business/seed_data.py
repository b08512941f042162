"""Word lists and tables the business seed draws from (data only, no randomness).

Enterprise names follow the pattern the Law on Enterprises prescribes — type + distinctive
name — where the distinctive name is usually a line of business plus a two-syllable brand
("CÔNG TY TNHH THƯƠNG MẠI DỊCH VỤ MINH PHÁT"). The English name is the registered
translation ("MINH PHAT TRADING SERVICES COMPANY LIMITED").
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Final

#: Syllables of distinctive names: auspicious words that fill Vietnam's company register.
BRAND_SYLLABLES: Final = (
    "AN", "ANH", "BẢO", "BÌNH", "CƯỜNG", "ĐẠI", "ĐẠT", "ĐÔNG", "ĐỨC", "GIA", "HÀ", "HẢI",
    "HẠNH", "HÒA", "HOÀNG", "HỒNG", "HỢP", "HƯNG", "HÙNG", "KHANG", "KHÁNH", "KIM", "LÂM",
    "LỘC", "LONG", "LỢI", "MAI", "MINH", "NAM", "NGỌC", "NGUYÊN", "NHẬT", "PHÁT", "PHONG",
    "PHÚ", "PHÚC", "PHƯƠNG", "QUANG", "QUÝ", "SAO", "SƠN", "TÀI", "TÂN", "THẮNG", "THÀNH",
    "THÁI", "THIÊN", "THỊNH", "THUẬN", "TIẾN", "TÍN", "TOÀN", "TRÍ", "TRUNG", "TRƯỜNG",
    "TÙNG", "UY", "VẠN", "VIỆT", "VINH", "VŨ", "XUÂN", "YẾN",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Profile:
    """A line of business: the words it puts in a name and the VSIC classes it registers."""

    name_vi: str
    name_en: str
    main: tuple[str, ...]  # candidates for the main VSIC class
    secondary: tuple[str, ...]  # candidates for secondary classes
    weight: int


PROFILES: Final = (
    Profile("THƯƠNG MẠI DỊCH VỤ", "TRADING SERVICES", ("4690", "4649", "4669", "4610"),
            ("4632", "4641", "4651", "4659", "4663", "4711", "4719", "4791", "8299", "7310"), 16),
    Profile("THƯƠNG MẠI", "TRADING", ("4690", "4649", "4632", "4641"),
            ("4610", "4633", "4659", "4669", "4711", "4791", "5229"), 10),
    Profile("XÂY DỰNG", "CONSTRUCTION", ("4101", "4102", "4299", "4212"),
            ("4311", "4312", "4321", "4322", "4330", "4663", "7110", "4222"), 12),
    Profile("ĐẦU TƯ XÂY DỰNG", "CONSTRUCTION INVESTMENT", ("4102", "4101", "6810"),
            ("4212", "4299", "4330", "6820", "7110", "4663"), 4),
    Profile("CÔNG NGHỆ", "TECHNOLOGY", ("6201", "6202", "6209"),
            ("6311", "6312", "4651", "4741", "7020", "8559", "9511"), 6),
    Profile("PHẦN MỀM", "SOFTWARE", ("6201",), ("6202", "6209", "6311", "6312", "4651"), 2),
    Profile("MAY MẶC", "GARMENT", ("1410",), ("4641", "4771", "1520", "4669"), 4),
    Profile("VẬN TẢI", "TRANSPORT", ("4933", "4932", "4931"),
            ("5229", "5210", "5224", "7710", "5320"), 6),
    Profile("LOGISTICS", "LOGISTICS", ("5229", "5210"), ("4933", "5224", "5012", "5320"), 3),
    Profile("BẤT ĐỘNG SẢN", "REAL ESTATE", ("6810", "6820"),
            ("4101", "4102", "7110", "7020"), 5),
    Profile("THỰC PHẨM", "FOOD", ("1079", "4632", "1010", "1020", "1075"),
            ("4633", "4722", "4711", "1030"), 6),
    Profile("ẨM THỰC", "CUISINE", ("5610",), ("5621", "5630", "4722"), 3),
    Profile("DU LỊCH", "TRAVEL", ("7911", "7912", "5510"),
            ("4932", "7710", "5610", "8230"), 4),
    Profile("TƯ VẤN", "CONSULTING", ("7020", "6920", "7110"),
            ("6910", "7320", "8299", "6619"), 5),
    Profile("NỘI THẤT", "INTERIOR", ("3100", "4759", "7410"), ("4330", "1622", "4649"), 3),
    Profile("VẬT LIỆU XÂY DỰNG", "CONSTRUCTION MATERIALS", ("4663", "4752"),
            ("2395", "4933", "4669"), 3),
    Profile("CƠ KHÍ", "MECHANICAL ENGINEERING", ("2592", "2511", "3312"),
            ("4659", "4669", "4321"), 3),
    Profile("ĐIỆN TỬ", "ELECTRONICS", ("2610", "4652"), ("4651", "4741", "9521", "3312"), 2),
    Profile("DƯỢC PHẨM", "PHARMACEUTICAL", ("4772", "2100"), ("4649", "8620"), 2),
    Profile("GIÁO DỤC", "EDUCATION", ("8559", "8510"), ("7020", "5811", "8230"), 2),
    Profile("QUẢNG CÁO TRUYỀN THÔNG", "ADVERTISING AND MEDIA", ("7310", "7320"),
            ("1811", "7410", "8230", "6312"), 2),
    Profile("NÔNG NGHIỆP", "AGRICULTURE", ("0118", "0145", "0146", "4620"),
            ("1080", "1030", "4632"), 2),
    Profile("THỦY SẢN", "SEAFOOD", ("0322", "0321", "1020"), ("4632", "1080"), 2),
    Profile("XUẤT NHẬP KHẨU", "IMPORT EXPORT", ("4690", "4620", "4669"),
            ("4632", "4641", "4659", "5229", "4610"), 4),
    Profile("NĂNG LƯỢNG", "ENERGY", ("3511", "4221"), ("4321", "4659", "7110"), 1),
    Profile("MÔI TRƯỜNG", "ENVIRONMENT", ("3811", "3600"), ("4222", "8121"), 1),
    Profile("Ô TÔ", "AUTOMOBILE", ("4511", "4520"), ("4659", "7710"), 1),
    Profile("IN ẤN", "PRINTING", ("1811",), ("7310", "2220", "4649"), 1),
    Profile("Y TẾ", "MEDICAL", ("8620",), ("4772", "4659"), 1),
    Profile("THỂ THAO", "SPORTS", ("9311",), ("8559", "4649"), 1),
)  # fmt: skip

#: Type → (Vietnamese prefix, English suffix, short-name suffix or None).
TYPE_NAMES: Final[dict[str, tuple[str, str, str | None]]] = {
    "llc_one_member": ("CÔNG TY TNHH", "COMPANY LIMITED", "CO., LTD"),
    "llc_multi_member": ("CÔNG TY TNHH", "COMPANY LIMITED", "CO., LTD"),
    "joint_stock": ("CÔNG TY CỔ PHẦN", "JOINT STOCK COMPANY", "JSC"),
    "private": ("DOANH NGHIỆP TƯ NHÂN", "PRIVATE ENTERPRISE", None),
    "partnership": ("CÔNG TY HỢP DANH", "PARTNERSHIP", None),
}

#: Charter capital range per type, VND (log-uniform between the bounds).
CAPITAL_RANGE: Final[dict[str, tuple[int, int]]] = {
    "llc_one_member": (100_000_000, 20_000_000_000),
    "llc_multi_member": (500_000_000, 50_000_000_000),
    "joint_stock": (1_000_000_000, 500_000_000_000),
    "private": (100_000_000, 5_000_000_000),
    "partnership": (500_000_000, 10_000_000_000),
}

#: Titles of a legal representative, by enterprise type.
REP_TITLES: Final[dict[str, tuple[str, ...]]] = {
    "llc_one_member": ("Giám đốc", "Giám đốc", "Chủ tịch công ty", "Tổng giám đốc"),
    "llc_multi_member": ("Giám đốc", "Giám đốc", "Chủ tịch Hội đồng thành viên"),
    "joint_stock": ("Tổng giám đốc", "Giám đốc", "Chủ tịch Hội đồng quản trị"),
    "private": ("Chủ doanh nghiệp",),
    "partnership": ("Thành viên hợp danh",),
}

STREETS: Final = (
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung",
    "Nguyễn Trãi", "Lê Duẩn", "Điện Biên Phủ", "Cách Mạng Tháng Tám", "Võ Thị Sáu",
    "Phan Chu Trinh", "Hùng Vương", "Trần Phú", "Nguyễn Văn Cừ", "Lê Hồng Phong",
    "Phan Đình Phùng", "Nguyễn Du", "Bà Triệu", "Hoàng Diệu", "Ngô Quyền", "Lý Thái Tổ",
    "Trần Quang Khải", "Nguyễn Thị Minh Khai", "Võ Văn Kiệt", "Phạm Văn Đồng", "Lạc Long Quân",
    "Âu Cơ", "Nguyễn Chí Thanh", "Tôn Đức Thắng", "Lê Thánh Tông", "Nguyễn Văn Linh",
    "Hoàng Văn Thụ", "Phan Bội Châu", "Trường Chinh", "Giải Phóng", "Kim Mã", "Xuân Thủy",
    "Cầu Giấy", "Láng Hạ",
)  # fmt: skip

VILLAGES: Final = (
    "Đông", "Đoài", "Thượng", "Hạ", "Trung", "Tân Lập", "An Bình", "Phú Mỹ", "Tân Thành",
    "Hòa Bình", "Thống Nhất", "Đồng Tâm", "Quyết Tiến", "Bình Minh", "Phú Lợi", "Tân Hưng",
)  # fmt: skip

#: Provinces (2025 codes) of the south, where hamlets are "ấp" rather than "thôn".
SOUTHERN_PROVINCES: Final = frozenset({"75", "79", "80", "82", "86", "91", "92", "96"})

#: Where most enterprises have their head office: Hà Nội and Hồ Chí Minh City.
BIG_CITIES: Final = ("01", "79")

#: First two digits of enterprise codes: the tax department of the province where the
#: enterprise was founded. Real for the five centrally governed cities; the other provinces
#: get synthetic but stable prefixes (see ``tax_prefixes``).
CITY_TAX_PREFIXES: Final[dict[str, str]] = {
    "01": "01",
    "31": "02",
    "79": "03",
    "48": "04",
    "92": "18",
}


def tax_prefixes(province_codes: list[str]) -> dict[str, str]:
    """Province code → 2-digit tax prefix, for every province (stable across runs)."""
    out = dict(CITY_TAX_PREFIXES)
    taken = set(out.values())
    candidates = (f"{n:02d}" for n in range(5, 100) if f"{n:02d}" not in taken)
    for code in sorted(province_codes):
        if code not in out:
            out[code] = next(candidates)
    return out


@dataclass(frozen=True, slots=True)
class HouseholdSector:
    """A kind of household business: the word its name starts with and its VSIC class."""

    label: str
    vsic: str
    weight: int
    capital: tuple[int, int]  # VND


HOUSEHOLD_SECTORS: Final = (
    HouseholdSector("Tạp hóa", "4711", 22, (20_000_000, 500_000_000)),
    HouseholdSector("Quán ăn", "5610", 10, (30_000_000, 800_000_000)),
    HouseholdSector("Quán phở", "5610", 4, (30_000_000, 500_000_000)),
    HouseholdSector("Cà phê", "5630", 12, (30_000_000, 1_000_000_000)),
    HouseholdSector("Thực phẩm", "4722", 5, (20_000_000, 300_000_000)),
    HouseholdSector("Sạp rau quả", "4781", 4, (10_000_000, 100_000_000)),
    HouseholdSector("Salon tóc", "9631", 6, (20_000_000, 300_000_000)),
    HouseholdSector("Thời trang", "4771", 7, (30_000_000, 800_000_000)),
    HouseholdSector("Nhà thuốc", "4772", 4, (50_000_000, 1_000_000_000)),
    HouseholdSector("Điện thoại", "4741", 4, (50_000_000, 2_000_000_000)),
    HouseholdSector("Vật liệu xây dựng", "4752", 4, (100_000_000, 2_000_000_000)),
    HouseholdSector("Điện máy", "4759", 3, (100_000_000, 2_000_000_000)),
    HouseholdSector("Sửa chữa điện tử", "9521", 3, (10_000_000, 200_000_000)),
    HouseholdSector("Vận tải", "4933", 3, (200_000_000, 2_000_000_000)),
    HouseholdSector("Nhà nghỉ", "5510", 3, (300_000_000, 2_000_000_000)),
    HouseholdSector("Gara ô tô", "4520", 2, (100_000_000, 1_500_000_000)),
    HouseholdSector("Cơ khí nhôm kính", "2592", 2, (50_000_000, 800_000_000)),
    HouseholdSector("May đo", "1410", 2, (10_000_000, 200_000_000)),
    HouseholdSector("Tiệm bánh", "1071", 2, (20_000_000, 300_000_000)),
)


@dataclass(frozen=True, slots=True)
class Bank:
    """A commercial bank that always exists in the seed (fictional names, fixed codes)."""

    code: str
    name_vi: str
    name_en: str
    short_name: str
    province_code: str
    charter_capital: int


#: The bank the development stack's KYC consumer belongs to (``VN/COM/<code>/kyc``).
#: ``make_enterprise_code("010123456")``; a test checks it is valid and present.
DEV_BANK_CODE: Final = "0101234565"

BANKS: Final = (
    Bank(DEV_BANK_CODE, "NGÂN HÀNG THƯƠNG MẠI CỔ PHẦN LIÊN THÔNG VIỆT NAM",
         "VIETNAM LIEN THONG COMMERCIAL JOINT STOCK BANK", "LIENTHONGBANK", "01",
         25_000_000_000_000),
    Bank("0102345677", "NGÂN HÀNG THƯƠNG MẠI CỔ PHẦN SÔNG HỒNG",
         "SONG HONG COMMERCIAL JOINT STOCK BANK", "SONGHONGBANK", "01", 18_000_000_000_000),
    Bank("0303456786", "NGÂN HÀNG THƯƠNG MẠI CỔ PHẦN CỬU LONG",
         "CUU LONG COMMERCIAL JOINT STOCK BANK", "CUULONGBANK", "79", 12_000_000_000_000),
    Bank("0307891236", "NGÂN HÀNG THƯƠNG MẠI CỔ PHẦN BẠCH ĐẰNG",
         "BACH DANG COMMERCIAL JOINT STOCK BANK", "BACHDANGBANK", "79", 10_000_000_000_000),
    Bank("0204567894", "NGÂN HÀNG THƯƠNG MẠI CỔ PHẦN DUYÊN HẢI",
         "DUYEN HAI COMMERCIAL JOINT STOCK BANK", "DUYENHAIBANK", "31", 5_000_000_000_000),
    Bank("0405678918", "NGÂN HÀNG THƯƠNG MẠI CỔ PHẦN TRƯỜNG SƠN",
         "TRUONG SON COMMERCIAL JOINT STOCK BANK", "TRUONGSONBANK", "48", 8_000_000_000_000),
)  # fmt: skip

BANK_SECONDARY_INDUSTRIES: Final = ("6492", "6619")

#: Window of the banks' founding dates.
BANKS_FOUNDED: Final = (date(1991, 6, 1), date(2008, 12, 31))


def ascii_upper(text: str) -> str:
    """Vietnamese text without diacritics, upper case ("PHÁT" → "PHAT", "ĐẠT" → "DAT")."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
