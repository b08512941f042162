"""Request and response shapes of the population registry, with OpenAPI examples.

Responses are documented here but not validated on the way out: the service builds
JSON-ready dicts and ``fields=`` may leave any field out, so every response field is
optional in the schema.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.config import JsonDict

_ADDRESS_EXAMPLE: JsonDict = {
    "address_line": "Số 12, ngõ 34, đường Nguyễn Trãi",
    "commune_code": "00070",
    "commune_name": "Phường Hoàn Kiếm",
    "province_code": "01",
    "province_name": "Thành phố Hà Nội",
}

PERSON_EXAMPLE: JsonDict = {
    "personal_id": "001085012345",
    "full_name": "Nguyễn Văn An",
    "date_of_birth": "1985-04-17",
    "sex": "male",
    "birth_registration_place": {"province_code": "001", "province_name": "Hà Nội"},
    "hometown": {
        "commune_code": "00070",
        "commune_name": "Phường Hoàn Kiếm",
        "province_code": "01",
        "province_name": "Thành phố Hà Nội",
    },
    "ethnicity": "Kinh",
    "nationality": "VN",
    "permanent_residence": _ADDRESS_EXAMPLE,
    "current_residence": _ADDRESS_EXAMPLE,
    "household_id": "000700000001",
    "relation_to_head": "head",
    "father_id": None,
    "mother_id": None,
    "spouse_id": "001187004321",
    "marital_status": "married",
    "status": "alive",
    "date_of_death": None,
}


class Unit(BaseModel):
    """A commune of the 2025 two-level system and its province (codes are the keys)."""

    commune_code: str = Field(description="5-digit commune code (2025)")
    commune_name: str | None = Field(
        description="None when the register holds a code outside the current list"
    )
    province_code: str | None = Field(description="2-digit province code (2025)")
    province_name: str | None


class Address(Unit):
    """A residence: a street-level line plus its commune and province."""

    address_line: str = Field(description="House number, alley, street or hamlet")

    model_config = ConfigDict(json_schema_extra={"examples": [_ADDRESS_EXAMPLE]})


class BirthPlace(BaseModel):
    """The province of birth registration: a legacy (pre-2025) 3-digit code, fixed for life."""

    province_code: str = Field(description="Legacy 3-digit code, as in the personal id")
    province_name: str


class PersonOut(BaseModel):
    """A person of the National Population Database (only the fields asked for)."""

    personal_id: str | None = Field(None, description="12-digit personal identification number")
    full_name: str | None = None
    date_of_birth: date | None = None
    sex: Literal["male", "female"] | None = None
    birth_registration_place: BirthPlace | None = None
    hometown: Unit | None = Field(None, description="Quê quán: the family's place of origin")
    ethnicity: str | None = Field(None, description="One of the 54 ethnic groups, e.g. Kinh")
    nationality: str | None = Field(None, description="ISO 3166-1 alpha-2, e.g. VN")
    permanent_residence: Address | None = Field(None, description="Nơi thường trú")
    current_residence: Address | None = Field(None, description="Nơi ở hiện tại")
    household_id: str | None = None
    relation_to_head: str | None = Field(
        None,
        description="head (chủ hộ), spouse (vợ/chồng), child (con), child_in_law (con dâu/"
        "con rể), grandchild (cháu), parent (cha/mẹ), parent_in_law (cha/mẹ vợ hoặc chồng)",
    )
    father_id: str | None = None
    mother_id: str | None = None
    spouse_id: str | None = Field(
        None, description="Current spouse, or the late spouse of a widowed person"
    )
    marital_status: Literal["single", "married", "divorced", "widowed"] | None = None
    status: Literal["alive", "deceased"] | None = None
    date_of_death: date | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [PERSON_EXAMPLE]})


class MemberOut(BaseModel):
    """A living member of a household (only the fields asked for)."""

    personal_id: str | None = None
    full_name: str | None = None
    relation_to_head: str | None = None
    date_of_birth: date | None = None


class HouseholdOut(BaseModel):
    """A household: its registered address, its head and its living members, head first."""

    household_id: str
    address: Address
    head_id: str
    members: list[MemberOut]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "household_id": "000700000001",
                    "address": _ADDRESS_EXAMPLE,
                    "head_id": "001085012345",
                    "members": [
                        {
                            "personal_id": "001085012345",
                            "full_name": "Nguyễn Văn An",
                            "relation_to_head": "head",
                            "date_of_birth": "1985-04-17",
                        },
                        {
                            "personal_id": "001187004321",
                            "full_name": "Trần Thị Mai",
                            "relation_to_head": "spouse",
                            "date_of_birth": "1987-09-02",
                        },
                    ],
                }
            ]
        }
    )


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_text(value: object) -> object:
    """Only ``YYYY-MM-DD`` text is a date here: pydantic's lax mode would also read 0 or
    "86400" as a Unix timestamp and accept a date-time."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be an ISO 8601 date string, YYYY-MM-DD")
    return value


#: A date that arrives as ``YYYY-MM-DD`` text, as the schema says, and nothing else.
IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]


class IdentityQuery(BaseModel):
    """What the caller believes about a person: the three facts to match."""

    personal_id: str = Field(max_length=32, description="12-digit personal identification number")
    full_name: str = Field(min_length=1, max_length=200)
    date_of_birth: IsoDate

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "personal_id": "001085012345",
                    "full_name": "Nguyễn Văn An",
                    "date_of_birth": "1985-04-17",
                }
            ]
        },
    )


class IdentityMatch(BaseModel):
    """``{"match": false}``, or ``{"match": true, "alive": true|false}``.

    ``alive`` is present only when the three facts match, so the answer reveals nothing to
    a caller who does not already know who the person is.
    """

    match: bool
    alive: bool | None = Field(None, description="Present only when match is true")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"match": True, "alive": True}, {"match": False}]}
    )
