"""Turning audit rows into API shapes (shared by the API and the CLI)."""

from __future__ import annotations

import base64
import dataclasses

from shareguard.audit.models import AuditCheckpoint, AuditEntry
from shareguard.audit.schemas import AccessLogItemOut, CheckpointOut, EntryOut, PublicKeyOut
from shareguard.audit.service import AccessLogItem
from shareguard.audit.signing import Verifier


def b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode()


def public_key_out(v: Verifier) -> PublicKeyOut:
    return PublicKeyOut(
        key_name=v.name, key_id=v.key_id.hex(), public_key=b64(v.public_key), vkey=v.vkey
    )


def checkpoint_out(cp: AuditCheckpoint) -> CheckpointOut:
    return CheckpointOut(
        id=cp.id,
        tree_size=cp.tree_size,
        root_hash=b64(cp.root_hash),
        origin=cp.origin,
        created_at=cp.created_at,
        note=cp.note,
    )


def entry_out(e: AuditEntry) -> EntryOut:
    assert e.seq is not None and e.leaf_hash is not None, "an integrated entry"
    return EntryOut(
        id=e.id,
        seq=e.seq,
        at=e.at,
        action=e.action,
        actor_org_id=e.actor_org_id,
        actor_user_id=e.actor_user_id,
        agreement_id=e.agreement_id,
        purpose=e.purpose,
        subject_ref=e.subject_ref,
        decision=e.decision,
        reasons=list(e.reasons or []),
        payload_hash=e.payload_hash,
        details=dict(e.details or {}),
        leaf_hash=b64(e.leaf_hash),
    )


def access_item_out(item: AccessLogItem, *, staff: bool) -> AccessLogItemOut:
    data = dataclasses.asdict(item)
    if not staff:
        data["exemption_reason"] = None
    return AccessLogItemOut(**data)
