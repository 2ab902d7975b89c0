"""The command line starts fast: `--help` imports no command's module, and each command loads
only what it uses (benchmarks/cli_startup.py measures the time)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shareguard.capabilities import CAPABILITIES
from shareguard.cli import COMMANDS, app, load, unlisted_rooms

HEAVY = ("pandas", "splink", "duckdb", "pyspark", "sqlalchemy", "fastapi", "shareguard.web")


def _modules_after(argv: list[str], env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running ``shareguard ARGV``."""
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from shareguard.cli import app\n"
        f"result = CliRunner().invoke(app, {argv!r})\n"
        "assert result.exit_code == 0, result.output\n"
        "print('\\n'.join(sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_help_lists_every_command_without_importing_any() -> None:
    loaded = _modules_after(["--help"])
    assert not [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY)]
    assert not [m for m in loaded if m.endswith(".cli") and m != "shareguard.cli"]


def test_a_command_loads_its_own_module_and_not_pandas() -> None:
    loaded = _modules_after(["agreements", "--help"])
    assert "shareguard.agreements.cli" in loaded
    assert "shareguard.matching.cli" not in loaded and "pandas" not in loaded


def test_listing_agreements_loads_only_what_it_uses(tmp_path: Path) -> None:
    """A real command on a real database: its own package and the accounts it names, nothing
    of the web, the policy engine, bulk matching or the other capabilities."""
    env = {**os.environ, "SHAREGUARD_DATA_DIR": str(tmp_path)}
    env.pop("SHAREGUARD_DATABASE_URL", None)
    upgrade = [sys.executable, "-c", "from shareguard.cli import app; app()", "db", "upgrade"]
    upgraded = subprocess.run(upgrade, capture_output=True, env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    loaded = _modules_after(["agreements", "list"], env)
    assert "shareguard.agreements.cli" in loaded
    heavy = ("pandas", "splink", "duckdb", "pyspark", "cedarpy", "fastapi", "alembic", "jinja2")
    assert not [m for m in loaded if m.split(".")[0] in heavy]
    used = {m.split(".")[1] for m in loaded if m.startswith("shareguard.")} & set(CAPABILITIES)
    assert used == {"agreements", "accounts"}, used


def test_a_report_reads_without_the_engines_of_matching_or_webhooks(tmp_path: Path) -> None:
    """`shareguard report` only reads: none of the libraries that link runs, read partner
    files or deliver webhooks is loaded for it (the package faces load on first use)."""
    env = {**os.environ, "SHAREGUARD_DATA_DIR": str(tmp_path)}
    env.pop("SHAREGUARD_DATABASE_URL", None)
    upgrade = [sys.executable, "-c", "from shareguard.cli import app; app()", "db", "upgrade"]
    upgraded = subprocess.run(upgrade, capture_output=True, env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    loaded = _modules_after(["report", "--format", "json"], env)
    assert "shareguard.reports.cli" in loaded
    heavy = ("pandas", "pyarrow", "numpy", "splink", "duckdb", "pyspark", "httpx", "fastapi")
    assert not [m for m in loaded if m.split(".")[0] in heavy]


def test_no_command_loads_the_web_stack() -> None:
    """Commands share shapes with the routes through ``present`` rooms, never the routes."""
    script = (
        "import sys\n"
        "from shareguard.cli import COMMANDS, load\n"
        "for name in COMMANDS:\n"
        "    load(name)\n"
        "web = ('fastapi', 'shareguard.web')\n"
        "print(sorted(m for m in sys.modules if m.startswith(web)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


#: Commands that do bulk work with pandas, pyarrow, Splink or DuckDB when they load.
BULK_COMMANDS = {"match", "demo"}


def test_only_bulk_commands_load_the_bulk_libraries() -> None:
    """Loading every other command (one interpreter, so any one would show) loads none."""
    others = sorted(set(COMMANDS) - BULK_COMMANDS)
    script = (
        "import sys\n"
        "from shareguard.cli import load\n"
        f"for name in {others!r}:\n"
        "    load(name)\n"
        "bulk = ('pandas', 'pyarrow', 'splink', 'duckdb', 'pyspark')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bulk))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_list_shows_each_commands_own_help() -> None:
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for name, (_, help_text) in COMMANDS.items():
        assert f"{name} " in result.output and help_text in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_listed_help_is_the_commands_own(name: str) -> None:
    """The table's line of help is the one `shareguard NAME --help` shows (kept in step)."""
    command = load(name)
    assert command.name == name
    assert (command.help or "").strip().splitlines()[0] == COMMANDS[name][1]


def test_every_capability_command_is_in_the_table() -> None:
    assert unlisted_rooms() == [], "add these rooms to COMMANDS in src/shareguard/cli.py"


def test_an_unknown_command_is_refused_with_a_suggestion() -> None:
    result = CliRunner().invoke(app, ["agreement", "list"])
    assert result.exit_code == 2 and "agreements" in result.output
