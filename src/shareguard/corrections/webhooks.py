"""Webhook signing, the retry schedule and URL safety: pure functions (resolution aside).

A recipient verifies a pushed notice by recomputing
``HMAC-SHA256(secret, f"{t}.{body}")`` and comparing it with the ``v1`` value of the
``Shareguard-Signature: t=<unix seconds>,v1=<hex>`` header, rejecting stale timestamps so a
captured delivery cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

import httpx

SIGNATURE_HEADER = "Shareguard-Signature"
#: Seconds a signature stays acceptable to a verifier (replay window).
DEFAULT_TOLERANCE = 300
#: Delays after the 1st, 2nd, ... failed attempt; then the delivery is given up.
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
MAX_ATTEMPTS = 8


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>." + body`` under ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Shareguard-Signature`` header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def parse_header(header: str) -> tuple[int, list[str]]:
    """``(timestamp, [v1 signatures])`` from a header; raises ValueError if malformed."""
    timestamp: int | None = None
    sigs: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise ValueError("signature header parts must be key=value")
        if key == "t":
            timestamp = int(value)
        elif key == "v1":
            sigs.append(value)
    if timestamp is None or not sigs:
        raise ValueError("signature header needs t= and v1=")
    return timestamp, sigs


def verify(
    secret: str, header: str, body: bytes, *, now: int, tolerance: int = DEFAULT_TOLERANCE
) -> bool:
    """True if ``header`` signs ``body`` under ``secret``, within ``tolerance`` s of ``now``."""
    try:
        timestamp, sigs = parse_header(header)
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in sigs)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failures: 30 s doubling, capped at 6 h."""
    if attempts < 1:
        return timedelta(0)
    return min(BASE_DELAY * (2 ** (attempts - 1)), MAX_DELAY)


def schedule(max_attempts: int = MAX_ATTEMPTS) -> list[timedelta]:
    """Every delay a delivery can wait, in order (``max_attempts - 1`` retries)."""
    return [backoff(n) for n in range(1, max_attempts)]


# URL safety ---------------------------------------------------------------------------------
#: Host names that never leave the machine or the private network, whatever DNS says.
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "metadata.google.internal")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".lan")


class Target(NamedTuple):
    """A webhook URL taken apart: where to connect and what to say in Host and SNI."""

    host: str
    port: int
    path: str


def public_ip(address: str) -> bool:
    """True for a globally routable unicast address: not loopback, link-local (cloud
    metadata lives there), private, shared (CGNAT), documentation, multicast or reserved."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_global) and not ip.is_multicast


def check_url(url: str) -> Target:
    """Parse a webhook URL properly and refuse an unsafe one (ValueError says why).

    https only; no user name or password in it; a host that is a public IP address or a
    name that is not a local one. Names are resolved and checked again at delivery
    (``resolve_public``), since DNS can point anywhere.
    """
    if any(ch.isspace() or ord(ch) < 32 for ch in url) or "\\" in url:
        raise ValueError("a webhook URL may not contain spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.scheme.lower() != "https":
        raise ValueError("a webhook URL must use https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("a webhook URL may not carry a user name or password")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise ValueError("a webhook URL needs a host")
    if parts.fragment:
        raise ValueError("a webhook URL may not have a fragment")
    try:
        ipaddress.ip_address(host)
        literal = True
    except ValueError:
        literal = False
    if literal:
        if not public_ip(host):
            raise ValueError("a webhook URL may not point at a loopback, private or local address")
    elif host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES) or "." not in host:
        raise ValueError("a webhook URL may not point at a local host name")
    elif not all(label and len(label) <= 63 for label in host.split(".")) or (
        host.rsplit(".", 1)[-1].isdigit() or host.startswith("0x")
    ):
        # A numeric last label is an address in disguise (127.1, 0x7f.1), never a name.
        raise ValueError("not a valid host name")
    return Target(
        host, port or 443, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    )


Resolver = Callable[..., Sequence[tuple[Any, ...]]]


def resolve_public(target: Target, resolver: Resolver = socket.getaddrinfo) -> str:
    """The address to connect to: every address the host resolves to must be public.

    ValueError if resolution fails or any address is not public (a name that resolves
    partly to an internal address is refused whole, against DNS rebinding tricks).
    """
    try:
        infos = resolver(target.host, target.port, proto=socket.IPPROTO_TCP)
    except OSError:
        raise ValueError("the webhook host could not be resolved") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise ValueError("the webhook host could not be resolved")
    if not all(public_ip(a) for a in addresses):
        raise ValueError("the webhook host resolves to a loopback, private or local address")
    return addresses[0]


def post(http: Any, url: str, body: bytes, headers: dict[str, str], resolver: Resolver) -> Any:
    """Send one webhook: the one way shareguard calls a partner's URL.

    Checks the URL again, resolves its host with ``resolver`` (every address public) and
    posts to the checked address, the name kept in Host and TLS SNI; redirects are not
    followed. ValueError when the URL or what it resolves to is refused; ``http``'s own
    errors (``httpx.HTTPError``) otherwise.
    """
    target = check_url(url)
    address = resolve_public(target, resolver)
    host = target.host if target.port == 443 else f"{target.host}:{target.port}"
    return http.post(
        pinned_url(target, address),
        content=body,
        headers={**headers, "Host": host},
        extensions={"sni_hostname": target.host},
        follow_redirects=False,
    )


#: Seconds to wait for a recipient's webhook endpoint.
TIMEOUT = 10.0


@contextmanager
def http_client(client: httpx.Client | None) -> Iterator[httpx.Client]:
    """The caller's HTTP client, or one of our own closed afterwards."""
    if client is not None:
        yield client
        return
    with httpx.Client(timeout=TIMEOUT) as own:
        yield own


class Delivery(Protocol):
    """A row that records one webhook's tries (a notice's or a request's delivery)."""

    id: Any
    state: str
    attempts: int
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    next_attempt_at: datetime


def attempt(
    delivery: Delivery,
    url: str | None,
    secret: str | None,
    payload: dict[str, Any] | None,
    http: Any,
    now: datetime,
    resolver: Resolver,
) -> str:
    """Try ``delivery`` once: sign ``payload`` and ``post`` it, then record the outcome on the
    row (delivered; retrying after ``backoff``; or failed after ``MAX_ATTEMPTS``, or at once
    when there is no URL, secret or payload). Returns delivered, retrying or failed."""
    delivery.attempts += 1
    if not url or not secret or payload is None:
        delivery.state = "failed"
        delivery.last_error = "no webhook configured"
        return "failed"
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, int(now.timestamp()), body),
        "Shareguard-Delivery": str(delivery.id),
    }
    try:
        response = post(http, url, body, headers, resolver)
        delivery.last_status_code = response.status_code
        ok = 200 <= response.status_code < 300
        delivery.last_error = "" if ok else f"HTTP {response.status_code}"
    except ValueError as exc:
        ok = False
        delivery.last_error = f"refused: {exc}"[:200]
    except httpx.HTTPError as exc:
        ok = False
        delivery.last_error = type(exc).__name__
    if ok:
        delivery.state = "delivered"
        delivery.delivered_at = now
        return "delivered"
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.state = "failed"
        return "failed"
    delivery.next_attempt_at = now + backoff(delivery.attempts)
    return "retrying"


def pinned_url(target: Target, address: str) -> str:
    """The URL with its host replaced by the checked address (Host and SNI keep the name)."""
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}:{target.port}{target.path}"
