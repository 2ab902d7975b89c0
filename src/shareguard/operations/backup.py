"""Backups: a consistent copy of the database while it serves, a manifest, the keys' public halves.

``create`` signs a checkpoint (as ``shareguard audit checkpoint`` does), then copies the
database: SQLite through its online backup API (one step, so one read snapshot; WAL lets
writers go on meanwhile), PostgreSQL through ``pg_dump --format=custom`` run on a snapshot
exported from a REPEATABLE READ transaction, in which the manifest's facts are read too, so
the facts and the dump describe the same instant. The files under ``matching/`` and
``exchange/`` in the data directory are copied beside it. The manifest
(``manifest.json``, written last, so a half-made backup has none) names the format, the
backend, the schema revision, the audit log's size, the newest signed checkpoint, the log's
verifier key and every file's SHA-256. Private keys are included only when asked, and then
only as passphrase-encrypted PKCS#8 (``cryptography``'s best available encryption).

``restore`` checks the manifest and every checksum, refuses a database that is not empty,
restores (SQLite: the backup API again; PostgreSQL: ``pg_restore --single-transaction``),
then verifies the restored log exactly as ``shareguard audit verify`` does and checks that it
has the manifest's size and extends the manifest's signed checkpoint (a consistency proof).
A restore that does not verify is undone. Creation and restoration are audit entries
(``backup.create`` in the live log, ``backup.restore`` in the restored one).

Messages name files, sizes and counts: never a record's content.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from sqlalchemy import Connection, Engine, MetaData, create_engine, func, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from shareguard import __version__
from shareguard.audit import merkle
from shareguard.audit.log import AuditRecord, StoredTree, append
from shareguard.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from shareguard.audit.service import AuditService
from shareguard.audit.signing import KEY_FILE, SignatureInvalid, Signer, Verifier, open_checkpoint
from shareguard.audit.verify import Progress, VerifyReport, verify_log
from shareguard.config import Settings
from shareguard.credentials import keys as credential_keys
from shareguard.errors import InvalidInput, ShareguardError
from shareguard.signin import keys as client_keys
from shareguard.storage.db import unit_of_work
from shareguard.storage.migrate import MIGRATIONS

FORMAT = "shareguard-backup/v1"
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
#: Data-directory folders whose files belong with the database (match-run and inbound files).
DATA_FOLDERS = ("matching", "exchange")
#: Where a passphrase may come from when no file is given and no terminal can be asked.
PASSPHRASE_ENV = "SHAREGUARD_BACKUP_PASSPHRASE"
MIN_PASSPHRASE = 12
#: libpq settings a database URL's query may carry through to pg_dump and pg_restore.
_LIBPQ_QUERY = {
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslpassword",
    "connect_timeout",
    "application_name",
    "options",
    "target_session_attrs",
    "host",
    "hostaddr",
    "port",
    "gssencmode",
    "channel_binding",
}


class BackupRefused(InvalidInput):
    """The backup or restore cannot go ahead as asked (exit 2); nothing was written."""

    title = "Backup refused"
    slug = "backup-refused"


class RestoreUnverified(ShareguardError):
    """The restored database did not verify; the restore was undone (exit 1)."""

    status = 409
    title = "Restore did not verify"
    slug = "restore-unverified"


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    directory: Path
    manifest: dict[str, Any]
    seconds: float
    audit_entry_id: uuid.UUID

    def as_dict(self) -> dict[str, Any]:
        audit = self.manifest["audit"]
        return {
            "backup_id": self.manifest["id"],
            "directory": str(self.directory),
            "backend": self.manifest["backend"],
            "schema_revision": self.manifest["schema_revision"],
            "audit_log_size": audit["log_size"],
            "audit_pending": audit["pending"],
            "checkpoint_size": (audit["checkpoint"] or {}).get("tree_size"),
            "bytes": sum(f["bytes"] for f in self.manifest["files"].values()),
            "files": len(self.manifest["files"]),
            "private_keys": bool(self.manifest["private_keys"]),
            "seconds": round(self.seconds, 3),
            "audit_entry_id": str(self.audit_entry_id),
        }


@dataclass(frozen=True)
class Restored:
    backup_id: str
    backend: str
    report: VerifyReport
    checkpoint_size: int | None
    seconds: float
    audit_entry_id: uuid.UUID
    keys_restored: list[str] = field(default_factory=list)
    files_restored: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "backup_id": self.backup_id,
            "backend": self.backend,
            "verified": self.report.ok,
            "entries": self.report.entries,
            "checkpoints": self.report.checkpoints,
            "pending": self.report.pending,
            "root_hash": self.report.root.hex(),
            "consistent_with_checkpoint": self.checkpoint_size,
            "keys_restored": self.keys_restored,
            "files_restored": self.files_restored,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "audit_entry_id": str(self.audit_entry_id),
        }


# -- creating ------------------------------------------------------------------------------


def create(
    directory: Path,
    engine: Engine,
    settings: Settings,
    *,
    passphrase: str | None = None,
) -> Created:
    """Back up the database ``engine`` serves (and the data files beside it) into ``directory``.

    ``directory`` must be new or empty. With ``passphrase`` the private keys are included,
    encrypted with it. Raises BackupRefused (nothing kept) when it cannot go ahead. Commits
    its own units of work: the checkpoint before, the ``backup.create`` entry after.
    """
    started = time.perf_counter()
    backend = _backend(engine)
    tool = client_tool("pg_dump") if backend == "postgresql" else None
    if passphrase is not None:
        check_passphrase(passphrase)
    made = _claim(directory)
    try:
        with unit_of_work(engine) as session:  # a checkpoint of (nearly) all the copy holds
            AuditService(session, settings).checkpoint()
        files: dict[str, dict[str, Any]] = {}
        if backend == "sqlite":
            facts = _copy_sqlite(_sqlite_path(engine), directory / SQLITE_FILE)
            files[SQLITE_FILE] = _file_entry(directory / SQLITE_FILE)
        else:
            assert tool is not None
            facts = _dump_postgres(engine, tool, directory / PG_FILE)
            files[PG_FILE] = _file_entry(directory / PG_FILE)
        signer = _installed_signer(settings)
        public = _write_public_keys(directory, settings, signer)
        private = _write_private_keys(directory, settings, passphrase) if passphrase else []
        data = _copy_data(settings.data_dir, directory)
        for name in [*public, *(p["file"] for p in private), *data]:
            files[name] = _file_entry(directory / name)
        manifest = {
            "format": FORMAT,
            "id": str(uuid.uuid4()),
            "created_at": _iso(datetime.now(UTC)),
            "shareguard_version": __version__,
            "backend": backend,
            "schema_revision": facts.pop("schema_revision"),
            "audit": {**facts, "verifier_key": signer.verifier.vkey if signer else None},
            "private_keys": private,
            "files": files,
        }
        _write_atomically(directory / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    except BaseException:
        _unclaim(directory, made)
        raise
    with unit_of_work(engine) as session:
        entry = append(
            session,
            AuditRecord(
                action="backup.create",
                details={
                    "backup_id": manifest["id"],
                    "backend": backend,
                    "audit_log_size": manifest["audit"]["log_size"],
                    "checkpoint_size": (manifest["audit"]["checkpoint"] or {}).get("tree_size"),
                    "database_sha256": files[SQLITE_FILE if backend == "sqlite" else PG_FILE][
                        "sha256"
                    ],
                    "private_keys": bool(private),
                },
            ),
        )
        entry_id = entry.id
    return Created(directory, manifest, time.perf_counter() - started, entry_id)


def _claim(directory: Path) -> bool:
    """Make sure ``directory`` is new or empty; returns whether it was made here."""
    if directory.exists():
        if not directory.is_dir():
            raise BackupRefused(f"{directory} is a file, not a directory", field="DIR")
        if any(directory.iterdir()):
            raise BackupRefused(
                f"{directory} is not empty: give a new directory for each backup", field="DIR"
            )
        return False
    try:
        directory.mkdir(parents=True, mode=0o700)
    except OSError as exc:
        raise BackupRefused(f"cannot create {directory} ({exc.strerror})", field="DIR") from None
    return True


def _unclaim(directory: Path, made: bool) -> None:
    if made:
        shutil.rmtree(directory, ignore_errors=True)
        return
    for child in directory.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _copy_sqlite(source: str, target: Path) -> dict[str, Any]:
    """Copy a live SQLite database with the online backup API; read the manifest's facts
    from the copy, so they describe exactly what was copied."""
    if not Path(source).exists():
        raise BackupRefused(f"there is no database at {source}", field="SHAREGUARD_DATA_DIR")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        # pages=-1 copies in one step: one read snapshot, never restarted by the writes
        # that go on meanwhile (a stepwise copy restarts on each, and might never finish).
        src.backup(dst, pages=-1)
        # One self-contained file: no -wal or -shm beside it. Restore sets WAL again.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()
    os.chmod(target, 0o600)
    copy = create_engine(f"sqlite:///{target}", poolclass=NullPool)
    try:
        with copy.connect() as conn:
            return _facts(conn)
    finally:
        copy.dispose()


def _dump_postgres(engine: Engine, tool: str, target: Path) -> dict[str, Any]:
    """``pg_dump`` on a snapshot exported from the transaction that reads the facts."""
    with engine.connect().execution_options(
        isolation_level="REPEATABLE READ", postgresql_readonly=True
    ) as conn:
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        facts = _facts(conn)
        conninfo, env = _libpq(engine.url)
        # The exporting transaction stays open until pg_dump has taken the snapshot up.
        _run(
            [tool, "--format=custom", f"--snapshot={snapshot}", f"--file={target}", conninfo],
            env,
        )
        conn.rollback()
    os.chmod(target, 0o600)
    return facts


def _facts(conn: Connection) -> dict[str, Any]:
    """Schema revision, log size, entries pending and the newest checkpoint, as ``conn`` sees."""
    revision = None
    if inspect(conn).has_table("alembic_version"):
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    size = conn.execute(select(AuditHead.size).where(AuditHead.id == 1)).scalar() or 0
    pending = conn.execute(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.seq.is_(None))
    ).scalar()
    newest = conn.execute(
        select(
            AuditCheckpoint.tree_size,
            AuditCheckpoint.root_hash,
            AuditCheckpoint.key_id,
            AuditCheckpoint.created_at,
            AuditCheckpoint.note,
        )
        .order_by(AuditCheckpoint.tree_size.desc(), AuditCheckpoint.id.desc())
        .limit(1)
    ).first()
    checkpoint = None
    if newest is not None:
        checkpoint = {
            "tree_size": int(newest.tree_size),
            "root_hash": base64.b64encode(bytes(newest.root_hash)).decode(),
            "key_id": newest.key_id,
            "created_at": _iso(newest.created_at),
            "note": newest.note,
        }
    return {
        "schema_revision": revision,
        "log_size": int(size),
        "pending": int(pending or 0),
        "checkpoint": checkpoint,
    }


# -- keys ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _KeyFile:
    """One private key kept in ``Settings.key_dir``, in the form its owner module writes."""

    stored: str  # file name in key_dir
    form: str  # "note" (the audit key's signed-note encoding) or "pem" (PKCS#8 PEM)
    public: str  # file name of its public half in the backup's keys/ folder


def _key_files() -> list[_KeyFile]:
    return [
        _KeyFile(KEY_FILE, "note", "audit.vkey"),
        _KeyFile(credential_keys.FILENAME, "pem", "credential-issuing.pub.pem"),
        *(
            _KeyFile(client_keys.key_path(Path(), c).name, "pem", f"oidc-{c}-client.pub.pem")
            for c in client_keys.CLIENTS
        ),
    ]


def _installed_signer(settings: Settings) -> Signer | None:
    path = settings.key_dir / KEY_FILE
    return Signer.decode(path.read_text()) if path.exists() else None


def _load_private(key: _KeyFile, path: Path) -> tuple[PrivateKeyTypes, str | None]:
    """The key object and (for the audit key) its note name."""
    if key.form == "note":
        signer = Signer.decode(path.read_text())
        return signer.private_key, signer.name
    return load_pem_private_key(path.read_bytes(), password=None), None


def _write_public_keys(directory: Path, settings: Settings, signer: Signer | None) -> list[str]:
    """The public halves of the keys this installation has (none is created here)."""
    written = []
    (directory / "keys").mkdir(mode=0o700)
    for key in _key_files():
        path = settings.key_dir / key.stored
        if not path.exists():
            continue
        name = f"keys/{key.public}"
        if key.form == "note":
            assert signer is not None
            body = signer.verifier.vkey + "\n"
        else:
            private, _ = _load_private(key, path)
            body = (
                private.public_key()
                .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
                .decode()
            )
        _write_private_file(directory / name, body.encode())
        written.append(name)
    return written


def _write_private_keys(
    directory: Path, settings: Settings, passphrase: str
) -> list[dict[str, Any]]:
    """Each private key as passphrase-encrypted PKCS#8 PEM under ``keys/private/``."""
    out = []
    folder = directory / "keys" / "private"
    folder.mkdir(mode=0o700)
    encryption = BestAvailableEncryption(passphrase.encode())
    for key in _key_files():
        path = settings.key_dir / key.stored
        if not path.exists():
            continue
        private, name = _load_private(key, path)
        pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption)
        rel = f"keys/private/{Path(key.stored).stem}.pem"
        _write_private_file(directory / rel, pem)
        out.append({"file": rel, "restores_to": key.stored, "form": key.form, "name": name})
    return out


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupRefused(
            f"the passphrase must be at least {MIN_PASSPHRASE} characters", field="--passphrase"
        )


def _decrypt_keys(
    directory: Path, manifest: dict[str, Any], passphrase: str, settings: Settings
) -> list[tuple[Path, bytes]]:
    """The key files to write, decrypted; refuses a wrong passphrase or a different key
    already installed (a key is never replaced)."""
    found = []
    for item in manifest["private_keys"] or []:
        try:
            private = load_pem_private_key(
                (directory / item["file"]).read_bytes(), passphrase.encode()
            )
        except (ValueError, TypeError):
            raise BackupRefused(
                "the passphrase does not open the backup's private keys", field="--passphrase"
            ) from None
        if item["form"] == "note":
            body = Signer(item["name"], private).encode().encode()  # type: ignore[arg-type]
        else:
            body = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        target = settings.key_dir / Path(item["restores_to"]).name
        if target.exists():
            key = _KeyFile(target.name, item["form"], "")
            installed, _ = _load_private(key, target)
            if _public_bytes(installed) != _public_bytes(private):
                raise BackupRefused(
                    f"{target} holds a different key; a key is never replaced: move it away "
                    "first, or restore without --with-private-keys",
                    field="--with-private-keys",
                )
            continue
        found.append((target, body))
    return found


def _public_bytes(key: PrivateKeyTypes) -> bytes:
    return key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


# -- restoring -----------------------------------------------------------------------------


def read_manifest(directory: Path) -> dict[str, Any]:
    """The backup's manifest, its format checked and every file's checksum matched."""
    path = directory / MANIFEST
    if not path.is_file():
        raise BackupRefused(
            f"{directory} holds no {MANIFEST}: not a backup, or one that did not finish",
            field="DIR",
        )
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BackupRefused(f"{path} is not JSON", field="DIR") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupRefused(f"{path} is not a {FORMAT} manifest", field="DIR")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise BackupRefused(f"{path} lists no files", field="DIR")
    root = directory.resolve()
    for name, meta in files.items():
        target = (directory / name).resolve()
        if not target.is_relative_to(root):
            raise BackupRefused(f"{MANIFEST} names a file outside the backup ({name})", field="DIR")
        if not target.is_file():
            raise BackupRefused(f"the backup's file {name} is missing", field="DIR")
        if _sha256(target) != meta.get("sha256"):
            raise BackupRefused(
                f"the backup's file {name} does not match its checksum in {MANIFEST}: "
                "it was changed or damaged; refusing to restore it",
                field="DIR",
            )
    return manifest


def restore(
    directory: Path,
    engine: Engine,
    settings: Settings,
    *,
    passphrase: str | None = None,
    verifier: Verifier | None = None,
    progress: Progress | None = None,
) -> Restored:
    """Restore the backup in ``directory`` into the EMPTY database ``engine`` serves.

    Then verifies it as ``audit verify`` does and checks it extends the manifest's signed
    checkpoint, with ``verifier`` (default: the verifier key the manifest names). With
    ``passphrase`` the backup's private keys go into the key directory. Raises BackupRefused
    before writing anything, RestoreUnverified after undoing a restore that did not verify.
    """
    started = time.perf_counter()
    manifest = read_manifest(directory)
    backend = _backend(engine)
    if manifest.get("backend") != backend:
        raise BackupRefused(
            f"this is a {manifest.get('backend')} backup; the database configured is {backend}",
            field="SHAREGUARD_DATABASE_URL",
        )
    tool = client_tool("pg_restore") if backend == "postgresql" else None
    warnings = _revision_warnings(manifest.get("schema_revision"))
    audit = manifest["audit"]
    if verifier is None:
        if not audit.get("verifier_key"):
            raise BackupRefused("the manifest names no verifier key: give --public-key")
        verifier = Verifier.parse(audit["verifier_key"])
    if passphrase is not None and not manifest["private_keys"]:
        raise BackupRefused(
            "this backup holds no private keys (it was made without --include-private-keys)",
            field="--with-private-keys",
        )
    keys = _decrypt_keys(directory, manifest, passphrase, settings) if passphrase else []
    data = _data_to_restore(directory, manifest, settings.data_dir)
    _require_empty(engine)

    if backend == "sqlite":
        _restore_sqlite(directory / SQLITE_FILE, _sqlite_path(engine))
    else:
        assert tool is not None
        conninfo, env = _libpq(engine.url)
        _run(
            [
                tool,
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={conninfo}",
                str(directory / PG_FILE),
            ],
            env,
        )
    try:
        with unit_of_work(engine) as session:
            report = verify_log(session, verifier, progress)
            checkpoint_size = _check_against_manifest(session, report, audit, verifier)
    except BaseException:
        _undo(engine)
        raise

    written: list[str] = []
    for target, body in keys:
        settings.key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private_file(target, body)
        written.append(target.name)
    for source, target in data:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy2(source, target)
    installed = _installed_signer(settings)
    if installed is None:
        warnings.append(
            "no audit signing key is installed: restore the keys (--with-private-keys) or copy "
            "them from the old machine before serving, or new checkpoints are signed by a new key"
        )
    elif installed.verifier.public_key != verifier.public_key:
        warnings.append(
            "the installed audit signing key is not the key that signed the restored log"
        )
    with unit_of_work(engine) as session:
        entry = append(
            session,
            AuditRecord(
                action="backup.restore",
                details={
                    "backup_id": manifest["id"],
                    "backend": backend,
                    "entries": report.entries,
                    "checkpoints": report.checkpoints,
                    "consistent_with_checkpoint": checkpoint_size,
                    "keys_restored": len(written),
                    "files_restored": len(data),
                },
            ),
        )
        entry_id = entry.id
    return Restored(
        manifest["id"],
        backend,
        report,
        checkpoint_size,
        time.perf_counter() - started,
        entry_id,
        written,
        len(data),
        warnings,
    )


def _check_against_manifest(
    session: Session, report: VerifyReport, audit: dict[str, Any], verifier: Verifier
) -> int | None:
    """The restored log verified, has the manifest's size, and extends its signed checkpoint."""
    if not report.ok:
        problem = report.problems[0]
        where = f"entry #{problem.seq}" if problem.seq is not None else "a checkpoint"
        raise RestoreUnverified(
            f"the restored audit log does not verify (at {where}: {problem.message}); "
            "the restore was undone"
        )
    if report.entries != audit["log_size"]:
        raise RestoreUnverified(
            f"the restored log has {report.entries} entries, the manifest records "
            f"{audit['log_size']}; the restore was undone"
        )
    cp = audit.get("checkpoint")
    if not cp:
        return None
    try:
        signed = open_checkpoint(verifier, cp["note"])
    except SignatureInvalid as exc:
        raise RestoreUnverified(
            f"the manifest's checkpoint: {exc.detail}; the restore was undone"
        ) from None
    size = signed.tree_size
    if size > report.entries:
        raise RestoreUnverified(
            f"the manifest's checkpoint signs {size} entries, the restored log has "
            f"{report.entries}; the restore was undone"
        )
    proof = StoredTree(session).consistency_proof(size, report.entries)
    if not merkle.verify_consistency(size, report.entries, signed.root_hash, report.root, proof):
        raise RestoreUnverified(
            f"the restored log does not extend the backup's checkpoint at size {size}; "
            "the restore was undone"
        )
    return size


def _require_empty(engine: Engine) -> None:
    """Refuse a database that holds any table (a restore never merges into one)."""
    where = "SHAREGUARD_DATABASE_URL"
    if _backend(engine) == "sqlite":
        path = Path(_sqlite_path(engine))
        if not path.exists() or path.stat().st_size == 0:
            return
        conn = sqlite3.connect(path)
        try:
            n = conn.execute("SELECT count(*) FROM sqlite_master WHERE type IN ('table','view')")
            tables = n.fetchone()[0]
        finally:
            conn.close()
    else:
        with engine.connect() as c:
            tables = c.execute(
                text(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')"
                    " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                    " AND n.nspname NOT LIKE 'pg_toast%'"
                )
            ).scalar()
    if tables:
        raise BackupRefused(
            "the database is not empty: a backup is restored only into an empty database "
            "(a new file for SQLite; for PostgreSQL `createdb` a new one); "
            "do not run `db upgrade` first, the backup carries its schema",
            field=where,
        )


def _restore_sqlite(backup: Path, target: str) -> None:
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst, pages=-1)
    finally:
        dst.close()
        src.close()


def _undo(engine: Engine) -> None:
    """Remove what a restore wrote into the (previously empty) database."""
    if _backend(engine) == "sqlite":
        engine.dispose()
        path = _sqlite_path(engine)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(path + suffix).unlink(missing_ok=True)
        return
    meta = MetaData()
    with engine.begin() as conn:
        meta.reflect(conn)
        meta.drop_all(conn)


def _revision_warnings(revision: str | None) -> list[str]:
    """Refuse a backup from a newer schema; say when the restored one needs `db upgrade`."""
    if revision is None:
        return []
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(cfg)
    try:
        known = scripts.get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupRefused(
            f"the backup's schema revision {revision} is unknown to this shareguard "
            f"({__version__}): restore it with the version that made it"
        )
    if revision != scripts.get_current_head():
        return [f"the schema is at {revision}: run `shareguard db upgrade` before serving"]
    return []


# -- data files ----------------------------------------------------------------------------


def _copy_data(data_dir: Path, directory: Path) -> list[str]:
    out = []
    (directory / "data").mkdir(mode=0o700)
    for folder in DATA_FOLDERS:
        base = data_dir / folder
        if not base.is_dir():
            continue
        for path in sorted(p for p in base.rglob("*") if p.is_file() and not p.is_symlink()):
            rel = path.relative_to(data_dir).as_posix()
            target = directory / "data" / rel
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copy2(path, target)
            out.append(f"data/{rel}")
    return out


def _data_to_restore(
    directory: Path, manifest: dict[str, Any], data_dir: Path
) -> list[tuple[Path, Path]]:
    """(backup file, target) for each data file not already in place; refuses a different
    file already at a target."""
    out = []
    for name, meta in manifest["files"].items():
        if not name.startswith("data/"):
            continue
        target = data_dir / name.removeprefix("data/")
        if target.exists():
            if _sha256(target) != meta["sha256"]:
                raise BackupRefused(
                    f"{target} exists and differs from the backup's copy: restore into an "
                    "empty data directory",
                    field="SHAREGUARD_DATA_DIR",
                )
            continue
        out.append((directory / name, target))
    return out


# -- plumbing ------------------------------------------------------------------------------


def client_tool(name: str) -> str:
    """The PostgreSQL client ``name`` (pg_dump, pg_restore) found on PATH."""
    found = shutil.which(name)
    if found is None:
        raise BackupRefused(
            f"{name} is not on PATH: install the PostgreSQL client tools (the same major "
            "version as the server or newer, e.g. apt-get install postgresql-client)",
            field="PATH",
        )
    return found


def _backend(engine: Engine) -> str:
    name = engine.dialect.name
    if name not in {"sqlite", "postgresql"}:
        raise BackupRefused(f"backups support SQLite and PostgreSQL, not {name}")
    return name


def _sqlite_path(engine: Engine) -> str:
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise BackupRefused("an in-memory SQLite database cannot be backed up or restored")
    return path


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for ``url`` without its password, which goes in the
    environment (PGPASSWORD), never on a command line other users can read."""
    url = make_url(url) if isinstance(url, str) else url
    parts: dict[str, str] = {}
    if url.host:
        parts["host"] = url.host
    if url.port:
        parts["port"] = str(url.port)
    if url.username:
        parts["user"] = url.username
    if url.database:
        parts["dbname"] = url.database
    for key, value in url.query.items():
        if key in _LIBPQ_QUERY:
            parts[key] = value if isinstance(value, str) else value[-1]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return " ".join(f"{k}={_quote(v)}" for k, v in parts.items()), env


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # Only the tools' own "error:" lines: their DETAIL and CONTEXT lines can quote rows.
        errors = [line[:200] for line in done.stderr.splitlines() if ": error:" in line]
        tool = Path(argv[0]).name
        raise BackupRefused(
            f"{tool} failed (exit {done.returncode})"
            + (f": {errors[0]}" if errors else "; nothing was kept")
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_entry(path: Path) -> dict[str, Any]:
    return {"sha256": _sha256(path), "bytes": path.stat().st_size}


def _write_private_file(path: Path, body: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())


def _write_atomically(path: Path, body: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    _write_private_file(tmp, body.encode())
    os.replace(tmp, path)


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
