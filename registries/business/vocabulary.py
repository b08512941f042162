"""The closed vocabularies of the business registry: codes and their Vietnamese names.

Codes are what the database stores and the API returns (stable, ASCII, English); the
Vietnamese name is what a certificate prints. A catalogue (and the gateway's field rules)
can read these tables without importing the service.
"""

from __future__ import annotations

from typing import Final

#: Enterprise types under the Law on Enterprises 2020.
ENTERPRISE_TYPES: Final[dict[str, str]] = {
    "llc_one_member": "Công ty trách nhiệm hữu hạn một thành viên",
    "llc_multi_member": "Công ty trách nhiệm hữu hạn hai thành viên trở lên",
    "joint_stock": "Công ty cổ phần",
    "private": "Doanh nghiệp tư nhân",
    "partnership": "Công ty hợp danh",
}

#: Legal status of an enterprise (tình trạng pháp lý).
ENTERPRISE_STATUSES: Final[dict[str, str]] = {
    "active": "Đang hoạt động",
    "suspended": "Tạm ngừng kinh doanh có thời hạn",
    "dissolved": "Đã giải thể",
    "bankrupt": "Đã phá sản",
    "revoked": "Bị thu hồi Giấy chứng nhận đăng ký doanh nghiệp",
}

#: Statuses in which the enterprise still exists as a legal person and can act.
OPERATING_STATUSES: Final = frozenset({"active", "suspended"})

#: Status of a household business (hộ kinh doanh).
HOUSEHOLD_STATUSES: Final[dict[str, str]] = {
    "active": "Đang hoạt động",
    "suspended": "Tạm ngừng kinh doanh",
    "ceased": "Chấm dứt hoạt động kinh doanh",
}

#: Roles a person can hold; the first is the legal representative, the next four are the
#: ownership roles of the enterprise types, the last one is the household business owner.
ROLES: Final[dict[str, str]] = {
    "legal_representative": "Người đại diện theo pháp luật",
    "owner": "Chủ sở hữu",
    "member": "Thành viên góp vốn",
    "founding_shareholder": "Cổ đông sáng lập",
    "general_partner": "Thành viên hợp danh",
    "household_business_owner": "Chủ hộ kinh doanh",
}

#: The ownership role of each enterprise type.
OWNER_ROLE_OF_TYPE: Final[dict[str, str]] = {
    "llc_one_member": "owner",
    "llc_multi_member": "member",
    "joint_stock": "founding_shareholder",
    "private": "owner",
    "partnership": "general_partner",
}

#: Kinds of owner: a natural person (personal id) or an organisation (enterprise code).
OWNER_KINDS: Final = ("person", "enterprise")
