"""Request limits applied before anything parses a request, or authenticates it.

``BodyLimit`` is the outermost middleware. It refuses a body larger than its route's limit
(413) from the ``Content-Length`` header alone, and counts a body sent without one as it
arrives, so a caller without a key cannot make the server read and parse 50 MB. For the
JSON API it also screens what the parsers would choke on or the database would refuse: a
NUL in a query parameter or a JSON string, or a lone surrogate (``"\\ud800"``, which no
UTF-8 writer can encode) in a JSON string (422 naming the field), and JSON nested deeper
than ``MAX_JSON_DEPTH`` (422). The limits are listed in docs/security.md.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shareguard.errors import ShareguardError

KB, MB = 1024, 1024 * 1024

#: (path prefix, largest body in bytes); the first prefix that matches wins.
ROUTE_LIMITS: tuple[tuple[str, int], ...] = (
    ("/api/v1/matching/datasets", 256 * MB),  # a partner's file for a match run
    ("/api/v1/inbound/files", 256 * MB),  # a partner's file sent in (streamed, like a dataset)
    ("/inbound/new", 256 * MB),  # the console's "Send records": the same file as the API's
    ("/agreements/new", 4 * MB),  # the page itself explains its 256 KB file limit
    ("/credentials/verify", 1 * MB),  # a pasted or uploaded credential (page limit 200 KB)
    ("/api/", 128 * KB),  # every other JSON request
    ("/", 64 * KB),  # every other console form
)
#: Bodies without a Content-Length up to this size are read whole, then screened.
MAX_JSON_DEPTH = 32
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
#: A JSON escape of a NUL or a surrogate: only then is the body parsed here.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
#: A NUL or a surrogate left unpaired by the JSON parser.
_UNWRITABLE = re.compile("[\x00\ud800-\udfff]")


class PayloadTooLarge(ShareguardError):
    status = 413
    title = "Request body too large"
    slug = "payload-too-large"


def limit_for(path: str) -> int:
    for prefix, limit in ROUTE_LIMITS:
        if path.startswith(prefix):
            return limit
    return ROUTE_LIMITS[-1][1]


def json_depth(body: bytes) -> int:
    """How deeply ``body`` nests arrays and objects, without parsing it (strings skipped)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub(b'""', body)):
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def unwritable_path(value: Any, path: str = "") -> tuple[str, str] | None:
    """(field, why) for the first string holding a NUL or a lone surrogate (the field as
    ``parties[1].title``), or None."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if found := _UNWRITABLE.search(item):
                return where or "body", _why(found.group())
        elif isinstance(item, dict):
            for key, child in item.items():
                if found := _UNWRITABLE.search(key):
                    return where or "body", _why(found.group())
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


def _why(char: str) -> str:
    if char == "\x00":
        return "a NUL character is not allowed"
    return "an unpaired surrogate (\\ud800 to \\udfff without its pair) is not allowed"


def _problem(status: int, title: str, detail: str, field: str | None, path: str) -> bytes:
    body: dict[str, Any] = {
        "type": "about:blank"
        if status == 413
        else "https://shareguard.example/problems/invalid-input",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": path,
    }
    if field:
        body |= {"field": field, "errors": [{"field": field, "message": detail}]}
    return json.dumps(body).encode()


class BodyLimit:
    """Pure ASGI middleware: per-route body limits and input screening, before any parsing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        api = path.startswith("/api/")
        if "\x00" in path:
            await self._refuse(send, 404, "Not found", "no such path", None, path, api)
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            name = next(
                (k for k, v in parse_qsl(query.decode("latin-1"), True) if "\x00" in k + v), ""
            )
            await self._refuse(
                send,
                422,
                "Invalid input",
                "a NUL character is not allowed",
                name or "query",
                path,
                api,
            )
            return
        limit = limit_for(path)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(send, limit, path, api)
            return
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if api and content_type.endswith(b"json") and scope.get("method") not in ("GET", "HEAD"):
            body = await _read_all(receive, limit)
            if body is None:
                await self._too_large(send, limit, path, api)
                return
            problem = _screen_json(body)
            if problem is not None:
                await self._refuse(send, 422, "Invalid input", problem[1], problem[0], path, api)
                return
            await self.app(scope, _replay(body), send)
            return
        await self.app(scope, _counting(receive, limit), send)

    async def _too_large(self, send: Send, limit: int, path: str, api: bool) -> None:
        detail = f"the request body is larger than this route accepts ({limit // KB:,} KB)"
        await self._refuse(send, 413, "Request body too large", detail, None, path, api)

    async def _refuse(
        self,
        send: Send,
        status: int,
        title: str,
        detail: str,
        field: str | None,
        path: str,
        api: bool,
    ) -> None:
        if api:
            body, media = _problem(status, title, detail, field, path), b"application/problem+json"
        else:
            body = (
                f"<!DOCTYPE html><html lang=en><title>{title}</title>"
                f"<h1>{title}</h1><p>{detail[:1].upper() + detail[1:]}.</p></html>"
            ).encode()
            media = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", media),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _screen_json(body: bytes) -> tuple[str, str] | None:
    """(field, why) for JSON the app must not parse: too deep, or a string holding a NUL or
    a lone surrogate (the database, the audit log and the policy engine cannot write either)."""
    if json_depth(body) > MAX_JSON_DEPTH:
        return "body", f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep"
    if not _SUSPECT_ESCAPE.search(body):
        return None
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None  # the app's own parser answers malformed JSON with a 422
    return unwritable_path(parsed)


async def _read_all(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _counting(receive: Receive, limit: int) -> Receive:
    """Pass the body through, refusing (413) once more than ``limit`` bytes have come."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise PayloadTooLarge(
                    f"the request body is larger than this route accepts ({limit // KB:,} KB)"
                )
        return message

    return counted
