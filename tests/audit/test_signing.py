"""Checkpoint signing in the signed-note format, checked against Go's sumdb/note vector."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shareguard.audit.merkle import EMPTY_ROOT
from shareguard.audit.signing import (
    KEY_FILE,
    Checkpoint,
    SignatureInvalid,
    Signer,
    Verifier,
    key_id,
    load_or_create,
    open_checkpoint,
    sign_checkpoint,
)

# golang.org/x/mod/sumdb/note: the package documentation's example key and note.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = GO_TEXT + (
    "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# transparency-dev/formats note tests: a verifier key whose base64 contains '+'.
PLUS_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"


def test_signing_reproduces_the_go_note_byte_for_byte() -> None:
    signer = Signer.decode(GO_SKEY)
    assert signer.sign(GO_TEXT) == GO_NOTE
    assert signer.verifier.vkey == GO_VKEY
    assert signer.encode().strip() == GO_SKEY


def test_the_go_note_verifies_and_key_id_follows_the_spec() -> None:
    verifier = Verifier.parse(GO_VKEY)
    assert verifier.verify(GO_NOTE) == GO_TEXT
    assert key_id("PeterNeumann", verifier.public_key).hex() == "c74f20a3"
    assert Verifier.parse(PLUS_VKEY).key_id.hex() == "7997405c"


@pytest.mark.parametrize(
    "note",
    [
        GO_NOTE.replace("cryptography", "crypto"),  # text changed
        GO_NOTE.replace("x08go", "x08gp"),  # signature changed
        GO_TEXT + "\n\u2014 SomeoneElse x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FF"
        "YC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",  # signed by another name
        GO_TEXT,  # no signature at all
    ],
)
def test_altered_or_foreign_notes_are_refused(note: str) -> None:
    with pytest.raises(SignatureInvalid):
        Verifier.parse(GO_VKEY).verify(note)


@pytest.mark.parametrize(
    "vkey",
    [
        GO_VKEY.replace("c74f20a3", "c74f20a4"),
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(SignatureInvalid):
        Verifier.parse(vkey)


def test_checkpoint_note_has_the_c2sp_layout(tmp_path: Path) -> None:
    signer = load_or_create(tmp_path, "log.example/audit")
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    note = sign_checkpoint(signer, "log.example/audit", 0, EMPTY_ROOT, at)
    lines = note.split("\n")
    assert lines[:5] == [
        "log.example/audit",
        "0",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "time 2026-01-02T03:04:05Z",
        "",
    ]
    assert lines[5].startswith("\u2014 log.example/audit ") and lines[6] == ""
    cp = open_checkpoint(signer.verifier, note)
    assert (cp.origin, cp.tree_size, cp.root_hash, cp.time) == (
        "log.example/audit",
        0,
        EMPTY_ROOT,
        "2026-01-02T03:04:05Z",
    )
    forged = note.replace("\n0\n", "\n1\n", 1)
    with pytest.raises(SignatureInvalid):
        open_checkpoint(signer.verifier, forged)


def test_key_is_created_once_outside_the_database_readable_only_by_its_owner(
    tmp_path: Path,
) -> None:
    first = load_or_create(tmp_path / "keys", "log.example/audit")
    path = tmp_path / "keys" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create(tmp_path / "keys", "another-name-is-ignored")
    assert again.verifier == first.verifier
    assert [p.name for p in (tmp_path / "keys").iterdir()] == [KEY_FILE]


@pytest.mark.parametrize(
    "body", ["o\n01\n" + "A" * 43 + "=\n", "o\n1\nnot-base64\n", "o\n1\n", "o\n1\nAAAA\n"]
)
def test_malformed_checkpoint_bodies_are_refused(body: str) -> None:
    with pytest.raises(SignatureInvalid):
        Checkpoint.parse(body)
