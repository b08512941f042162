"""Compact JWS with x5c: round trips, and every way a token can be wrong."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from certs.authority import issue, new_key
from certs.dev import CONSUMERS, GATEWAY_ID, PROVIDERS
from core.pki import PrivateKey, TrustStore, load_private_key, x5c_entry
from core.signing import (
    TYP_CITIZEN,
    TYP_FORWARD,
    TYP_REQUEST,
    TYP_RESPONSE,
    SignatureRejected,
    Signer,
    b64url,
    sha256_b64url,
    timestamp,
    unverified_claims,
    verify,
)
from tests.fixtures.pki_world import DevPki, ForeignCa

SECOND = dt.timedelta(seconds=1)
CLIENT = CONSUMERS["one-stop"]


@pytest.fixture(scope="module")
def store(pki: DevPki) -> TrustStore:
    return pki.store()


@pytest.fixture(scope="module")
def p256_signer(pki: DevPki) -> Signer:
    return pki.signer(CLIENT)


@pytest.fixture(scope="module")
def ed25519_signer(pki: DevPki) -> Signer:
    """An Ed25519 member certificate from the dev CA (made in memory, never on disk)."""
    ca_key = load_private_key(pki.authority.ca_key_path)
    key = new_key("ed25519")
    cert = issue(
        ca_cert=pki.ca,
        ca_key=ca_key,
        subject="VN/GOV/BCA/ed25519",
        public_key=key.public_key(),
        not_before=pki.made_at - dt.timedelta(minutes=5),
        not_after=pki.made_at + dt.timedelta(days=30),
    )
    return Signer(key, cert)


def _segments(token: str) -> list[str]:
    return token.split(".")


def _decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _encode_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def _header(token: str) -> dict[str, Any]:
    header: dict[str, Any] = json.loads(_decode(_segments(token)[0]))
    return header


def _raw_sign(key: PrivateKey, signing_input: bytes) -> bytes:
    """A JWS signature (RFC 7518 §3.4: r‖s for ES256; plain Ed25519 for EdDSA)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(signing_input)
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _craft(header: dict[str, Any], payload: bytes, key: PrivateKey | None) -> str:
    """A compact JWS assembled by hand, signed with ``key`` (or with no signature)."""
    signing_input = f"{_encode_json(header)}.{b64url(payload)}"
    signature = _raw_sign(key, signing_input.encode()) if key is not None else b""
    return f"{signing_input}.{b64url(signature)}"


def _rejected(token: str, store: TrustStore, now: dt.datetime, typ: str = TYP_REQUEST) -> str:
    with pytest.raises(SignatureRejected) as caught:
        verify(token, store=store, now=now, typ=typ)
    return caught.value.reason


# -- round trips -----------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
claims_dicts = st.dictionaries(st.text(max_size=16), json_values, max_size=8)


@given(claims=claims_dicts)
def test_p256_sign_then_verify_returns_the_claims(
    claims: dict[str, Any], p256_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    token = p256_signer.sign(claims, typ=TYP_REQUEST)
    verified = verify(token, store=store, now=pki.made_at, typ=TYP_REQUEST)
    assert verified.claims == claims
    assert str(verified.signer) == CLIENT
    assert verified.header["alg"] == "ES256"
    assert verified.certificate == p256_signer.certificate


@given(claims=claims_dicts)
def test_ed25519_sign_then_verify_returns_the_claims(
    claims: dict[str, Any], ed25519_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    token = ed25519_signer.sign(claims, typ=TYP_RESPONSE)
    verified = verify(token, store=store, now=pki.made_at, typ=TYP_RESPONSE)
    assert verified.claims == claims
    assert str(verified.signer) == "VN/GOV/BCA/ed25519"
    assert verified.header["alg"] == "EdDSA"


def test_the_header_carries_the_certificate_and_the_typ(p256_signer: Signer) -> None:
    header = _header(p256_signer.sign({}, typ=TYP_FORWARD))
    assert header == {
        "alg": "ES256",
        "typ": TYP_FORWARD,
        "x5c": [x5c_entry(p256_signer.certificate)],
    }


def test_unverified_claims_reads_without_checking(p256_signer: Signer) -> None:
    token = p256_signer.sign({"jti": "abc"}, typ=TYP_REQUEST)
    assert unverified_claims(token) == {"jti": "abc"}
    assert unverified_claims("not.a.token") == {}


def test_digests_and_timestamps_are_as_the_protocol_says() -> None:
    empty = base64.urlsafe_b64encode(hashlib.sha256(b"").digest()).rstrip(b"=").decode()
    assert sha256_b64url(b"") == empty == "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
    assert timestamp(dt.datetime(2025, 7, 1, tzinfo=dt.UTC)) == 1_751_328_000


# -- kinds and algorithms ----------------------------------------------------------------------


@pytest.mark.parametrize("other", [TYP_FORWARD, TYP_RESPONSE, TYP_CITIZEN, "JWT"])
def test_a_statement_of_another_kind_is_rejected(
    other: str, p256_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    token = p256_signer.sign({"iss": CLIENT}, typ=TYP_REQUEST)
    assert _rejected(token, store, pki.made_at, typ=other) == "typ"


def test_alg_none_is_rejected(p256_signer: Signer, store: TrustStore, pki: DevPki) -> None:
    header = {"alg": "none", "typ": TYP_REQUEST, "x5c": [x5c_entry(p256_signer.certificate)]}
    token = _craft(header, b'{"iss":"x"}', key=None)
    assert _rejected(token, store, pki.made_at) == "algorithm"


def test_hs256_keyed_with_the_certificates_public_key_is_rejected(
    p256_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    """The classic algorithm confusion: HMAC with the public key as the secret."""
    header = {"alg": "HS256", "typ": TYP_REQUEST, "x5c": [x5c_entry(p256_signer.certificate)]}
    public = p256_signer.certificate.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{_encode_json(header)}.{b64url(b'{}')}"
    mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64url(mac)}"
    assert _rejected(token, store, pki.made_at) == "algorithm"


def test_rs256_is_rejected(p256_signer: Signer, store: TrustStore, pki: DevPki) -> None:
    header = {"alg": "RS256", "typ": TYP_REQUEST, "x5c": [x5c_entry(p256_signer.certificate)]}
    token = _craft(header, b"{}", key=p256_signer.key)
    assert _rejected(token, store, pki.made_at) == "algorithm"


def test_es256_header_on_an_ed25519_certificate_is_rejected(
    ed25519_signer: Signer, p256_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    header = {"alg": "ES256", "typ": TYP_REQUEST, "x5c": [x5c_entry(ed25519_signer.certificate)]}
    # Signed with a P-256 key, so only the algorithm/key check can stop it.
    token = _craft(header, b"{}", key=p256_signer.key)
    assert _rejected(token, store, pki.made_at) == "algorithm"


def test_eddsa_header_on_a_p256_certificate_is_rejected(
    ed25519_signer: Signer, p256_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    header = {"alg": "EdDSA", "typ": TYP_REQUEST, "x5c": [x5c_entry(p256_signer.certificate)]}
    token = _craft(header, b"{}", key=ed25519_signer.key)
    assert _rejected(token, store, pki.made_at) == "algorithm"


def test_a_hand_made_token_of_the_right_shape_verifies(
    p256_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    """The crafting helper is right, so the rejections above are about what they vary."""
    header = {"alg": "ES256", "typ": TYP_REQUEST, "x5c": [x5c_entry(p256_signer.certificate)]}
    token = _craft(header, b'{"a":1}', key=p256_signer.key)
    assert verify(token, store=store, now=pki.made_at, typ=TYP_REQUEST).claims == {"a": 1}


# -- tampering -------------------------------------------------------------------------------


def test_a_tampered_payload_is_rejected(
    p256_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    header, _, signature = _segments(p256_signer.sign({"aud": GATEWAY_ID}, typ=TYP_REQUEST))
    forged = f"{header}.{_encode_json({'aud': 'VN/GOV/BCA/population'})}.{signature}"
    assert _rejected(forged, store, pki.made_at) == "bad_signature"


def test_a_tampered_signature_is_rejected(
    p256_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    header, payload, signature = _segments(p256_signer.sign({}, typ=TYP_REQUEST))
    raw = bytearray(_decode(signature))
    raw[10] ^= 0x01
    forged = f"{header}.{payload}.{b64url(bytes(raw))}"
    assert _rejected(forged, store, pki.made_at) == "bad_signature"


def test_a_truncated_signature_is_rejected(
    ed25519_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    header, payload, signature = _segments(ed25519_signer.sign({}, typ=TYP_REQUEST))
    forged = f"{header}.{payload}.{b64url(_decode(signature)[:-1])}"
    assert _rejected(forged, store, pki.made_at) == "bad_signature"


def test_a_tampered_header_is_rejected(p256_signer: Signer, store: TrustStore, pki: DevPki) -> None:
    token = p256_signer.sign({}, typ=TYP_REQUEST)
    _, payload, signature = _segments(token)
    header = {**_header(token), "kid": "added"}
    forged = f"{_encode_json(header)}.{payload}.{signature}"
    assert _rejected(forged, store, pki.made_at) == "bad_signature"


def test_a_signature_moved_under_another_members_certificate_is_rejected(
    p256_signer: Signer, pki: DevPki, store: TrustStore
) -> None:
    """Swapping x5c for another member's certificate does not make its signature."""
    token = p256_signer.sign({"iss": CLIENT}, typ=TYP_REQUEST)
    _, payload, signature = _segments(token)
    other = pki.certificate(PROVIDERS["population"])
    header = {**_header(token), "x5c": [x5c_entry(other)]}
    forged = f"{_encode_json(header)}.{payload}.{signature}"
    assert _rejected(forged, store, pki.made_at) == "bad_signature"


# -- the signer's certificate ----------------------------------------------------------------


@pytest.mark.parametrize("x5c", [None, [], "not-a-list", [42]])
def test_a_missing_x5c_is_rejected(
    x5c: Any, p256_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    header: dict[str, Any] = {"alg": "ES256", "typ": TYP_REQUEST}
    if x5c is not None:
        header["x5c"] = x5c
    token = _craft(header, b"{}", key=p256_signer.key)
    assert _rejected(token, store, pki.made_at) == "x5c_missing"


@pytest.mark.parametrize(
    "entry",
    ["%%%not base64%%%", base64.b64encode(b"not a certificate").decode(), "QUJD-_"],
)
def test_a_garbled_x5c_is_rejected(
    entry: str, p256_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    header = {"alg": "ES256", "typ": TYP_REQUEST, "x5c": [entry]}
    token = _craft(header, b"{}", key=p256_signer.key)
    assert _rejected(token, store, pki.made_at) == "x5c_malformed"


def test_a_signer_from_another_ca_is_rejected(
    foreign_ca: ForeignCa, store: TrustStore, pki: DevPki
) -> None:
    token = foreign_ca.signer(CLIENT).sign({"iss": CLIENT}, typ=TYP_REQUEST)
    assert _rejected(token, store, foreign_ca.made_at) == "untrusted"


def test_a_server_certificate_cannot_sign_statements(pki: DevPki, store: TrustStore) -> None:
    signer = Signer.from_files(*pki.paths("gateway", "server"))
    token = signer.sign({}, typ=TYP_FORWARD)
    assert _rejected(token, store, pki.made_at, typ=TYP_FORWARD) == "not_a_member"


def test_signer_certificate_accepted_at_its_last_second(
    p256_signer: Signer, store: TrustStore
) -> None:
    token = p256_signer.sign({}, typ=TYP_REQUEST)
    now = p256_signer.certificate.not_valid_after_utc
    verify(token, store=store, now=now, typ=TYP_REQUEST)


def test_signer_certificate_rejected_one_second_after_expiry(
    p256_signer: Signer, store: TrustStore
) -> None:
    token = p256_signer.sign({}, typ=TYP_REQUEST)
    now = p256_signer.certificate.not_valid_after_utc + SECOND
    assert _rejected(token, store, now) == "expired"


def test_signer_certificate_accepted_at_its_first_second(
    p256_signer: Signer, store: TrustStore
) -> None:
    token = p256_signer.sign({}, typ=TYP_REQUEST)
    verify(token, store=store, now=p256_signer.certificate.not_valid_before_utc, typ=TYP_REQUEST)


def test_signer_certificate_rejected_one_second_before_it_is_valid(
    p256_signer: Signer, store: TrustStore
) -> None:
    token = p256_signer.sign({}, typ=TYP_REQUEST)
    now = p256_signer.certificate.not_valid_before_utc - SECOND
    assert _rejected(token, store, now) == "not_yet_valid"


def test_a_revoked_signer_is_rejected_and_others_are_not(p256_signer: Signer, pki: DevPki) -> None:
    revoked = TrustStore(cas=[pki.ca], revoked=frozenset({p256_signer.certificate.serial_number}))
    token = p256_signer.sign({}, typ=TYP_REQUEST)
    assert _rejected(token, revoked, pki.made_at) == "revoked"
    other = pki.signer(PROVIDERS["land"]).sign({}, typ=TYP_REQUEST)
    verify(other, store=revoked, now=pki.made_at, typ=TYP_REQUEST)


def test_a_signer_revoked_in_the_crl_file_is_rejected(fresh_pki: DevPki) -> None:
    signer = fresh_pki.signer(CLIENT)
    token = signer.sign({}, typ=TYP_REQUEST)
    store = fresh_pki.store()
    verify(token, store=store, now=fresh_pki.made_at, typ=TYP_REQUEST)
    fresh_pki.authority.revoke(CLIENT, reason="keyCompromise")
    store.refresh_crl(force=True)
    assert _rejected(token, store, fresh_pki.made_at) == "revoked"


# -- shape -----------------------------------------------------------------------------------


def test_an_oversize_token_is_rejected_before_parsing(
    p256_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    token = p256_signer.sign({"pad": "x" * 40_000}, typ=TYP_REQUEST)
    assert _rejected(token, store, pki.made_at) == "malformed"


def test_a_token_just_under_the_size_limit_verifies(
    p256_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    base = len(p256_signer.sign({"pad": ""}, typ=TYP_REQUEST))
    # 3 payload bytes become 4 base64url characters.
    token = p256_signer.sign({"pad": "x" * ((32_768 - base) // 4 * 3)}, typ=TYP_REQUEST)
    assert len(token) <= 32_768
    verify(token, store=store, now=pki.made_at, typ=TYP_REQUEST)


@pytest.mark.parametrize("payload", [b"[1,2]", b'"text"', b"42", b"null", b"not json"])
def test_a_payload_that_is_not_a_json_object_is_rejected(
    payload: bytes, p256_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    header = {"alg": "ES256", "typ": TYP_REQUEST, "x5c": [x5c_entry(p256_signer.certificate)]}
    token = _craft(header, payload, key=p256_signer.key)
    assert _rejected(token, store, pki.made_at) == "malformed"


@pytest.mark.parametrize(
    "token",
    ["", "a.b", "a.b.c.d", "!!!.###.$$$", "e30.e30.", b64url(b"[]") + ".e30.AA"],
)
def test_a_string_that_is_not_a_compact_jws_is_rejected(
    token: str, store: TrustStore, pki: DevPki
) -> None:
    assert _rejected(token, store, pki.made_at) in {"malformed", "algorithm"}


def test_a_detached_payload_header_is_rejected(
    p256_signer: Signer, store: TrustStore, pki: DevPki
) -> None:
    """RFC 7797 ``b64: false`` changes what the signature covers: not accepted here."""
    header = {
        "alg": "ES256",
        "typ": TYP_REQUEST,
        "x5c": [x5c_entry(p256_signer.certificate)],
        "b64": False,
        "crit": ["b64"],
    }
    signing_input = f"{_encode_json(header)}.{{}}"
    token = f"{signing_input}.{b64url(_raw_sign(p256_signer.key, signing_input.encode()))}"
    assert _rejected(token, store, pki.made_at) == "malformed"
