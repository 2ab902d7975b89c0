"""Audit operations: checkpoints, proofs, the entries tail, "who checked my data", exemptions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation, Role
from shareguard.accounts.principal import Principal
from shareguard.agreements.models import Agreement
from shareguard.audit import log
from shareguard.audit.integrator import catch_up
from shareguard.audit.log import AuditRecord, StoredTree, entry_document
from shareguard.audit.models import AuditCheckpoint, AuditEntry, AuditExemption
from shareguard.audit.proofs import consistency_bundle, inclusion_bundle
from shareguard.audit.signing import Signer, Verifier, load_or_create, sign_checkpoint
from shareguard.audit.verify import Progress, VerifyReport, verify_log
from shareguard.config import Settings, get_settings
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.storage.base import utcnow

#: Seconds ``checkpoint`` waits for a running integrator to integrate what is pending.
CATCH_UP_SECONDS = 10.0
#: Roles that may read the raw log (tail, proofs naming any entry).
LOG_READERS = (Role.AUDITOR, Role.GOVERNANCE_OFFICER)
#: Roles that may read any person's access log.
ACCESS_LOG_READERS = (Role.CASEWORKER, Role.AUDITOR)
#: Roles that may ask for or approve an exemption from subject access.
EXEMPTION_ROLES = (Role.CASEWORKER, Role.GOVERNANCE_OFFICER)


@dataclass(frozen=True)
class AccessLogItem:
    """One line of a person's "who checked my data" view."""

    #: None while the entry waits for the integrator (it is on the log, not yet in the tree).
    seq: int | None
    at: datetime | None
    action: str | None
    organisation: str | None
    agreement_reference: str | None
    purpose: str | None
    outcome: str | None
    #: "withheld under <exemption>" when an exemption from subject access applies.
    withheld: str | None = None
    exemption_reason: str | None = None
    #: The statute and section the sharing relies on, so the person sees the legal basis.
    legal_gateway: str | None = None
    #: Who the data flowed from and to (organisation names), when the entry records a flow.
    discloser: str | None = None
    recipient: str | None = None
    entry_id: uuid.UUID | None = None
    #: "details deleted on DATE under the retention rule of AGREEMENT" once retention
    #: removed the personal data the entry's record held (the entry itself is never touched).
    deleted: str | None = None


#: Notes later packages add to entries of "who checked my data" (retention's deletion line):
#: each takes the entries' ids and returns a note per id it has something to say about.
EntryNotes = Callable[[Session, list[uuid.UUID]], dict[uuid.UUID, str]]
ENTRY_NOTES: list[EntryNotes] = []


def signer_for(settings: Settings) -> Signer:
    return load_or_create(settings.key_dir, settings.log_origin)


class AuditService:
    def __init__(self, session: Session, settings: Settings | None = None) -> None:
        self.session = session
        self.settings = settings or get_settings()
        self._signer: Signer | None = None

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            self._signer = signer_for(self.settings)
        return self._signer

    def public_key(self) -> Verifier:
        return self.signer.verifier

    # checkpoints ----------------------------------------------------------------------
    def checkpoint(self) -> AuditCheckpoint:
        """Integrate what is pending, then sign the tree head (none if the log has not grown).

        Flushed in the caller's unit of work (the boundary, or the integrator, commits).

        When a running integrator holds the role, waits (up to ``CATCH_UP_SECONDS``) for it to
        integrate what is pending. Concurrent signers are harmless: a tree of a given size
        never changes, and ``verify`` checks checkpoints in size order.
        """
        self.session.flush()
        catch_up(self.session, CATCH_UP_SECONDS)
        tree = StoredTree(self.session)
        size = tree.size()
        latest = self.latest_checkpoint()
        if latest is not None and latest.tree_size >= size:
            return latest
        root = tree.root(size)
        at = utcnow()
        signer = self.signer
        cp = AuditCheckpoint(
            tree_size=size,
            root_hash=root,
            origin=signer.name,
            key_id=signer.verifier.key_id.hex(),
            note=sign_checkpoint(signer, signer.name, size, root, at),
            created_at=at,
        )
        self.session.add(cp)
        self.session.flush()
        return cp

    def latest_checkpoint(self) -> AuditCheckpoint | None:
        stmt = select(AuditCheckpoint).order_by(
            AuditCheckpoint.tree_size.desc(), AuditCheckpoint.id.desc()
        )
        return self.session.scalars(stmt.limit(1)).first()

    def checkpoint_at(self, size: int) -> AuditCheckpoint | None:
        stmt = (
            select(AuditCheckpoint)
            .where(AuditCheckpoint.tree_size == size)
            .order_by(AuditCheckpoint.id)
        )
        return self.session.scalars(stmt.limit(1)).first()

    # proofs ---------------------------------------------------------------------------
    def inclusion(
        self, seq: int, size: int | None = None, *, sign_if_needed: bool = False
    ) -> dict[str, Any]:
        """An inclusion proof bundle for entry ``seq``; by default against the latest checkpoint.

        With ``sign_if_needed`` a new checkpoint is made when none covers the entry yet.
        """
        entry = log.entry(self.session, seq)
        if size is None:
            latest = self.latest_checkpoint()
            if (latest is None or latest.tree_size <= seq) and sign_if_needed:
                latest = self.checkpoint()
            if latest is None or latest.tree_size <= seq:
                raise Conflict(
                    f"no checkpoint covers entry #{seq} yet; make one with "
                    "`shareguard audit checkpoint`"
                )
            size = latest.tree_size
        tree = StoredTree(self.session)
        proof = tree.inclusion_proof(seq, size)
        cp = self.checkpoint_at(size)
        return inclusion_bundle(
            entry_document(entry), size, proof, cp.note if cp else None, tree.root(size)
        )

    def entry_proof(self, entry_id: uuid.UUID) -> tuple[AuditEntry, dict[str, Any] | None]:
        """An entry by id and its inclusion bundle, or None while it waits for the integrator.

        A checkpoint is signed (and stored, in the caller's transaction) when none covers the
        integrated entry yet, so the bundle can always be checked with the public key alone.
        NotFound when there is no such entry.
        """
        entry = log.entry_by_id(self.session, entry_id)
        if entry.seq is None:
            return entry, None
        return entry, self.inclusion(entry.seq, sign_if_needed=True)

    def consistency(self, old_size: int, new_size: int | None = None) -> dict[str, Any]:
        """A consistency proof bundle between two tree sizes (default new: latest checkpoint)."""
        if new_size is None:
            latest = self.latest_checkpoint()
            if latest is None:
                raise NotFound("no checkpoint yet")
            new_size = latest.tree_size
        if old_size > new_size:
            raise InvalidInput("old size is larger than new size", field="old")
        tree = StoredTree(self.session)
        proof = tree.consistency_proof(old_size, new_size)
        old_cp, new_cp = self.checkpoint_at(old_size), self.checkpoint_at(new_size)
        return consistency_bundle(
            old_size,
            new_size,
            proof,
            old_cp.note if old_cp else None,
            new_cp.note if new_cp else None,
            tree.root(old_size),
            tree.root(new_size),
        )

    # reading --------------------------------------------------------------------------
    def tail(
        self, principal: Principal, limit: int = 20, *, pending: bool = False
    ) -> list[AuditEntry]:
        """The newest entries, newest first; with ``pending``, entries not yet integrated
        (no ``seq`` yet) come first."""
        principal.require(*LOG_READERS)
        return log.tail(self.session, limit, pending=pending)

    def page(
        self, principal: Principal, *, action: str = "", limit: int = 50, offset: int = 0
    ) -> tuple[list[AuditEntry], int]:
        """One page of the log, newest first, and the number of entries (see ``log.page``)."""
        principal.require(*LOG_READERS)
        return log.page(self.session, action=action, limit=limit, offset=offset)

    def verify(
        self, verifier: Verifier | None = None, progress: Progress | None = None
    ) -> VerifyReport:
        return verify_log(self.session, verifier or self.public_key(), progress)

    # who checked my data --------------------------------------------------------------
    def access_log(self, person_id: uuid.UUID, principal: Principal) -> list[AccessLogItem]:
        """Every entry about one person, oldest first; the person sees exempted ones as withheld.

        Staff (caseworker, auditor) see everything, including the exemption and its reason.
        """
        is_person = principal.person_id is not None and principal.person_id == person_id
        if not is_person and not principal.has(*ACCESS_LOG_READERS):
            raise Forbidden("only the person, a caseworker or an auditor may read this access log")
        ref = str(person_id)
        # Integrated entries in log order, then those still waiting for the integrator.
        order = (AuditEntry.seq.is_(None), AuditEntry.seq, AuditEntry.at, AuditEntry.id)
        entries = list(
            self.session.scalars(
                select(AuditEntry).where(AuditEntry.subject_ref == ref).order_by(*order)
            )
        )
        seqs = [e.seq for e in entries if e.seq is not None]
        exemptions: dict[int, AuditExemption] = {}
        if seqs:
            for row in self.session.scalars(
                select(AuditExemption).where(AuditExemption.entry_seq.in_(seqs))
            ):
                exemptions.setdefault(row.entry_seq, row)
        party_ids: set[uuid.UUID | None] = {e.actor_org_id for e in entries}
        for e in entries:
            for key in ("discloser", "recipient"):
                party_ids.add(_uuid((e.details or {}).get(key)))
        orgs = self._names(Organisation, Organisation.name, party_ids)
        refs = self._names(Agreement, Agreement.reference, {e.agreement_id for e in entries})
        gateways = {
            i: " ".join(filter(None, [statute, section]))
            for i, statute, section in self.session.execute(
                select(
                    Agreement.id, Agreement.legal_gateway_statute, Agreement.legal_gateway_section
                ).where(Agreement.id.in_([i for i in refs]))
            )
        }
        notes: dict[uuid.UUID, str] = {}
        for hook in ENTRY_NOTES:
            notes.update(hook(self.session, [e.id for e in entries]))
        items = []
        for e in entries:
            ex = exemptions.get(e.seq) if e.seq is not None else None
            if ex is not None and is_person:
                items.append(
                    AccessLogItem(
                        e.seq,
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                        withheld=f"withheld under {ex.exemption}",
                        entry_id=e.id,
                    )
                )
                continue
            items.append(
                AccessLogItem(
                    seq=e.seq,
                    at=e.at,
                    action=e.action,
                    organisation=orgs.get(e.actor_org_id) if e.actor_org_id else None,
                    agreement_reference=refs.get(e.agreement_id) if e.agreement_id else None,
                    purpose=e.purpose,
                    outcome=_outcome(e),
                    withheld=f"withheld under {ex.exemption}" if ex else None,
                    exemption_reason=ex.reason if ex else None,
                    legal_gateway=gateways.get(e.agreement_id) or None if e.agreement_id else None,
                    discloser=_party(orgs, e, "discloser"),
                    recipient=_party(orgs, e, "recipient"),
                    entry_id=e.id,
                    deleted=notes.get(e.id),
                )
            )
        return items

    def _names(self, model: Any, column: Any, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
        wanted = [i for i in ids if i is not None]
        if not wanted:
            return {}
        return {
            i: n
            for i, n in self.session.execute(select(model.id, column).where(model.id.in_(wanted)))
        }

    # exemptions -----------------------------------------------------------------------
    def apply_exemption(
        self, seq: int, exemption: str, reason: str, requester: Principal, reviewer: Principal
    ) -> AuditExemption:
        """Withhold one entry from the person's view under a named exemption. Commits.

        Needs two different named staff: the requester and a reviewer who approves it. The
        exemption itself is audited (without personal data).
        """
        for who, p in (("requester", requester), ("reviewer", reviewer)):
            p.require(*EXEMPTION_ROLES)
            if p.user_id is None:
                raise Forbidden(f"the {who} must be a named person, not an API key")
        if requester.user_id == reviewer.user_id:
            raise Forbidden("an exemption must be approved by a reviewer other than the requester")
        if not exemption.strip():
            raise InvalidInput("name the exemption applied", field="exemption")
        if not reason.strip():
            raise InvalidInput("give the reason the exemption applies", field="reason")
        log.entry(self.session, seq)
        row = AuditExemption(
            entry_seq=seq,
            exemption=exemption.strip(),
            reason=reason.strip(),
            requested_by=requester.user_id,
            reviewer_id=reviewer.user_id,
        )
        self.session.add(row)
        self.session.flush()
        log.append(
            self.session,
            AuditRecord(
                action="audit.exemption",
                actor_org_id=reviewer.organisation_id,
                actor_user_id=reviewer.user_id,
                decision="permit",
                details={
                    "entry_seq": seq,
                    "exemption": row.exemption,
                    "exemption_id": str(row.id),
                    "requested_by": str(requester.user_id),
                },
            ),
        )
        return row

    def exemption_counts(self, since: datetime | None = None) -> dict[str, int]:
        """How many entries each exemption was applied to (for reports)."""
        stmt = select(AuditExemption.exemption, func.count()).group_by(AuditExemption.exemption)
        if since is not None:
            stmt = stmt.where(AuditExemption.at >= since)
        return {name: n for name, n in self.session.execute(stmt)}


def _party(orgs: dict[uuid.UUID, str], entry: AuditEntry, key: str) -> str | None:
    """The name of the organisation a flow's audit entry names as its discloser or recipient."""
    found = _uuid((entry.details or {}).get(key))
    return orgs.get(found) if found is not None else None


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _outcome(entry: AuditEntry) -> str | None:
    details = entry.details or {}
    outcome = details.get("outcome")
    return str(outcome) if outcome else entry.decision
