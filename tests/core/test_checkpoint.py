"""C2SP tlog checkpoints: the body, strict parsing, signing, and stock OpenSSL verifying them."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from core.checkpoint import (
    MAX_TREE_SIZE,
    Checkpoint,
    CheckpointMalformed,
    open_checkpoint,
    openssl_verify_material,
    sign_checkpoint,
)
from core.merkle import MemoryTree
from core.note import (
    Ed25519NoteSigner,
    NoteError,
    NoteSignatureInvalid,
    NoteUnverified,
    parse_signer_key,
    sign,
)
from tests.fixtures.vectors import merkle_vectors


def vectors() -> dict[str, Any]:
    return merkle_vectors()


ORIGIN = "lienthong.gov.vn/evidence"
ROOT = bytes(range(32))
ROOT_B64 = base64.b64encode(ROOT).decode()
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# The same 32 bytes with a non-zero padding bit in the last character: a second spelling.
ROOT_B64_LOOSE = ROOT_B64[:-2] + _ALPHABET[_ALPHABET.index(ROOT_B64[-2]) | 1] + "="
URLSAFE_B64 = base64.urlsafe_b64encode(b"\xff" * 32).decode()


@pytest.fixture(scope="module")
def log_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def log_signer(log_key: Ed25519PrivateKey) -> Ed25519NoteSigner:
    return Ed25519NoteSigner(ORIGIN, log_key)


def _tree_checkpoint(size: int) -> Checkpoint:
    tree = MemoryTree()
    for i in range(size):
        tree.append_data(f"record {i}".encode())
    return Checkpoint(ORIGIN, tree.size, tree.root())


# --- the body ------------------------------------------------------------------------------


def test_body_is_origin_size_and_base64_root_each_ending_in_a_newline() -> None:
    assert Checkpoint(ORIGIN, 42, ROOT).body() == f"{ORIGIN}\n42\n{ROOT_B64}\n"
    with_extensions = Checkpoint(ORIGIN, 0, ROOT, ("ext one", "two"))
    assert with_extensions.body() == f"{ORIGIN}\n0\n{ROOT_B64}\next one\ntwo\n"


def test_c2sp_example_and_go_sumdb_tree_note_parse() -> None:
    example = (
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    checkpoint = Checkpoint.parse(example)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.body() == example

    golden = vectors()["sumdb"]["tree_note_golden"]
    sumdb = Checkpoint.parse(golden)
    assert sumdb.origin == "go.sum database tree"  # origins need not be URLs
    assert sumdb.size == 123456789012
    assert sumdb.root.hex() == vectors()["sumdb"]["record_hash_hello_world"]["leaf_hash_hex"]
    assert sumdb.body() == golden


def test_extension_lines_round_trip() -> None:
    checkpoint = Checkpoint(ORIGIN, 7, ROOT, ("— witness line", "x"))
    assert Checkpoint.parse(checkpoint.body()) == checkpoint
    assert Checkpoint(ORIGIN, 7, ROOT, ["a"]).extensions == ("a",)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (f"{ORIGIN}\n42\n{ROOT_B64}", "ends with a newline"),
        (f"{ORIGIN}\n42\n", "origin, size and root"),
        ("", "ends with a newline"),
        (f"\n42\n{ROOT_B64}\n", "origin"),
        (f"{ORIGIN}\n01\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n00\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n-1\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n+1\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n 1\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n1_000\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n1e3\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n0x10\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n\u0661\n{ROOT_B64}\n", "without leading zeros"),  # Arabic-Indic one
        (f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n", "0..2"),
        (f"{ORIGIN}\n42\nnot base64!\n", "canonical standard base64"),
        (f"{ORIGIN}\n42\n{ROOT_B64.rstrip('=')}\n", "canonical standard base64"),
        (f"{ORIGIN}\n42\n{URLSAFE_B64}\n", "canonical standard base64"),
        (f"{ORIGIN}\n42\n{ROOT_B64_LOOSE}\n", "canonical standard base64"),
        (f"{ORIGIN}\n42\n{base64.b64encode(ROOT[:31]).decode()}\n", "32 bytes"),
        (f"{ORIGIN}\n42\n{base64.b64encode(ROOT + b'x').decode()}\n", "32 bytes"),
        (f"{ORIGIN}\n42\n\n", "32 bytes"),
        (f"{ORIGIN}\n42\n{ROOT_B64}\n\n", "extension line"),
        (f"{ORIGIN}\n42\n{ROOT_B64}\nbad\tline\n", "extension line"),
        (f"{ORIGIN}\r\n42\n{ROOT_B64}\n", "origin"),
    ],
)
def test_malformed_bodies_are_refused(body: str, why: str) -> None:
    with pytest.raises(CheckpointMalformed, match=why):
        Checkpoint.parse(body)


def test_parse_takes_text_only() -> None:
    with pytest.raises(CheckpointMalformed):
        Checkpoint.parse(f"{ORIGIN}\n42\n{ROOT_B64}\n".encode())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (("", 1, ROOT), "origin"),
        (("a\nb", 1, ROOT), "origin"),
        ((ORIGIN, -1, ROOT), "0..2"),
        ((ORIGIN, MAX_TREE_SIZE + 1, ROOT), "0..2"),
        ((ORIGIN, True, ROOT), "is an int"),
        ((ORIGIN, 1.0, ROOT), "is an int"),
        ((ORIGIN, 1, ROOT[:31]), "32 bytes"),
        ((ORIGIN, 1, ROOT.hex()), "32 bytes"),
        ((ORIGIN, 1, ROOT, ("",)), "extension line"),
        ((ORIGIN, 1, ROOT, ("a\nb",)), "extension line"),
    ],
)
def test_impossible_checkpoints_cannot_be_made(args: tuple[Any, ...], why: str) -> None:
    with pytest.raises(CheckpointMalformed, match=why):
        Checkpoint(*args)


def test_the_largest_tree_size_is_2_to_the_64_minus_1() -> None:
    checkpoint = Checkpoint(ORIGIN, MAX_TREE_SIZE, ROOT)
    assert Checkpoint.parse(checkpoint.body()).size == 2**64 - 1


_origin = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=20
).filter(lambda s: "\n" not in s)


@given(_origin, st.integers(0, MAX_TREE_SIZE), st.binary(min_size=32, max_size=32))
def test_parse_inverts_body(origin: str, size: int, root: bytes) -> None:
    checkpoint = Checkpoint(origin, size, root)
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


# --- signed checkpoints --------------------------------------------------------------------


def test_signed_checkpoint_opens_with_the_log_key(log_signer: Ed25519NoteSigner) -> None:
    checkpoint = _tree_checkpoint(10)
    note = sign_checkpoint(checkpoint, log_signer)
    assert note.startswith(checkpoint.body() + "\n\u2014 " + ORIGIN + " ")
    assert open_checkpoint(note, log_signer.verifier()) == checkpoint
    assert open_checkpoint(note, log_signer.verifier(), origin=ORIGIN) == checkpoint


def test_checkpoint_of_another_log_is_refused(log_key: Ed25519PrivateKey) -> None:
    other = Ed25519NoteSigner("other.example/log", log_key)
    note = sign_checkpoint(Checkpoint("other.example/log", 1, ROOT), other)
    with pytest.raises(CheckpointMalformed, match="not of"):
        open_checkpoint(note, other.verifier(), origin=ORIGIN)


def test_checkpoint_signed_by_another_key_is_unverified(log_signer: Ed25519NoteSigner) -> None:
    impostor = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    note = sign_checkpoint(_tree_checkpoint(3), impostor)
    with pytest.raises(NoteUnverified):
        open_checkpoint(note, log_signer.verifier())


def test_tampered_checkpoint_is_refused(log_signer: Ed25519NoteSigner) -> None:
    note = sign_checkpoint(_tree_checkpoint(3), log_signer)
    with pytest.raises(NoteSignatureInvalid):
        open_checkpoint(note.replace("\n3\n", "\n4\n", 1), log_signer.verifier())


def test_witness_cosignatures_are_ignored(log_signer: Ed25519NoteSigner) -> None:
    witness = parse_signer_key(vectors()["signed_note"]["key_pairs"][0]["signer_key"])
    checkpoint = _tree_checkpoint(5)
    note = sign(checkpoint.body(), [witness, log_signer])
    assert open_checkpoint(note, log_signer.verifier()) == checkpoint


def test_a_signed_note_that_is_not_a_checkpoint_is_refused(log_signer: Ed25519NoteSigner) -> None:
    note = sign("just a note\n", [log_signer])
    with pytest.raises(NoteError):
        open_checkpoint(note, log_signer.verifier())


# --- stock OpenSSL -------------------------------------------------------------------------


def _openssl_verify(
    tmp_path: Path, key: Ed25519PrivateKey, message: bytes, signature: bytes
) -> subprocess.CompletedProcess[str]:
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "log.pem").write_bytes(pem)
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(signature)
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "log.pem", "-rawin"]
    command += ["-in", "msg", "-sigfile", "sig"]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)


def test_openssl_verifies_a_signed_checkpoint(
    tmp_path: Path, log_key: Ed25519PrivateKey, log_signer: Ed25519NoteSigner
) -> None:
    checkpoint = _tree_checkpoint(1000)
    witness = Ed25519NoteSigner("witness.example/w1", Ed25519PrivateKey.generate())
    note = sign(checkpoint.body(), [witness, log_signer])  # find the log's line, not the first

    message, signature = openssl_verify_material(note, log_key.public_key())
    assert message == checkpoint.body().encode()
    assert len(signature) == 64
    assert openssl_verify_material(note, log_signer.public_key) == (message, signature)

    result = _openssl_verify(tmp_path, log_key, message, signature)
    assert result.returncode == 0, result.stderr
    assert "Signature Verified Successfully" in result.stdout


def test_openssl_refuses_a_tampered_checkpoint(
    tmp_path: Path, log_key: Ed25519PrivateKey, log_signer: Ed25519NoteSigner
) -> None:
    note = sign_checkpoint(_tree_checkpoint(1000), log_signer)
    tampered = note.replace("\n1000\n", "\n1001\n", 1)
    message, signature = openssl_verify_material(tampered, log_key.public_key())
    assert b"\n1001\n" in message

    result = _openssl_verify(tmp_path, log_key, message, signature)
    assert result.returncode != 0
    assert "Signature Verified Successfully" not in result.stdout


def test_openssl_material_needs_a_line_by_that_key(log_signer: Ed25519NoteSigner) -> None:
    note = sign_checkpoint(_tree_checkpoint(2), log_signer)
    with pytest.raises(NoteUnverified, match="by this key"):
        openssl_verify_material(note, Ed25519PrivateKey.generate().public_key())
