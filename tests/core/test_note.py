"""C2SP signed notes: the published notes and keys, Go's negative cases, sign → open."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from core import note as note_module
from core.note import (
    MAX_SIGNATURES,
    Ed25519NoteSigner,
    NoteError,
    NoteMalformed,
    NoteSignatureInvalid,
    NoteUnverified,
    NoteVerifier,
    format_signer_key,
    format_verifier_key,
    generate_key,
    is_valid_name,
    key_id,
    open_note,
    parse_signer_key,
    parse_verifier_key,
    sign,
    split_note,
)
from tests.fixtures.vectors import merkle_vectors


def signed_note_vectors() -> dict[str, Any]:
    section: dict[str, Any] = merkle_vectors()["signed_note"]
    return section


# golang.org/x/mod sumdb/note note_test.go (TestOpen), the same as the vectors' first two notes.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotp"
    "RZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLo"
    "x33WWd1RvMc+QQ=\n"
)


@pytest.fixture
def peter() -> NoteVerifier:
    return parse_verifier_key(PETER_VKEY)


@pytest.fixture
def enoch() -> NoteVerifier:
    return parse_verifier_key(ENOCH_VKEY)


# --- published vectors ---------------------------------------------------------------------


def _note_cases() -> list[Any]:
    notes = signed_note_vectors()["notes"]
    return [pytest.param(n, id=n["verifier_key"].split("+")[0]) for n in notes]


def test_vector_counts() -> None:
    assert len(signed_note_vectors()["notes"]) == 3
    assert len(signed_note_vectors()["key_pairs"]) == 2


@pytest.mark.parametrize("case", _note_cases())
def test_published_signed_notes_open_as_the_vectors_say(case: dict[str, Any]) -> None:
    verifier = parse_verifier_key(case["verifier_key"])
    if not case["expect_valid"]:
        with pytest.raises(NoteError):
            open_note(case["signed_note"], [verifier])
        return
    text, verified = open_note(case["signed_note"], [verifier])
    assert case["signed_note"].startswith(text)
    assert case["signed_note"][len(text)] == "\n"
    assert [(s.name, s.key_id) for s in verified] == [(verifier.name, verifier.key_id)]
    assert open_note(case["signed_note"].encode("utf-8"), [verifier])[0] == text
    if case["signer_key"] is not None:  # Ed25519 is deterministic: signing gives the note back
        signer = parse_signer_key(case["signer_key"])
        assert signer.verifier() == verifier
        assert sign(text, [signer]) == case["signed_note"]


@pytest.mark.parametrize("case", signed_note_vectors()["key_pairs"])
def test_published_key_pairs_match_and_round_trip(case: dict[str, Any]) -> None:
    signer = parse_signer_key(case["signer_key"])
    verifier = parse_verifier_key(case["verifier_key"])
    assert signer.verifier() == verifier
    assert verifier.vkey == case["verifier_key"]
    assert format_verifier_key(signer.name, signer.public_key) == case["verifier_key"]
    assert case["verifier_key"].split("+")[1] == key_id(verifier.name, verifier.public_key).hex()
    note = sign("hello\n", [signer])
    assert open_note(note, [verifier])[0] == "hello\n"


def test_signer_key_formats_back_to_itself() -> None:
    signer = parse_signer_key(PETER_SKEY)
    assert format_signer_key(signer.name, signer._key) == PETER_SKEY
    assert "AYEKFALV" not in repr(signer)  # the seed never shows


def test_c2sp_key_id_is_sha256_of_name_newline_type_and_key() -> None:
    verifier = parse_verifier_key(PETER_VKEY)
    assert key_id("PeterNeumann", verifier.public_key) == bytes.fromhex("c74f20a3")
    with pytest.raises(ValueError, match="32 bytes"):
        key_id("PeterNeumann", verifier.public_key[:31])


# --- Go's sumdb/note TestOpen --------------------------------------------------------------


def test_one_known_signature_verifies_and_an_unknown_one_is_ignored(peter: NoteVerifier) -> None:
    text, verified = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter])
    assert text == TEXT
    assert [s.name for s in verified] == ["PeterNeumann"]
    assert verified[0].key_id == bytes.fromhex("c74f20a3")
    assert len(verified[0].signature) == 64


def test_both_signatures_verify_when_both_keys_are_known(
    peter: NoteVerifier, enoch: NoteVerifier
) -> None:
    _, verified = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter, enoch])
    assert [s.name for s in verified] == ["PeterNeumann", "EnochRoot"]


def test_note_without_a_known_signature_is_unverified(peter: NoteVerifier) -> None:
    with pytest.raises(NoteUnverified, match="no signature from a trusted key"):
        open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])
    with pytest.raises(NoteUnverified):
        open_note(TEXT + "\n" + ENOCH_SIG, [peter])


def test_bad_signature_from_a_known_key_rejects_the_note(
    peter: NoteVerifier, enoch: NoteVerifier
) -> None:
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteSignatureInvalid, match=r"PeterNeumann\+c74f20a3"):
        open_note(TEXT + "\n" + bad, [peter])
    with pytest.raises(NoteSignatureInvalid):  # even next to a good one
        open_note(TEXT + "\n" + ENOCH_SIG + bad, [peter, enoch])


def test_repeated_signatures_count_once_and_unknown_garbage_is_ignored(
    peter: NoteVerifier,
) -> None:
    enoch_bad = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    message = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enoch_bad
    _, verified = open_note(message, [peter])
    assert [s.name for s in verified] == ["PeterNeumann"]


def test_too_many_signatures_make_a_malformed_note(peter: NoteVerifier) -> None:
    with pytest.raises(NoteMalformed, match="at most 100"):
        open_note(TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1), [peter])
    assert open_note(TEXT + "\n" + PETER_SIG * 16, [peter])[0] == TEXT  # spec: at least 16


@pytest.mark.parametrize(
    "message",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        b"\xff" + (TEXT + "\n" + PETER_SIG).encode(),
        TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
        "vqfqdngotpRZb6KE6RyyBwJnAM=",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG.replace("—", "-"),
        TEXT + "\n" + PETER_SIG.replace("— ", "—"),
        TEXT + "\n" + "— PeterNeumann\n",
        TEXT + "\n" + "— PeterNeumann \n",
        TEXT + "\n" + "— Peter+Neumann x08go/ZJ=\n",
        TEXT + "\n" + "— PeterNeumann x08g\n",  # a key ID and no signature
        TEXT + "\n" + "— PeterNeumann x08go/Z!\n",
        TEXT + "\n" + PETER_SIG.replace("JnAM=", "JnAN="),  # non-canonical base64
        TEXT + "\n" + PETER_SIG.replace("=", ""),
        TEXT.replace("\n", "\r\n", 1) + "\n" + PETER_SIG,
        TEXT + "\n\t" + PETER_SIG,
        "\ud800" + TEXT + "\n" + PETER_SIG,
        b"\xc3\x28",
    ],
    ids=lambda m: repr(m)[:40],
)
def test_malformed_notes_are_refused(message: str | bytes, peter: NoteVerifier) -> None:
    with pytest.raises(NoteMalformed):
        open_note(message, [peter])


def test_non_text_is_not_a_note(peter: NoteVerifier) -> None:
    with pytest.raises(NoteMalformed, match="a note is text"):
        split_note(None)  # type: ignore[arg-type]


def test_a_key_sharing_only_the_name_or_only_the_id_is_unknown(peter: NoteVerifier) -> None:
    other = Ed25519NoteSigner("PeterNeumann", Ed25519PrivateKey.generate())
    assert other.key_id != peter.key_id
    assert open_note(TEXT + "\n" + PETER_SIG + sign(TEXT, [other])[len(TEXT) + 1 :], [peter])
    renamed = PETER_SIG.replace("PeterNeumann", "CarmenSandiego")
    with pytest.raises(NoteUnverified):
        open_note(TEXT + "\n" + renamed, [peter])


def test_two_trusted_keys_with_one_name_and_id_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A 32-bit key ID collision under one name: nothing to decide between, so refuse.
    monkeypatch.setattr(note_module, "key_id", lambda name, public_key: b"\xc7\x4f\x20\xa3")
    twins = [NoteVerifier.for_key("PeterNeumann", Ed25519PrivateKey.generate().public_key())]
    twins.append(NoteVerifier.for_key("PeterNeumann", Ed25519PrivateKey.generate().public_key()))
    with pytest.raises(NoteError, match="two trusted keys"):
        open_note(TEXT + "\n" + PETER_SIG, twins)
    assert open_note(TEXT + "\n" + PETER_SIG, [parse_verifier_key(PETER_VKEY)] * 2)


# --- keys ----------------------------------------------------------------------------------


def test_mangled_verifier_keys_are_refused() -> None:
    # Go's TestNewVerifier: every proper substring and every single-byte increment fails.
    mangled = [
        PETER_VKEY[i:j]
        for i in range(len(PETER_VKEY) + 1)
        for j in range(i + 1, len(PETER_VKEY) + 1)
        if (i, j) != (0, len(PETER_VKEY))
    ]
    mangled += [
        PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        for i in range(len(PETER_VKEY))
    ]
    mangled += [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # length
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # algorithm
    ]
    for vkey in mangled:
        with pytest.raises(NoteMalformed):
            parse_verifier_key(vkey)


def test_mangled_signer_keys_are_refused() -> None:
    mangled = [
        PETER_SKEY[i:j]
        for i in range(len(PETER_SKEY) + 1)
        for j in range(i + 1, len(PETER_SKEY) + 1)
        if (i, j) != (0, len(PETER_SKEY))
    ]
    mangled += [
        PETER_SKEY[:i] + chr(ord(PETER_SKEY[i]) + 1) + PETER_SKEY[i + 1 :]
        for i in range(len(PETER_SKEY))
    ]
    for skey in mangled:
        with pytest.raises(NoteMalformed):
            parse_signer_key(skey)


def test_generated_keys_sign_and_verify() -> None:
    skey, vkey = generate_key("lienthong.gov.vn/evidence")
    assert skey.startswith("PRIVATE+KEY+lienthong.gov.vn/evidence+")
    signer, verifier = parse_signer_key(skey), parse_verifier_key(vkey)
    assert signer.verifier() == verifier
    assert open_note(sign("x\n", [signer]), [verifier])[0] == "x\n"
    with pytest.raises(NoteMalformed, match="invalid key name"):
        generate_key("no spaces")


def test_uppercase_key_ids_are_read_as_go_reads_them() -> None:
    upper = PETER_VKEY.replace("c74f20a3", "C74F20A3")
    assert parse_verifier_key(upper) == parse_verifier_key(PETER_VKEY)


@pytest.mark.parametrize(
    "name",
    ["", "a b", "a+b", "a\tb", "a\nb", "a\u00a0b", "a\u2003b", "a\u3000b", "a\u2028b", "a\x01b"],
)
def test_invalid_key_names(name: str) -> None:
    assert not is_valid_name(name)
    key = Ed25519PrivateKey.generate()
    with pytest.raises(NoteMalformed, match="invalid key name"):
        Ed25519NoteSigner(name, key)
    with pytest.raises(NoteMalformed, match="invalid key name"):
        NoteVerifier.for_key(name, key.public_key())
    with pytest.raises(NoteMalformed, match="invalid key name"):
        format_verifier_key(name, key.public_key())
    with pytest.raises(NoteMalformed, match="invalid key name"):
        format_signer_key(name, key)


@pytest.mark.parametrize("name", ["example.com/log", "PeterNeumann", "lienthong.gov.vn/nhật-ký"])
def test_valid_key_names(name: str) -> None:
    assert is_valid_name(name)
    signer = Ed25519NoteSigner(name, Ed25519PrivateKey.generate())
    assert parse_signer_key(format_signer_key(name, signer._key)).key_id == signer.key_id
    assert parse_verifier_key(signer.verifier().vkey) == signer.verifier()


def test_verifier_refuses_a_key_id_or_key_that_does_not_fit(peter: NoteVerifier) -> None:
    with pytest.raises(NoteMalformed, match="key ID does not match"):
        NoteVerifier(peter.name, b"\x00\x00\x00\x00", peter.public_key)
    with pytest.raises(NoteMalformed, match="32 bytes"):
        NoteVerifier(peter.name, peter.key_id, peter.public_key[:31])
    with pytest.raises(NoteMalformed, match="invalid key name"):
        NoteVerifier("Peter Neumann", peter.key_id, peter.public_key)
    with pytest.raises(ValueError, match="32 bytes"):
        NoteVerifier.for_key(peter.name, peter.public_key + b"\x00")
    with pytest.raises(TypeError, match="Ed25519 private key"):
        Ed25519NoteSigner("x", object())  # type: ignore[arg-type]
    assert not peter.verify(b"hi", b"\x00" * 63)


# --- signing -------------------------------------------------------------------------------


def test_sign_appends_a_blank_line_and_one_em_dash_line_per_signer() -> None:
    a = Ed25519NoteSigner("a.example/log", Ed25519PrivateKey.generate())
    b = Ed25519NoteSigner("b.example/witness", Ed25519PrivateKey.generate())
    note = sign("body\n", [a, b])
    head, sig_a, sig_b, end = note.split("\n")[1:]
    assert note.startswith("body\n\n")
    assert head == "" and end == ""
    assert sig_a.startswith("\u2014 a.example/log ")
    assert sig_b.startswith("\u2014 b.example/witness ")
    raw = base64.b64decode(sig_a.split(" ")[2])
    assert raw[:4] == a.key_id and len(raw) == 68
    _, verified = open_note(note, [b.verifier(), a.verifier()])
    assert [s.name for s in verified] == ["a.example/log", "b.example/witness"]


@pytest.mark.parametrize("text", ["no newline", "", "tab\there\n", "bell\x07\n", "\ud800\n"])
def test_sign_refuses_text_that_no_note_can_carry(text: str) -> None:
    signer = parse_signer_key(PETER_SKEY)
    with pytest.raises(NoteMalformed):
        sign(text, [signer])


def test_sign_needs_a_signer() -> None:
    with pytest.raises(ValueError, match="at least one signer"):
        sign("text\n", [])


_SIGNER = parse_signer_key(PETER_SKEY)
_line = st.text(alphabet=st.characters(exclude_categories=["Cs"], min_codepoint=0x20), max_size=30)


@given(st.lists(_line, min_size=1, max_size=6))
def test_sign_then_open_gives_the_text_back(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"  # may contain blank lines: the last one separates
    note = sign(text, [_SIGNER])
    opened, verified = open_note(note, [_SIGNER.verifier()])
    assert opened == text
    assert len(verified) == 1


@given(st.lists(_line, min_size=1, max_size=4), st.data())
def test_any_change_to_the_text_is_caught(lines: list[str], data: st.DataObject) -> None:
    text = "\n".join(lines) + "\n"
    note = sign(text, [_SIGNER])
    i = data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(st.sampled_from(["x", "\n", "", "ä"]))
    tampered = note[:i] + replacement + note[i + 1 :]
    if tampered == note:
        return
    with pytest.raises(NoteError):
        open_note(tampered, [_SIGNER.verifier()])
