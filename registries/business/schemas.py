"""Request and response shapes of the business registry, with OpenAPI examples.

Responses are documented here but not validated on the way out: the service builds
JSON-ready dicts and ``fields=`` may leave any field out, so every response field is
optional in the schema.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

_ADDRESS_EXAMPLE: JsonDict = {
    "address_line": "Tầng 12, số 88 Láng Hạ",
    "commune_code": "00187",
    "commune_name": "Phường Láng",
    "province_code": "01",
    "province_name": "Thành phố Hà Nội",
}

_REP_EXAMPLE: JsonDict = {
    "personal_id": "001077001378",
    "full_name": "Phạm Công Định",
    "title": "Chủ tịch Hội đồng quản trị",
    "since": "1998-07-21",
}

_OWNER_EXAMPLE: JsonDict = {
    "kind": "person",
    "id": "001077001378",
    "name": "Phạm Công Định",
    "role": "founding_shareholder",
    "share_percent": 5.0,
    "capital_contribution": 1_250_000_000_000,
    "since": "1998-07-21",
}

_INDUSTRY_EXAMPLE: JsonDict = {"code": "6419", "name_vi": "Hoạt động trung gian tiền tệ khác"}

ENTERPRISE_EXAMPLE: JsonDict = {
    "enterprise_code": "0101234565",
    "name_vi": "NGÂN HÀNG THƯƠNG MẠI CỔ PHẦN LIÊN THÔNG VIỆT NAM",
    "name_en": "VIETNAM LIEN THONG COMMERCIAL JOINT STOCK BANK",
    "short_name": "LIENTHONGBANK",
    "type": "joint_stock",
    "type_name_vi": "Công ty cổ phần",
    "status": "active",
    "status_name_vi": "Đang hoạt động",
    "status_date": "1998-07-21",
    "founded_on": "1998-07-21",
    "head_office": _ADDRESS_EXAMPLE,
    "charter_capital": 25_000_000_000_000,
    "main_industry": _INDUSTRY_EXAMPLE,
    "secondary_industries": [{"code": "6492", "name_vi": "Hoạt động cấp tín dụng khác"}],
    "legal_representatives": [_REP_EXAMPLE],
    "owners": [_OWNER_EXAMPLE],
}

_HOUSEHOLD_OWNER_EXAMPLE: JsonDict = {
    "personal_id": "001185004321",
    "full_name": "Nguyễn Thị Thu Hương",
}

HOUSEHOLD_BUSINESS_EXAMPLE: JsonDict = {
    "registration_number": "01A8012345",
    "name": "Hộ kinh doanh Tạp hóa Thu Hương",
    "tax_code": "001185004321",
    "owner": _HOUSEHOLD_OWNER_EXAMPLE,
    "location": {
        "address_line": "Số 12, ngõ 34 Nguyễn Trãi",
        "commune_code": "00367",
        "commune_name": "Phường Thanh Xuân",
        "province_code": "01",
        "province_name": "Thành phố Hà Nội",
    },
    "sector": {
        "code": "4711",
        "name_vi": "Bán lẻ lương thực, thực phẩm, đồ uống, thuốc lá, thuốc lào chiếm tỷ trọng "
        "lớn trong các cửa hàng kinh doanh tổng hợp",
    },
    "capital": 150_000_000,
    "status": "active",
    "status_name_vi": "Đang hoạt động",
    "status_date": "2019-03-04",
    "registered_on": "2019-03-04",
}

_SUMMARY_EXAMPLE: JsonDict = {
    "code": "0108765438",
    "name": "CÔNG TY TNHH THƯƠNG MẠI DỊCH VỤ MINH PHÁT",
    "type": "llc_one_member",
    "status": "active",
    "status_date": "2015-06-01",
    "founded_on": "2015-06-01",
    "commune_code": "00187",
}

_ROLE_EXAMPLE: JsonDict = {
    "role": "legal_representative",
    "role_name_vi": "Người đại diện theo pháp luật",
    "business_kind": "enterprise",
    "title": "Giám đốc",
    "share_percent": None,
    "since": "2015-06-01",
    "business": _SUMMARY_EXAMPLE,
}


class Address(BaseModel):
    """A street line in a commune of the 2025 two-level system (codes are the keys)."""

    address_line: str
    commune_code: str = Field(description="5-digit commune code (2025)")
    commune_name: str | None = Field(
        description="None when the register holds a code outside the current list"
    )
    province_code: str | None = Field(description="2-digit province code (2025)")
    province_name: str | None

    model_config = ConfigDict(json_schema_extra={"examples": [_ADDRESS_EXAMPLE]})


class Industry(BaseModel):
    """A VSIC 2018 4-digit class."""

    code: str = Field(description="4-digit VSIC 2018 code", examples=["6201"])
    name_vi: str | None = Field(description="None for a class outside this registry's list")

    model_config = ConfigDict(json_schema_extra={"examples": [_INDUSTRY_EXAMPLE]})


class LegalRepresentativeOut(BaseModel):
    personal_id: str
    full_name: str
    title: str = Field(description="e.g. Giám đốc, Tổng giám đốc, Chủ tịch Hội đồng quản trị")
    since: str = Field(description="ISO date")

    model_config = ConfigDict(json_schema_extra={"examples": [_REP_EXAMPLE]})


class OwnerOut(BaseModel):
    """An owner, member, founding shareholder or general partner."""

    kind: Literal["person", "enterprise"]
    id: str = Field(description="Personal id (person) or enterprise code (enterprise)")
    name: str
    role: Literal["owner", "member", "founding_shareholder", "general_partner"]
    share_percent: float = Field(description="Share of charter capital, in percent")
    capital_contribution: int = Field(description="VND")
    since: str = Field(description="ISO date")

    model_config = ConfigDict(json_schema_extra={"examples": [_OWNER_EXAMPLE]})


class EnterpriseOut(BaseModel):
    """An enterprise record; ``fields=`` may leave any field out."""

    enterprise_code: str | None = None
    name_vi: str | None = None
    name_en: str | None = None
    short_name: str | None = None
    type: str | None = Field(None, description="llc_one_member, llc_multi_member, …")
    type_name_vi: str | None = None
    status: str | None = Field(None, description="active, suspended, dissolved, …")
    status_name_vi: str | None = None
    status_date: str | None = Field(None, description="ISO date the status took effect")
    founded_on: str | None = None
    head_office: Address | None = None
    charter_capital: int | None = Field(None, description="VND")
    main_industry: Industry | None = None
    secondary_industries: list[Industry] | None = None
    legal_representatives: list[LegalRepresentativeOut] | None = None
    owners: list[OwnerOut] | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [ENTERPRISE_EXAMPLE]})


class BusinessSummary(BaseModel):
    """The business a role is held in; ``fields=`` may leave any field out."""

    code: str | None = Field(
        None, description="Enterprise code, or registration number of a household business"
    )
    name: str | None = None
    type: str | None = Field(None, description="Enterprise type, or household_business")
    status: str | None = None
    status_date: str | None = None
    founded_on: str | None = Field(None, description="Founding or registration date")
    commune_code: str | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [_SUMMARY_EXAMPLE]})


class RoleOut(BaseModel):
    role: str = Field(description="legal_representative, owner, member, …")
    role_name_vi: str
    business_kind: Literal["enterprise", "household_business"]
    title: str | None = Field(None, description="Legal representatives only")
    share_percent: float | None = Field(None, description="Ownership roles only")
    since: str
    business: BusinessSummary

    model_config = ConfigDict(json_schema_extra={"examples": [_ROLE_EXAMPLE]})


class PersonRolesOut(BaseModel):
    """The roles a person holds in the register (empty when the registry does not know them)."""

    personal_id: str
    roles: list[RoleOut]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "personal_id": "001077001378",
                    "roles": [_ROLE_EXAMPLE],
                }
            ]
        }
    )


class HouseholdOwner(BaseModel):
    personal_id: str
    full_name: str

    model_config = ConfigDict(json_schema_extra={"examples": [_HOUSEHOLD_OWNER_EXAMPLE]})


class HouseholdBusinessOut(BaseModel):
    """A household business record; ``fields=`` may leave any field out."""

    registration_number: str | None = None
    name: str | None = None
    tax_code: str | None = Field(None, description="The owner's personal id (since 2025-07-01)")
    owner: HouseholdOwner | None = None
    location: Address | None = None
    sector: Industry | None = None
    capital: int | None = Field(None, description="VND")
    status: str | None = Field(None, description="active, suspended, ceased")
    status_name_vi: str | None = None
    status_date: str | None = None
    registered_on: str | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [HOUSEHOLD_BUSINESS_EXAMPLE]})


class EnterpriseVerificationQuery(BaseModel):
    """Facts the caller believes about an enterprise; each given one must match."""

    enterprise_code: str = Field(max_length=32, description="10-digit enterprise code")
    name: str | None = Field(
        None, min_length=1, max_length=300, description="Registered Vietnamese or English name"
    )
    legal_representative_id: str | None = Field(
        None, max_length=32, description="Personal id of a current legal representative"
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "enterprise_code": "0101234565",
                    "name": "Ngân hàng Thương mại Cổ phần Liên Thông Việt Nam",
                    "legal_representative_id": "001077001378",
                }
            ]
        },
    )


class EnterpriseVerification(BaseModel):
    """Whether every given fact matches, and the enterprise's status; nothing else."""

    match: bool
    status: str = Field(description="active, suspended, dissolved, bankrupt, revoked")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"match": True, "status": "active"},
                {"match": False, "status": "dissolved"},
            ]
        }
    )
