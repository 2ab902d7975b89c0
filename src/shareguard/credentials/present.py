"""Credentials in the API's shapes: the record and the ``.jwt`` download (shared by the API
and the person's console)."""

from __future__ import annotations

from fastapi.responses import Response

from shareguard.credentials import format as fmt
from shareguard.credentials.models import Credential
from shareguard.credentials.schemas import CredentialOut

#: Where the API serves credentials (their download and page links).
BASE = "/api/v1/credentials"


def credential_out(row: Credential) -> CredentialOut:
    out = CredentialOut.model_validate(row)
    out.download_url = f"{BASE}/{row.id}/download"
    out.page_url = f"{BASE}/{row.id}/page"
    return out


def credential_file(row: Credential) -> Response:
    """The credential as a ``.jwt`` download (the API's and the person's console's)."""
    return Response(
        row.token + "\n",
        media_type=fmt.MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="credential-{row.id}.jwt"',
            "Cache-Control": "no-store",
        },
    )
