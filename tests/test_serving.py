"""`serve` refuses the public default secret outside demo mode, and demo mode warns loudly
when it listens beyond loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shareguard.cli import app
from shareguard.config import DEFAULT_SECRET, Settings, get_settings, serving_warning

runner = CliRunner()


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Record uvicorn.run's arguments instead of serving."""
    calls: list[dict[str, object]] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: calls.append(k))
    return calls


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> None:
    monkeypatch.setenv("SHAREGUARD_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SHAREGUARD_SECRET_KEY", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(f"SHAREGUARD_{name.upper()}", value)
    get_settings.cache_clear()


@pytest.mark.parametrize("mode", ["test"])
def test_serve_refuses_the_default_secret_outside_demo_mode(
    mode: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_server: list
) -> None:  # type: ignore[type-arg]
    _env(monkeypatch, tmp_path, mode=mode)
    try:
        result = runner.invoke(app, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "default secret" in result.output
    assert no_server == []


def test_the_app_will_not_start_with_the_default_secret_outside_demo_mode(tmp_path: Path) -> None:
    from shareguard.web.app import create_app

    with pytest.raises(RuntimeError, match="default secret"):
        create_app(Settings(mode="test", data_dir=tmp_path, secret_key=DEFAULT_SECRET))


def test_demo_mode_warns_loudly_beyond_loopback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_server: list
) -> None:  # type: ignore[type-arg]
    _env(monkeypatch, tmp_path, mode="demo")
    try:
        loud = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
        quiet = runner.invoke(app, ["serve", "--host", "127.0.0.1"])
    finally:
        get_settings.cache_clear()
    assert loud.exit_code == 0 and "WARNING" in loud.output and "forge" in loud.output
    assert quiet.exit_code == 0 and "WARNING" not in quiet.output
    assert [c["host"] for c in no_server] == ["0.0.0.0", "127.0.0.1"]


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "[::1]"])
def test_loopback_hosts_need_no_warning(host: str, tmp_path: Path) -> None:
    assert serving_warning(Settings(mode="demo", data_dir=tmp_path), host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "shareguard.example"])
def test_other_hosts_get_the_warning(host: str, tmp_path: Path) -> None:
    assert serving_warning(Settings(mode="demo", data_dir=tmp_path), host)


def test_serve_turns_off_uvicorns_access_log_which_would_carry_raw_addresses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_server: list
) -> None:  # type: ignore[type-arg]
    _env(monkeypatch, tmp_path, mode="demo")
    try:
        result = runner.invoke(app, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert no_server and no_server[0]["access_log"] is False
