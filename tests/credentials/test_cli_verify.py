"""`shareguard credential verify`: the standalone verifier a checker runs offline."""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import OKPKey
from typer.testing import CliRunner

from shareguard.cli import app
from shareguard.credentials import format as fmt
from tests.credentials.test_format import NOW, flip, make_token, signed_list

runner = CliRunner()
AT = (NOW + timedelta(days=1)).isoformat()


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No database and no network: any attempt fails the test."""

    def no_db(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("offline verification touched the database")

    def no_net(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("offline verification touched the network")

    import shareguard.storage.db as db
    from shareguard.cli import load

    # Load the command before patching: the CLI imports a command's module when it first
    # runs, and a from-import made under the patch would keep the fake for later tests.
    load("credential")
    monkeypatch.setattr(db, "make_engine", no_db)
    monkeypatch.setattr(db, "get_engine", no_db)
    monkeypatch.setattr(db, "session_scope", no_db)
    monkeypatch.setattr(socket.socket, "connect", no_net)
    monkeypatch.setenv("SHAREGUARD_DATABASE_URL", "postgresql+psycopg://nobody@192.0.2.1/none")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Any]:
    key = OKPKey.generate_key("Ed25519")
    cid = uuid.uuid4()
    token = make_token(key, cid=cid)
    (tmp_path / "credential.jwt").write_text(token + "\n")
    (tmp_path / "issuing-key.pem").write_text(fmt.public_pem(key))
    (tmp_path / "other-key.pem").write_text(fmt.public_pem(OKPKey.generate_key("Ed25519")))
    return {"dir": tmp_path, "key": key, "token": token, "cid": cid}


def run(*args: str) -> Any:
    return runner.invoke(app, ["credential", "verify", *args], catch_exceptions=False)


def test_valid_file_verifies_offline_with_only_the_public_key(
    files: dict[str, Any], offline: None
) -> None:
    d = files["dir"]
    result = run(str(d / "credential.jwt"), "--public-key", str(d / "issuing-key.pem"), "--at", AT)
    assert result.exit_code == 0, result.output
    assert "VALID" in result.output and "NOT VALID" not in result.output
    assert "Testa Exampleperson" in result.output
    assert "revocation not checked" in result.output


def test_qr_text_verifies_as_well(files: dict[str, Any], offline: None) -> None:
    d = files["dir"]
    result = run(files["token"], "--public-key", str(d / "issuing-key.pem"), "--at", AT)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("tampered", "signature does not verify"),
        ("expired", "expired on 2026-12-23"),
        ("wrong_key", "signed by a different key"),
    ],
)
def test_failures_exit_1_with_a_clear_reason(
    files: dict[str, Any], offline: None, case: str, reason: str
) -> None:
    d = files["dir"]
    token, key_file, at = files["token"], d / "issuing-key.pem", AT
    if case == "tampered":
        token = flip(token, len(token.split(".")[0]) + 20)
    elif case == "expired":
        at = (NOW + timedelta(days=31)).isoformat()
    else:
        key_file = d / "other-key.pem"
    result = run(token, "--public-key", str(key_file), "--at", at)
    assert result.exit_code == 1
    assert "NOT VALID" in result.output
    assert reason in result.output


def test_revoked_with_a_revocation_list_file(files: dict[str, Any], offline: None) -> None:
    d = files["dir"]
    lst = signed_list(
        files["key"], {str(files["cid"]): NOW + timedelta(hours=1)}, next_update=NOW + timedelta(2)
    )
    (d / "revocations.jwt").write_text(lst)
    result = run(
        str(d / "credential.jwt"),
        "--public-key",
        str(d / "issuing-key.pem"),
        "--revocation-list",
        str(d / "revocations.jwt"),
        "--at",
        AT,
        "--json",
    )
    assert result.exit_code == 1
    assert '"code": "revoked"' in result.output
    assert "revoked on 2026-11-23" in result.output


def test_unusable_input_exits_2(files: dict[str, Any], offline: None) -> None:
    d = files["dir"]
    assert run("hello", "--public-key", str(d / "issuing-key.pem")).exit_code == 2
    missing = run(files["token"], "--public-key", str(d / "nope.pem"))
    assert missing.exit_code == 2
    assert "no such file" in missing.output
