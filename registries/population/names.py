"""Vietnamese names and ethnic groups, with frequencies, for the synthetic population.

The numbers are rough public figures (2019 census for ethnic groups; surname surveys for
family names) — enough to make the data *look* like Vietnam, not to do demography with.

A Kinh name is ``family middle given`` ("Nguyễn Thị Lan"): the family name comes from the
father, the middle name marks sex and fashion (``Thị``/``Văn`` were near-universal for people
born before 1975 and are much rarer since 1995), the given name is what people are called.
Some minorities differ: H'Mông men often carry the middle name ``A``; the Ê Đê write
``Y``/``H'`` + given name + clan name, and — being matrilineal — pass the *mother's* clan
name to the children.
"""

from __future__ import annotations

from bisect import bisect
from dataclasses import dataclass
from itertools import accumulate
from random import Random


@dataclass(frozen=True, slots=True)
class Weighted:
    """Choices with weights, sampled with one ``random()`` and a bisect (fast at 1M rows)."""

    items: tuple[str, ...]
    cum: tuple[float, ...]

    @classmethod
    def of(cls, pairs: list[tuple[str, float]] | dict[str, float]) -> Weighted:
        seq = list(pairs.items()) if isinstance(pairs, dict) else pairs
        return cls(tuple(k for k, _ in seq), tuple(accumulate(w for _, w in seq)))

    @classmethod
    def uniform(cls, items: str) -> Weighted:
        """Equal weights over a whitespace-separated list (multi-word items use ``_``)."""
        names = [s.replace("_", " ") for s in items.split()]
        return cls.of([(n, 1.0) for n in names])

    def pick(self, rng: Random) -> str:
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


def below(rng: Random, n: int) -> int:
    """A uniform integer in ``[0, n)``: ``randrange`` costs five times more, a million times."""
    return int(rng.random() * n)


# -- family names ----------------------------------------------------------------------------

#: Kinh family names, in percent of the population (the long tail shares the remainder).
KINH_FAMILY = Weighted.of(
    {
        "Nguyễn": 38.4, "Trần": 11.0, "Lê": 9.5, "Phạm": 7.0, "Hoàng": 3.0, "Huỳnh": 2.1,
        "Phan": 4.5, "Vũ": 2.0, "Võ": 2.0, "Đặng": 2.1, "Bùi": 2.0, "Đỗ": 1.4, "Hồ": 1.3,
        "Ngô": 1.3, "Dương": 1.0, "Lý": 0.5, "Đinh": 0.6, "Trương": 0.6, "Đào": 0.5,
        "Mai": 0.5, "Trịnh": 0.5, "Lương": 0.4, "Cao": 0.4, "Lâm": 0.4, "Tạ": 0.3,
        "Phùng": 0.3, "Hà": 0.3, "Đoàn": 0.3, "Chu": 0.2, "Tô": 0.2, "Vương": 0.2,
        "Thái": 0.2, "Lưu": 0.2, "Quách": 0.15, "Kiều": 0.15, "Triệu": 0.15, "Tăng": 0.1,
        "Doãn": 0.1, "Khúc": 0.05, "Lại": 0.1, "Văn": 0.1, "Nghiêm": 0.1, "Âu": 0.05,
        "Châu": 0.1, "La": 0.1, "Mạc": 0.05, "Tôn": 0.05, "Thân": 0.05, "Giang": 0.1,
    }
)  # fmt: skip

_FAMILY_BY_GROUP: dict[str, Weighted] = {
    "kinh": KINH_FAMILY,
    "hoa": Weighted.uniform("Lý Trương Lâm Quách Châu Mã Hứa Tăng La Huỳnh Trần Lưu Diệp"),
    "tay_nung": Weighted.uniform("Hoàng Nông Lương Hà Ma Bế Đàm Lục Triệu Vi Lành Chu Mã Lăng"),
    "thai": Weighted.uniform("Lò Cầm Lường Quàng Tòng Vi Hà Điêu Lự Lê"),
    "muong": Weighted.uniform("Bùi Đinh Quách Hà Xa Bạch Đinh Bùi"),
    "hmong": Weighted.uniform("Giàng Vàng Sùng Thào Lý Hầu Mùa Lầu Sình Vừ Ly Tráng"),
    "dao": Weighted.uniform("Triệu Bàn Đặng Lý Phùng Chìu Tẩn"),
    "khmer": Weighted.uniform("Thạch Sơn Danh Kim Lâm Châu Lý Huỳnh Thị"),
    "cham": Weighted.uniform("Đàng Thông Quảng Phú Thuận Lưu Châu"),
    "highland": Weighted.uniform("Rơ_Châm Ksor Siu Rơ_Mah Nay Kpă Rơ_Lan Đinh A_Lăng"),
    "ede": Weighted.uniform("Niê Mlô Êban Byă Ayun Knul Adrơng Hđơk Êya"),
}

# -- middle and given names ------------------------------------------------------------------

#: Middle names by sex and birth era: (born before 1975, 1975-1994, 1995 and later).
_MIDDLE: dict[str, tuple[Weighted, Weighted, Weighted]] = {
    "male": (
        Weighted.of({"Văn": 70, "Hữu": 6, "Đức": 6, "Minh": 4, "Quang": 4, "Công": 4,
                     "Xuân": 3, "Đình": 3}),
        Weighted.of({"Văn": 40, "Minh": 10, "Đức": 9, "Quang": 8, "Hữu": 6, "Công": 6,
                     "Thanh": 6, "Ngọc": 4, "Tuấn": 4, "Hoàng": 4, "Xuân": 3}),
        Weighted.of({"Văn": 20, "Minh": 16, "Đức": 12, "Gia": 10, "Quang": 8, "Anh": 7,
                     "Hoàng": 7, "Bảo": 6, "Thành": 5, "Tuấn": 5, "Hữu": 4}),
    ),
    "female": (
        Weighted.of({"Thị": 88, "Ngọc": 3, "Thu": 3, "Kim": 2, "Thanh": 2, "Hồng": 2}),
        Weighted.of({"Thị": 55, "Ngọc": 8, "Thu": 7, "Thanh": 7, "Kim": 5, "Thùy": 5,
                     "Hồng": 4, "Minh": 3, "Mỹ": 3, "Phương": 3}),
        Weighted.of({"Thị": 25, "Ngọc": 12, "Thu": 8, "Thanh": 7, "Khánh": 8, "Minh": 8,
                     "Bảo": 7, "Thùy": 6, "Phương": 6, "Hoài": 5, "Mỹ": 4, "Kim": 4}),
    ),
}  # fmt: skip

_GIVEN: dict[str, Weighted] = {
    "male": Weighted.uniform(
        "An Anh Bảo Bình Cường Chiến Dũng Duy Đạt Định Đông Giang Hải Hào Hiếu Hòa Hoàng "
        "Hùng Huy Hưng Khang Khánh Khoa Kiên Long Lâm Lộc Luân Minh Nam Nghĩa Nhân Phong "
        "Phúc Quân Quang Quý Sơn Tài Tâm Thắng Thành Thịnh Toàn Trung Trí Tiến Tú Tuấn Tùng "
        "Việt Vinh Vũ Hậu Hiệp Đức Thái Lợi Tín Kiệt"
    ),
    "female": Weighted.uniform(
        "Anh Chi Diệp Dung Duyên Hà Hằng Hạnh Hiền Hoa Hồng Huệ Hương Hường Lan Liên Linh "
        "Loan Ly Mai My Nga Ngân Ngọc Nhung Nhi Oanh Phương Quỳnh Tâm Thảo Thủy Trang Trâm "
        "Tuyết Uyên Vân Vy Xuân Yến Thư Giang Hoài Hậu Lụa Thơm Huyền Thu Thoa Nguyệt Châu"
    ),
}

_HMONG_GIVEN: dict[str, Weighted] = {
    "male": Weighted.uniform("Páo Sình Chứ Dính Lử Pó Tủa Sáng Chông Sử Dế Lồng Seo Chá"),
    "female": Weighted.uniform("Mỷ Dợ Chở Xúa Say Pà Sua Máy Dua Ly Mai Sinh Dúa"),
}
_HIGHLAND_GIVEN: dict[str, Weighted] = {
    "male": Weighted.uniform("Moan Kông Blik Ngông Jut Thi Brơm Dhăm Nuê Khuê Đhuk Wiêt"),
    "female": Weighted.uniform("Hen Nhí Lan Blăng Duin Ư Mai Yơn Jũ Byă Ngơn Ruê"),
}

# -- ethnic groups ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ethnicity:
    """An ethnic group: its official name, naming style, and where its people mostly live."""

    name: str
    share: float  # percent of the population, 2019 census (rounded)
    style: str  # key of _FAMILY_BY_GROUP, also selects the name pattern
    homes: tuple[str, ...]  # legacy 3-digit province codes; empty = anywhere (by population)

    @property
    def matrilineal(self) -> bool:
        """Children take the mother's clan name (Ê Đê, Gia Rai and their neighbours)."""
        return self.style in ("ede", "highland")


ETHNICITIES: tuple[Ethnicity, ...] = (
    Ethnicity("Kinh", 85.3, "kinh", ()),
    Ethnicity("Tày", 1.92, "tay_nung", ("004", "020", "006", "008", "002", "019", "010", "015")),
    Ethnicity("Thái", 1.89, "thai", ("014", "038", "040", "011", "012", "015", "017")),
    Ethnicity("Mường", 1.51, "muong", ("017", "038", "025", "037", "014")),
    Ethnicity("H'Mông", 1.45, "hmong", ("002", "014", "011", "012", "010", "015", "004")),
    Ethnicity("Khmer", 1.37, "khmer", ("094", "084", "091", "089", "095", "096", "092")),
    Ethnicity("Nùng", 1.13, "tay_nung", ("020", "004", "024", "002", "019", "066")),
    Ethnicity("Dao", 0.93, "dao", ("002", "015", "010", "008", "022", "006")),
    Ethnicity("Hoa", 0.78, "hoa", ("079", "075", "094", "091", "022", "092")),
    Ethnicity("Gia Rai", 0.53, "highland", ("064", "062")),
    Ethnicity("Ê Đê", 0.41, "ede", ("066", "054")),
    Ethnicity("Ba Na", 0.30, "highland", ("064", "062", "052")),
    Ethnicity("Xơ Đăng", 0.22, "highland", ("062", "049")),
    Ethnicity("Sán Chay", 0.21, "kinh", ("008", "019", "024")),
    Ethnicity("Cơ Ho", 0.21, "highland", ("068",)),
    Ethnicity("Chăm", 0.19, "cham", ("058", "060", "089")),
    Ethnicity("Sán Dìu", 0.19, "kinh", ("019", "026", "024", "022")),
    Ethnicity("Hrê", 0.15, "highland", ("051",)),
    Ethnicity("Ra Glai", 0.15, "highland", ("058", "056")),
    Ethnicity("M'Nông", 0.13, "ede", ("067", "066")),
    Ethnicity("Xtiêng", 0.10, "highland", ("070",)),
    Ethnicity("Thổ", 0.09, "kinh", ("040", "038")),
    Ethnicity("Khơ Mú", 0.09, "thai", ("040", "011", "014")),
    Ethnicity("Bru - Vân Kiều", 0.09, "highland", ("045", "044")),
    Ethnicity("Cơ Tu", 0.08, "highland", ("049", "046")),
    Ethnicity("Giáy", 0.07, "tay_nung", ("010", "012", "002")),
)

ETHNICITY_BY_NAME: dict[str, Ethnicity] = {e.name: e for e in ETHNICITIES}
ETHNICITY_CHOICE = Weighted.of([(e.name, e.share) for e in ETHNICITIES])


def family_names(style: str) -> Weighted:
    return _FAMILY_BY_GROUP[style]


def full_name(rng: Random, style: str, sex: str, birth_year: int, family: str) -> str:
    """A full name in the pattern of the ethnic group ``style``, for a person of ``sex``."""
    if style == "ede":
        prefix = "Y " if sex == "male" else "H'"
        return f"{prefix}{_HIGHLAND_GIVEN[sex].pick(rng)} {family}"
    if style == "highland":
        return f"{family} {_HIGHLAND_GIVEN[sex].pick(rng)}"
    if style == "hmong":
        middle = ("A" if rng.random() < 0.6 else "Văn") if sex == "male" else "Thị"
        return f"{family} {middle} {_HMONG_GIVEN[sex].pick(rng)}"
    era = 0 if birth_year < 1975 else 1 if birth_year < 1995 else 2
    middle = _MIDDLE[sex][era].pick(rng)
    given = _GIVEN[sex].pick(rng)
    if middle == given:  # "Nguyễn Minh Minh" does happen, but rarely: draw again
        given = _GIVEN[sex].pick(rng)
    return f"{family} {middle} {given}"
