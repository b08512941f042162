"""The land registry's controlled vocabulary: purpose codes, origins, kinds, statuses.

Codes are the ones of the land statistics and cadastral map legend (Luật Đất đai 2024 and
its circulars: ODT, ONT, LUC, CLN, ...). The registry stores codes and answers codes with
their Vietnamese names beside them, so a consumer never has to keep its own copy of the list.
"""

from __future__ import annotations

from typing import Final

#: Land use purpose (mục đích sử dụng đất) code → Vietnamese name.
PURPOSES: Final[dict[str, str]] = {
    "ODT": "Đất ở tại đô thị",
    "ONT": "Đất ở tại nông thôn",
    "LUC": "Đất chuyên trồng lúa",
    "LUK": "Đất trồng lúa còn lại",
    "BHK": "Đất bằng trồng cây hằng năm khác",
    "CLN": "Đất trồng cây lâu năm",
    "NTS": "Đất nuôi trồng thủy sản",
    "RSX": "Đất rừng sản xuất",
    "SKC": "Đất cơ sở sản xuất phi nông nghiệp",
    "TMD": "Đất thương mại, dịch vụ",
}

RESIDENTIAL: Final[frozenset[str]] = frozenset({"ODT", "ONT"})
AGRICULTURAL: Final[frozenset[str]] = frozenset({"LUC", "LUK", "BHK", "CLN", "NTS", "RSX"})

#: ``use_term`` values: residential land is held for good; farm and business land until a date.
LONG_TERM: Final = "long-term"
LIMITED_TERM: Final = "limited"

# Origins of the right (nguồn gốc sử dụng), as printed on the certificate.
ORIGIN_ALLOCATED_WITH_FEE: Final = "Nhà nước giao đất có thu tiền sử dụng đất"
ORIGIN_ALLOCATED_FREE: Final = "Nhà nước giao đất không thu tiền sử dụng đất"
ORIGIN_RECOGNISED: Final = "Công nhận quyền sử dụng đất"
ORIGIN_TRANSFER: Final = "Nhận chuyển nhượng quyền sử dụng đất"
ORIGIN_INHERITANCE: Final = "Nhận thừa kế quyền sử dụng đất"
ORIGIN_GIFT: Final = "Nhận tặng cho quyền sử dụng đất"
ORIGIN_LEASE_ANNUAL: Final = "Nhà nước cho thuê đất trả tiền thuê đất hằng năm"
ORIGIN_LEASE_ONCE: Final = "Nhà nước cho thuê đất trả tiền thuê đất một lần cho cả thời gian thuê"

# Holder kinds.
PERSON: Final = "person"
ENTERPRISE: Final = "enterprise"

# Certificate statuses: ``valid`` is the one in force; a ``replaced`` certificate was
# superseded by a newer one (after a transfer, an inheritance, a re-issue); a ``revoked``
# one was withdrawn by the authority (issued in error, fraud) and nothing replaced it yet.
CERT_VALID: Final = "valid"
CERT_REVOKED: Final = "revoked"
CERT_REPLACED: Final = "replaced"
CERTIFICATE_STATUSES: Final = (CERT_VALID, CERT_REVOKED, CERT_REPLACED)

# Encumbrances.
MORTGAGE: Final = "mortgage"
ACTIVE: Final = "active"
RELEASED: Final = "released"

# Registered transactions (biến động), oldest first in a parcel's history.
TX_INITIAL: Final = "initial_registration"
TX_TRANSFER: Final = "transfer"
TX_INHERITANCE: Final = "inheritance"
TX_GIFT: Final = "gift"
TX_REISSUE: Final = "certificate_reissue"
TX_REVOCATION: Final = "certificate_revocation"
TX_MORTGAGE: Final = "mortgage_registration"
TX_MORTGAGE_RELEASE: Final = "mortgage_release"
TRANSACTION_KINDS: Final = (
    TX_INITIAL,
    TX_TRANSFER,
    TX_INHERITANCE,
    TX_GIFT,
    TX_REISSUE,
    TX_REVOCATION,
    TX_MORTGAGE,
    TX_MORTGAGE_RELEASE,
)

#: VSIC 6419: "other monetary intermediation" — commercial banks, the mortgagees.
BANK_INDUSTRY: Final = "6419"
