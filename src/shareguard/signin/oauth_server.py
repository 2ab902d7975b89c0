"""Authlib's authorisation server on Starlette: the request and response adaptors.

Authlib ships server integrations for Flask and Django only; its server core is framework
free. ``Server`` gives it a request it can read (the query and an already-read form, as
Authlib reads both synchronously) and turns its answers into Starlette responses. Used by
the partners' token endpoint (``signin.clients``) and by the tests' OpenID provider.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import Response


class FormPayload(OAuth2Payload):
    """The request's parameters: the form's, then the query's (as Flask's ``values``)."""

    def __init__(self, query: QueryParams, form: FormData | None) -> None:
        self._lists: defaultdict[str, list[Any]] = defaultdict(list)
        for source in (form, query):
            if source is not None:
                for key, value in source.multi_items():
                    if isinstance(value, str):
                        self._lists[key].append(value)
        self._data = {k: v[0] for k, v in self._lists.items()}

    @property
    def data(self) -> dict[str, Any]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[Any]]:
        return self._lists


class StarletteOAuth2Request(OAuth2Request):
    """``uri`` is the endpoint's public URL when known (behind a proxy ending TLS, the URL the
    client used, which Authlib requires to be HTTPS outside loopback)."""

    def __init__(self, request: Request, form: FormData | None, uri: str = "") -> None:
        super().__init__(
            method=request.method, uri=uri or str(request.url), headers=request.headers
        )
        self._query = request.query_params
        self._form = form
        self.payload = FormPayload(request.query_params, form)

    @property
    def args(self) -> Mapping[str, str]:
        return self._query

    @property
    def form(self) -> Mapping[str, str]:
        return {k: v for k, v in (self._form or {}).items() if isinstance(v, str)}


class Server(AuthorizationServer):
    """An Authlib authorisation server answering Starlette requests.

    Call ``create_token_response(request_and_form)`` with ``(request, await request.form())``
    or ``(request, form, public_uri)``.
    """

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return StarletteOAuth2Request(*request)

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints are served")

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        if isinstance(body, dict):
            body = json.dumps(body)
        return Response(body, status_code=status, headers=dict(headers or []))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's signals (client authenticated, token revoked): nothing listens."""
