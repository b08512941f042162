"""The VSIC 2018 industry codes the business registry uses (Decision 27/2018/QĐ-TTg).

Vietnam's standard industrial classification has five levels; business registration records
the 4-digit class (ngành cấp 4) with its Vietnamese name, one of them marked as the main
line of business. This is the subset the seed draws from and the service names — not the
whole classification (about 480 classes). Names are the official class titles as they
appear on registration certificates.

VSIC 2025 (Decision 36/2025/QĐ-TTg) applies from 15 November 2025, but existing
registrations keep their 2018 codes until the enterprise files a change, so a register seeded
with mostly older enterprises speaks VSIC 2018.
"""

from __future__ import annotations

from typing import Final

VSIC_VERSION: Final = "VSIC 2018"

#: 4-digit VSIC 2018 class → official Vietnamese title.
VSIC_2018: Final[dict[str, str]] = {
    # A — agriculture, forestry and fishing
    "0118": "Trồng rau, đậu các loại và trồng hoa",
    "0145": "Chăn nuôi lợn và sản xuất giống lợn",
    "0146": "Chăn nuôi gia cầm",
    "0321": "Nuôi trồng thủy sản biển",
    "0322": "Nuôi trồng thủy sản nội địa",
    # C — manufacturing
    "1010": "Chế biến, bảo quản thịt và các sản phẩm từ thịt",
    "1020": "Chế biến, bảo quản thủy sản và các sản phẩm từ thủy sản",
    "1030": "Chế biến và bảo quản rau quả",
    "1071": "Sản xuất các loại bánh từ bột",
    "1075": "Sản xuất món ăn, thức ăn chế biến sẵn",
    "1079": "Sản xuất thực phẩm khác chưa được phân vào đâu",
    "1080": "Sản xuất thức ăn gia súc, gia cầm và thủy sản",
    "1410": "May trang phục (trừ trang phục từ da lông thú)",
    "1520": "Sản xuất giày, dép",
    "1622": "Sản xuất đồ gỗ xây dựng",
    "1811": "In ấn",
    "2100": "Sản xuất thuốc, hoá dược và dược liệu",
    "2220": "Sản xuất sản phẩm từ plastic",
    "2395": "Sản xuất bê tông và các sản phẩm từ bê tông, xi măng và thạch cao",
    "2511": "Sản xuất các cấu kiện kim loại",
    "2592": "Gia công cơ khí; xử lý và tráng phủ kim loại",
    "2610": "Sản xuất linh kiện điện tử",
    "3100": "Sản xuất giường, tủ, bàn, ghế",
    "3312": "Sửa chữa máy móc, thiết bị",
    # D, E — utilities
    "3511": "Sản xuất điện",
    "3600": "Khai thác, xử lý và cung cấp nước",
    "3811": "Thu gom rác thải không độc hại",
    # F — construction
    "4101": "Xây dựng nhà để ở",
    "4102": "Xây dựng nhà không để ở",
    "4211": "Xây dựng công trình đường sắt",
    "4212": "Xây dựng công trình đường bộ",
    "4221": "Xây dựng công trình điện",
    "4222": "Xây dựng công trình cấp, thoát nước",
    "4299": "Xây dựng công trình kỹ thuật dân dụng khác",
    "4311": "Phá dỡ",
    "4312": "Chuẩn bị mặt bằng",
    "4321": "Lắp đặt hệ thống điện",
    "4322": "Lắp đặt hệ thống cấp, thoát nước, lò sưởi và điều hoà không khí",
    "4330": "Hoàn thiện công trình xây dựng",
    # G — wholesale and retail trade
    "4511": "Bán buôn ô tô và xe có động cơ khác",
    "4520": "Bảo dưỡng, sửa chữa ô tô và xe có động cơ khác",
    "4610": "Đại lý, môi giới, đấu giá hàng hóa",
    "4620": "Bán buôn nông, lâm sản nguyên liệu (trừ gỗ, tre, nứa) và động vật sống",
    "4632": "Bán buôn thực phẩm",
    "4633": "Bán buôn đồ uống",
    "4641": "Bán buôn vải, hàng may mặc, giày dép",
    "4649": "Bán buôn đồ dùng khác cho gia đình",
    "4651": "Bán buôn máy vi tính, thiết bị ngoại vi và phần mềm",
    "4652": "Bán buôn thiết bị và linh kiện điện tử, viễn thông",
    "4659": "Bán buôn máy móc, thiết bị và phụ tùng máy khác",
    "4663": "Bán buôn vật liệu, thiết bị lắp đặt khác trong xây dựng",
    "4669": "Bán buôn chuyên doanh khác chưa được phân vào đâu",
    "4690": "Bán buôn tổng hợp",
    "4711": (
        "Bán lẻ lương thực, thực phẩm, đồ uống, thuốc lá, thuốc lào chiếm tỷ trọng lớn "
        "trong các cửa hàng kinh doanh tổng hợp"
    ),
    "4719": "Bán lẻ khác trong các cửa hàng kinh doanh tổng hợp",
    "4722": "Bán lẻ thực phẩm trong các cửa hàng chuyên doanh",
    "4723": "Bán lẻ đồ uống trong các cửa hàng chuyên doanh",
    "4741": (
        "Bán lẻ máy vi tính, thiết bị ngoại vi, phần mềm và thiết bị viễn thông "
        "trong các cửa hàng chuyên doanh"
    ),
    "4752": (
        "Bán lẻ đồ ngũ kim, sơn, kính và thiết bị lắp đặt khác trong xây dựng "
        "trong các cửa hàng chuyên doanh"
    ),
    "4759": (
        "Bán lẻ đồ điện gia dụng, giường, tủ, bàn, ghế và đồ nội thất tương tự, đèn và bộ "
        "đèn điện, đồ dùng gia đình khác chưa được phân vào đâu trong các cửa hàng chuyên doanh"
    ),
    "4771": ("Bán lẻ hàng may mặc, giày dép, hàng da và giả da trong các cửa hàng chuyên doanh"),
    "4772": (
        "Bán lẻ thuốc, dụng cụ y tế, mỹ phẩm và vật phẩm vệ sinh trong các cửa hàng chuyên doanh"
    ),
    "4781": ("Bán lẻ lương thực, thực phẩm, đồ uống, thuốc lá, thuốc lào lưu động hoặc tại chợ"),
    "4791": "Bán lẻ theo yêu cầu đặt hàng qua bưu điện hoặc internet",
    # H — transport and storage
    "4931": ("Vận tải hành khách đường bộ trong nội thành, ngoại thành (trừ vận tải bằng xe buýt)"),
    "4932": "Vận tải hành khách đường bộ khác",
    "4933": "Vận tải hàng hóa bằng đường bộ",
    "5012": "Vận tải hàng hóa ven biển và viễn dương",
    "5210": "Kho bãi và lưu giữ hàng hóa",
    "5224": "Bốc xếp hàng hóa",
    "5229": "Hoạt động dịch vụ hỗ trợ khác liên quan đến vận tải",
    "5320": "Chuyển phát",
    # I — accommodation and food
    "5510": "Dịch vụ lưu trú ngắn ngày",
    "5610": "Nhà hàng và các dịch vụ ăn uống phục vụ lưu động",
    "5621": (
        "Cung cấp dịch vụ ăn uống theo hợp đồng không thường xuyên với khách hàng "
        "(phục vụ tiệc, hội họp, đám cưới...)"
    ),
    "5630": "Dịch vụ phục vụ đồ uống",
    # J — information and communication
    "5811": "Xuất bản sách",
    "6201": "Lập trình máy vi tính",
    "6202": "Tư vấn máy vi tính và quản trị hệ thống máy vi tính",
    "6209": "Hoạt động dịch vụ công nghệ thông tin và dịch vụ khác liên quan đến máy vi tính",
    "6311": "Xử lý dữ liệu, cho thuê và các hoạt động liên quan",
    "6312": "Cổng thông tin",
    # K — finance
    "6419": "Hoạt động trung gian tiền tệ khác",
    "6492": "Hoạt động cấp tín dụng khác",
    "6619": "Hoạt động hỗ trợ dịch vụ tài chính chưa được phân vào đâu",
    # L — real estate
    "6810": (
        "Kinh doanh bất động sản, quyền sử dụng đất thuộc chủ sở hữu, chủ sử dụng hoặc đi thuê"
    ),
    "6820": "Tư vấn, môi giới, đấu giá bất động sản, đấu giá quyền sử dụng đất",
    # M — professional, scientific and technical
    "6910": "Hoạt động pháp luật",
    "6920": "Hoạt động liên quan đến kế toán, kiểm toán và tư vấn về thuế",
    "7020": "Hoạt động tư vấn quản lý",
    "7110": "Hoạt động kiến trúc và tư vấn kỹ thuật có liên quan",
    "7310": "Quảng cáo",
    "7320": "Nghiên cứu thị trường và thăm dò dư luận",
    "7410": "Hoạt động thiết kế chuyên dụng",
    # N — administrative and support
    "7710": "Cho thuê xe có động cơ",
    "7911": "Đại lý du lịch",
    "7912": "Điều hành tua du lịch",
    "8121": "Vệ sinh chung nhà cửa",
    "8230": "Tổ chức giới thiệu và xúc tiến thương mại",
    "8299": "Hoạt động dịch vụ hỗ trợ kinh doanh khác còn lại chưa được phân vào đâu",
    # P, Q, R, S — education, health, recreation, other services
    "8510": "Giáo dục mầm non",
    "8559": "Giáo dục khác chưa được phân vào đâu",
    "8620": "Hoạt động của các phòng khám đa khoa, chuyên khoa và nha khoa",
    "9311": "Hoạt động của các cơ sở thể thao",
    "9511": "Sửa chữa máy vi tính và thiết bị ngoại vi",
    "9521": "Sửa chữa thiết bị nghe nhìn điện tử gia dụng",
    "9631": "Cắt tóc, làm đầu, gội đầu",
}

#: The class of banks (commercial banks are "other monetary intermediation").
BANKING: Final = "6419"


def vsic_name(code: str) -> str:
    """The Vietnamese title of a VSIC 2018 class this registry knows (``KeyError`` if not)."""
    return VSIC_2018[code]


def industry(code: str) -> dict[str, str | None]:
    """``{"code", "name_vi"}`` for the API; a class outside this list has no name here."""
    return {"code": code, "name_vi": VSIC_2018.get(code)}
