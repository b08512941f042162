"""Purposes and access rights: ``Policy.authorize`` and the policy files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.ids.xroad import parse_client_id, parse_service_id
from gateway.errors import (
    AccessDenied,
    FieldsNotAllowed,
    PurposeNotAllowed,
    PurposeRequired,
    PurposeUnknown,
)
from gateway.policy import (
    DEFAULT_POLICY_DIR,
    Decision,
    Grant,
    Policy,
    PolicyError,
    Purpose,
    file_grant_id,
    parse_grant,
    parse_purpose,
)

CLIENT = parse_client_id("VN/GOV/UBND-HN/one-stop")
OTHER = parse_client_id("VN/GOV/VPDK-HN/land-office")
PERSONS = parse_service_id("VN/GOV/BCA/population/persons")
PARCELS = parse_service_id("VN/GOV/BNNMT/land/parcels")
OP_FIELDS = ("personal_id", "full_name", "date_of_birth", "sex", "hometown")

PURPOSES = [
    Purpose("registration", "Đăng ký", "Registration", "dpv:OfficialAuthority", "", False),
    Purpose("transfer", "Chuyển nhượng", "Transfer", "dpv:OfficialAuthority", "", False),
    Purpose("kyc", "KYC", "KYC", "dpv:Consent", "", True),
]


def grant(
    *,
    client: Any = CLIENT,
    service: Any = PERSONS,
    methods: tuple[str, ...] = ("GET",),
    paths: tuple[str, ...] = ("/{personal_id}",),
    purposes: tuple[str, ...] = ("registration",),
    fields: tuple[str, ...] | None = ("personal_id", "full_name"),
    id: str | None = None,
) -> Grant:
    kwargs: dict[str, Any] = {"id": id} if id else {}
    return Grant(
        client=client,
        service=service,
        methods=frozenset(methods),
        paths=frozenset(paths),
        purposes=frozenset(purposes),
        fields=None if fields is None else frozenset(fields),
        **kwargs,
    )


def authorize(policy: Policy, **kw: Any) -> Decision:
    args: dict[str, Any] = {
        "client": CLIENT,
        "service": PERSONS,
        "method": "GET",
        "path": "/{personal_id}",
        "personal_data": True,
        "operation_fields": OP_FIELDS,
        "purpose_code": "registration",
        "requested": None,
        **kw,
    }
    return policy.authorize(**args)


# -- authorize -----------------------------------------------------------------------------


def test_denied_by_default() -> None:
    with pytest.raises(AccessDenied):
        authorize(Policy(PURPOSES))


@pytest.mark.parametrize(
    "query",
    [
        {"client": OTHER},
        {"service": PARCELS},
        {"method": "POST"},
        {"path": "/{personal_id}/household"},
    ],
    ids=["other-client", "other-service", "other-method", "other-path"],
)
def test_denied_when_no_grant_covers_the_query(query: dict[str, Any]) -> None:
    with pytest.raises(AccessDenied):
        authorize(Policy(PURPOSES, [grant()]), **query)


def test_wildcard_path_covers_every_operation_of_the_service() -> None:
    policy = Policy(PURPOSES, [grant(paths=("*",))])
    for path in ("/{personal_id}", "/{personal_id}/household", "/anything"):
        assert authorize(policy, path=path).fields == ("personal_id", "full_name")


def test_without_asked_fields_every_granted_field_in_operation_order() -> None:
    policy = Policy(PURPOSES, [grant(fields=("sex", "personal_id"))])
    assert authorize(policy).fields == ("personal_id", "sex")


def test_fields_star_grants_every_field_of_the_operation() -> None:
    policy = Policy(PURPOSES, [grant(fields=None)])
    assert authorize(policy).fields == OP_FIELDS
    assert authorize(policy, requested=["hometown"]).fields == ("hometown",)


def test_asked_fields_come_back_in_operation_order() -> None:
    policy = Policy(PURPOSES, [grant(fields=None)])
    assert authorize(policy, requested=["sex", "full_name"]).fields == ("full_name", "sex")


def test_field_outside_the_grant_is_refused_not_trimmed() -> None:
    policy = Policy(PURPOSES, [grant()])
    with pytest.raises(FieldsNotAllowed) as e:
        authorize(policy, requested=["full_name", "sex", "hometown"])
    assert e.value.detail == {"fields": ["hometown", "sex"]}


def test_grants_for_the_same_purpose_are_united() -> None:
    policy = Policy(
        PURPOSES, [grant(fields=("full_name",), id="a"), grant(fields=("sex",), id="b")]
    )
    decision = authorize(policy)
    assert decision.fields == ("full_name", "sex")
    assert sorted(decision.grants) == ["a", "b"]
    assert authorize(policy, requested=["sex", "full_name"]).fields == ("full_name", "sex")


def test_grants_for_another_purpose_add_no_fields() -> None:
    policy = Policy(
        PURPOSES,
        [
            grant(fields=("full_name",), id="a"),
            grant(fields=("sex",), purposes=("transfer",), id="b"),
        ],
    )
    decision = authorize(policy)
    assert (decision.fields, decision.grants) == (("full_name",), ("a",))
    with pytest.raises(FieldsNotAllowed):
        authorize(policy, requested=["sex"])
    assert authorize(policy, purpose_code="transfer").fields == ("sex",)


def test_purpose_required_for_personal_data() -> None:
    with pytest.raises(PurposeRequired):
        authorize(Policy(PURPOSES, [grant()]), purpose_code=None)


def test_purpose_must_be_registered() -> None:
    with pytest.raises(PurposeUnknown) as e:
        authorize(Policy(PURPOSES, [grant()]), purpose_code="fishing")
    assert e.value.detail == {"purpose": "fishing"}


def test_purpose_must_be_granted() -> None:
    with pytest.raises(PurposeNotAllowed):
        authorize(Policy(PURPOSES, [grant()]), purpose_code="transfer")


def test_no_purpose_needed_for_data_that_is_not_personal() -> None:
    policy = Policy(PURPOSES, [grant(purposes=())])
    decision = authorize(policy, personal_data=False, purpose_code=None)
    assert decision.purpose is None
    assert decision.fields == ("personal_id", "full_name")
    # A purpose given anyway is recorded, not refused, when no grant names purposes.
    assert authorize(policy, personal_data=False, purpose_code="transfer").purpose is not None


def test_operation_without_fields_has_no_field_selection() -> None:
    policy = Policy(PURPOSES, [grant(fields=())])
    decision = authorize(policy, operation_fields=())
    assert decision.fields is None
    assert decision.purpose is not None and decision.purpose.code == "registration"


def test_consent_purpose_is_reported_for_the_consent_check() -> None:
    policy = Policy(PURPOSES, [grant(purposes=("kyc",))])
    decision = authorize(policy, purpose_code="kyc")
    assert decision.purpose is not None and decision.purpose.consent


def test_removed_grant_no_longer_allows() -> None:
    policy = Policy(PURPOSES, [grant(id="g1")])
    assert authorize(policy).grants == ("g1",)
    assert policy.remove("g1") is not None
    assert policy.remove("g1") is None
    with pytest.raises(AccessDenied):
        authorize(policy)


# -- policy files --------------------------------------------------------------------------

PURPOSE_ENTRY = {
    "code": "kyc",
    "title": {"vi": "KYC", "en": "KYC"},
    "legal_basis": "dpv:Consent",
    "consent": True,
}
GRANT_ENTRY = {
    "client": str(CLIENT),
    "service": str(PERSONS),
    "methods": ["get"],
    "paths": ["/{personal_id}"],
    "purposes": ["kyc"],
    "fields": ["full_name"],
}
BY_CODE = {"kyc": parse_purpose(PURPOSE_ENTRY, "test")}


def test_default_policy_loads() -> None:
    policy = Policy.from_dir(DEFAULT_POLICY_DIR)
    assert {"household-business-registration", "land-transfer", "bank-kyc"} <= set(policy.purposes)
    assert policy.purposes["bank-kyc"].consent
    assert all(g.id.startswith("file-") for g in policy.grants())


def test_purpose_parsed() -> None:
    p = parse_purpose(PURPOSE_ENTRY, "test")
    assert (p.code, p.title_vi, p.legal_basis, p.consent) == ("kyc", "KYC", "dpv:Consent", True)
    assert p.legal_basis_iri == "https://w3id.org/dpv#Consent"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"legal_basis": "dpv:BecauseWeCan"}, "legal_basis"),
        ({"legal_basis": 7}, "legal_basis"),
        ({"consent": "yes"}, "consent"),
        ({"title": "KYC"}, "missing"),
        ({"code": None, "title": None}, "missing"),
    ],
    ids=["legal-basis-unknown", "legal-basis-not-text", "consent-not-bool", "title-flat", "none"],
)
def test_bad_purpose_is_refused(change: dict[str, Any], message: str) -> None:
    entry = {k: v for k, v in {**PURPOSE_ENTRY, **change}.items() if v is not None}
    with pytest.raises(PolicyError, match=message):
        parse_purpose(entry, "purposes.yaml entry 1")


def test_purpose_must_be_a_mapping() -> None:
    with pytest.raises(PolicyError, match="mapping"):
        parse_purpose(["kyc"], "purposes.yaml entry 1")


def test_grant_parsed() -> None:
    g = parse_grant(GRANT_ENTRY, "test", purposes=BY_CODE)
    assert g.methods == frozenset({"GET"})
    assert g.fields == frozenset({"full_name"})
    star = parse_grant({**GRANT_ENTRY, "fields": "*"}, "test", purposes=BY_CODE)
    assert star.fields is None
    assert star.to_dict()["fields"] == "*"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"purposes": ["fishing"]}, "unknown purposes"),
        ({"colour": "red"}, "unknown keys"),
        ({"client": "nobody"}, "grants.yaml entry 3"),
        ({"service": str(CLIENT)}, "grants.yaml entry 3"),
        ({"methods": ["BREW"]}, "methods"),
        ({"methods": []}, "methods"),
        ({"paths": ["persons"]}, "paths"),
        ({"paths": "*"}, "paths"),
        ({"fields": "all"}, "fields"),
        ({"purposes": "kyc"}, "purposes"),
    ],
    ids=[
        "unknown-purpose",
        "unknown-key",
        "bad-client",
        "service-without-code",
        "unknown-method",
        "no-method",
        "relative-path",
        "paths-not-a-list",
        "fields-not-a-list",
        "purposes-not-a-list",
    ],
)
def test_bad_grant_is_refused_naming_the_entry(change: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_grant({**GRANT_ENTRY, **change}, "grants.yaml entry 3", purposes=BY_CODE)


def test_file_grant_id_is_stable_while_the_content_is() -> None:
    assert file_grant_id(GRANT_ENTRY) == file_grant_id(dict(reversed(GRANT_ENTRY.items())))
    assert file_grant_id(GRANT_ENTRY) != file_grant_id({**GRANT_ENTRY, "fields": ["sex"]})


def _write(directory: Path, purposes: str, grants: str) -> Path:
    (directory / "purposes.yaml").write_text(purposes, encoding="utf-8")
    (directory / "grants.yaml").write_text(grants, encoding="utf-8")
    return directory


PURPOSES_YAML = """
- code: kyc
  title: {vi: KYC, en: KYC}
  legal_basis: dpv:Consent
  consent: true
"""


def test_policy_files_with_an_unknown_purpose_do_not_load(tmp_path: Path) -> None:
    grants = f"""
- client: {CLIENT}
  service: {PERSONS}
  methods: [GET]
  paths: ["*"]
  purposes: [fishing]
  fields: "*"
"""
    with pytest.raises(PolicyError, match=r"grants.yaml entry 1: unknown purposes \['fishing'\]"):
        Policy.from_dir(_write(tmp_path, PURPOSES_YAML, grants))


def test_policy_files_with_a_bad_legal_basis_do_not_load(tmp_path: Path) -> None:
    purposes = PURPOSES_YAML.replace("dpv:Consent", "Consentish")
    with pytest.raises(PolicyError, match=r"purposes\.yaml entry 1: legal_basis"):
        Policy.from_dir(_write(tmp_path, purposes, "[]"))


def test_policy_files_must_be_lists(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="expected a list"):
        Policy.from_dir(_write(tmp_path, "code: kyc", "[]"))


def test_policy_file_missing(tmp_path: Path) -> None:
    (tmp_path / "purposes.yaml").write_text(PURPOSES_YAML, encoding="utf-8")
    with pytest.raises(PolicyError, match="missing"):
        Policy.from_dir(tmp_path)


def test_empty_grants_file_denies_everything(tmp_path: Path) -> None:
    policy = Policy.from_dir(_write(tmp_path, PURPOSES_YAML, ""))
    assert policy.grants() == []
    with pytest.raises(AccessDenied):
        authorize(policy, purpose_code="kyc")
