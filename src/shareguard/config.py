"""Settings from the environment (``SHAREGUARD_*``), one object for the whole process."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-outside-demo"


def default_data_dir() -> Path:
    return Path.cwd() / "var"


class Settings(BaseSettings):
    """Every knob shareguard reads; documented in README's Configuration table."""

    model_config = SettingsConfigDict(env_prefix="SHAREGUARD_", env_file=None, extra="ignore")

    #: ``demo`` allows the default secret and prints demo credentials; ``production`` refuses both.
    mode: str = "demo"
    #: Where the SQLite database, audit signing key and match-run outputs live.
    data_dir: Path = default_data_dir()
    #: SQLAlchemy URL; empty means SQLite at ``<data_dir>/shareguard.db``.
    database_url: str = ""
    #: SQLite ``synchronous`` pragma: FULL survives power loss; see docs/audit.md.
    sqlite_synchronous: str = "FULL"
    #: Signs console session cookies and CSRF tokens.
    secret_key: str = DEFAULT_SECRET
    #: Console session lifetime in seconds.
    session_max_age: int = 30 * 60
    #: Origin line of audit checkpoints (C2SP signed-note format).
    log_origin: str = "shareguard.example/audit"
    #: Seconds between scheduled checkpoints while serving (0 disables the schedule).
    checkpoint_interval: int = 300
    #: Run an audit integrator candidate in each ``serve`` process (see docs/audit.md).
    integrator: bool = True
    #: Most entries the integrator numbers and hashes in one transaction.
    integrate_batch: int = 256
    #: Seconds the integrator waits when fewer than a batch were pending.
    integrate_interval: float = 0.25
    host: str = "127.0.0.1"
    port: int = 8000
    #: ``module:callable`` returning the sender of the person's one-time sign-in codes
    #: (see ``shareguard.signin.delivery``). Unset: demo mode shows the code on screen as a
    #: demo convenience; every other mode refuses to sign people in.
    person_code_sender: str = ""
    #: How the person signs in: ``oidc`` (GOV.UK One Login's shape; the default in
    #: production) or ``code`` (details and a one-time code; the default elsewhere).
    person_sign_in: str = ""
    #: The person's OpenID provider (its issuer URL; discovery finds the rest) and the
    #: client id it registered for shareguard.
    person_oidc_issuer: str = ""
    person_oidc_client_id: str = ""
    #: Authentication and identity level asked for (One Login's ``vtr``); the ID token's
    #: ``vot`` must be one of the levels listed.
    person_oidc_vtr: str = "Cl.Cm.P2"
    #: Who signs the identity claim (``coreIdentityJWT``) and where its public keys are: a
    #: DID document or a JWKS URL. Empty: ``<identity issuer>/.well-known/did.json``.
    person_oidc_identity_issuer: str = ""
    person_oidc_identity_keys: str = ""
    #: The identity level the identity claim's ``vot`` must reach.
    person_oidc_identity_level: str = "P2"
    #: How staff sign in: ``oidc`` (the department's provider; the default in production,
    #: where local passwords are refused) or ``password``.
    staff_sign_in: str = ""
    staff_oidc_issuer: str = ""
    staff_oidc_client_id: str = ""
    #: Optional: a client secret instead of the signed client assertion (private_key_jwt).
    staff_oidc_client_secret: str = ""
    #: The file mapping the provider's claims (e.g. ``groups``) to organisations and roles,
    #: and saying what multi-factor authentication is required (docs/sign-in.md).
    staff_oidc_mapping: Path | None = None
    #: This service's external URL (for redirect URIs and the token endpoint's audience);
    #: empty: taken from each request.
    public_url: str = ""
    #: Lifetime of an access token issued for a partner's signed client assertion.
    partner_token_seconds: int = 300

    #: Retention of records made under no agreement (``agreements.retention`` rule form).
    retention_share_codes: str = "P30D after expiry"
    retention_credentials: str = "P1Y after expiry"
    #: Seconds between scheduled retention runs while serving (0 disables the schedule;
    #: ``shareguard retention run`` from cron does the same work).
    retention_interval: int = 24 * 60 * 60
    #: Bearer token for ``/metrics``. Empty: outside demo and test mode ``/metrics`` answers
    #: only clients on this machine (a Prometheus scraping over loopback or a sidecar).
    metrics_token: str = ""
    #: ``text`` (default) or ``json``: one JSON object per log line, with request ids.
    log_format: str = "text"
    #: Seconds without integration while entries wait before ``/readyz`` reports the
    #: integrator stuck.
    ready_integration_lag: float = 60.0
    #: DuckDB's memory limit for a match run (its ``memory_limit``: ``2GB``, ``512MB``...).
    #: Past it DuckDB spills to ``match_temp_dir`` rather than failing (docs/matching.md).
    match_memory_limit: str = "2GB"
    #: Where a match run's DuckDB database, prepared partner file and spill files live
    #: while it links; empty: ``<data_dir>/matching/tmp``.
    match_temp_dir: Path | None = None
    #: DuckDB threads for a match run; 0: one per core.
    match_threads: int = 0

    @field_validator("mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        if value not in {"demo", "production", "test"}:
            raise ValueError("SHAREGUARD_MODE must be demo, production or test")
        return value

    @field_validator("retention_share_codes", "retention_credentials")
    @classmethod
    def _retention_rule(cls, value: str) -> str:
        # The agreements package imports this module (through storage): a real cycle.
        from shareguard.agreements.retention import parse_rule

        parse_rule("share_code", value)
        return value

    @field_validator("person_sign_in")
    @classmethod
    def _known_person_sign_in(cls, value: str) -> str:
        if value not in {"", "oidc", "code"}:
            raise ValueError("SHAREGUARD_PERSON_SIGN_IN must be oidc or code")
        return value

    @field_validator("staff_sign_in")
    @classmethod
    def _known_staff_sign_in(cls, value: str) -> str:
        if value not in {"", "oidc", "password"}:
            raise ValueError("SHAREGUARD_STAFF_SIGN_IN must be oidc or password")
        return value

    @field_validator("partner_token_seconds")
    @classmethod
    def _short_lived(cls, value: int) -> int:
        if not 30 <= value <= 3600:
            raise ValueError("SHAREGUARD_PARTNER_TOKEN_SECONDS must be between 30 and 3600")
        return value

    @field_validator("log_format")
    @classmethod
    def _known_log_format(cls, value: str) -> str:
        if value not in {"text", "json"}:
            raise ValueError("SHAREGUARD_LOG_FORMAT must be text or json")
        return value

    @field_validator("match_memory_limit")
    @classmethod
    def _memory_size(cls, value: str) -> str:

        if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", value):
            raise ValueError("SHAREGUARD_MATCH_MEMORY_LIMIT must be a size such as 2GB or 512MB")
        return value.strip()

    @field_validator("sqlite_synchronous")
    @classmethod
    def _known_sync(cls, value: str) -> str:
        value = value.upper()
        if value not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError("SHAREGUARD_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")
        return value

    @field_validator("integrate_batch", "integrate_interval")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("SHAREGUARD_INTEGRATE_BATCH and _INTERVAL must be positive")
        return value

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if self.mode == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError("set SHAREGUARD_SECRET_KEY: the default secret is for demo mode only")
        if self.mode == "production" and self.staff_method == "password":
            raise ValueError(
                "SHAREGUARD_STAFF_SIGN_IN=password is refused in production: staff sign in "
                "through the department's OpenID provider (SHAREGUARD_STAFF_OIDC_*)"
            )
        return self

    @property
    def person_method(self) -> str:
        """``oidc`` or ``code``: as configured, else ``oidc`` in production."""
        return self.person_sign_in or ("oidc" if self.mode == "production" else "code")

    @property
    def staff_method(self) -> str:
        """``oidc`` or ``password``: as configured, else ``oidc`` in production."""
        return self.staff_sign_in or ("oidc" if self.mode == "production" else "password")

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'shareguard.db'}"

    @property
    def key_dir(self) -> Path:
        """Signing keys live outside the database, beside it by default."""
        return self.data_dir / "keys"


def is_loopback(host: str) -> bool:
    """True for an address or name that only this machine can reach."""
    if host.strip("[]").lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serving_refusal(settings: Settings) -> str | None:
    """Why these settings must not serve at all (None if they may)."""
    if settings.mode != "demo" and settings.secret_key == DEFAULT_SECRET:
        return (
            f"refusing to serve in {settings.mode} mode with the public default secret: "
            "set SHAREGUARD_SECRET_KEY to a long random value"
        )
    return None


def serving_warning(settings: Settings, host: str) -> str | None:
    """A loud warning for demo mode reachable from other machines (None otherwise)."""
    if settings.mode != "demo" or is_loopback(host):
        return None
    default = settings.secret_key == DEFAULT_SECRET
    return (
        f"DEMO MODE is listening on {host}, reachable from other machines. Demo mode shows "
        "one-time sign-in codes on screen"
        + (
            " and signs sessions with the PUBLIC default secret, so anyone who can reach "
            "this port can forge an officer's session"
            if default
            else ""
        )
        + ". Use it on 127.0.0.1 only, or set SHAREGUARD_MODE=production and "
        "SHAREGUARD_SECRET_KEY."
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
