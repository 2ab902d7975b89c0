"""The status register's operations: the only code that writes persons, decisions, status records
and share codes. Each public method that writes flushes; the request or CLI boundary commits, so a
caller (a correction, say) can add its own rows to the same unit of work.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    Date,
    String,
    bindparam,
    insert,
    literal_column,
    null,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.agreements.catalogue import SHARE_CODE_PURPOSES
from shareguard.audit import AuditRecord, append, append_many
from shareguard.config import get_settings
from shareguard.errors import Conflict, Forbidden, InvalidInput, NotFound
from shareguard.policy import Subject
from shareguard.status import names as namekeys
from shareguard.status import sharecodes
from shareguard.status.models import (
    AppealState,
    ImmigrationDecision,
    MatchKey,
    NameKind,
    Person,
    PersonDocument,
    PersonName,
    ShareCode,
    StatusKind,
    StatusRecord,
)
from shareguard.status.schemas import DecisionIn, PersonIn, StatusIn
from shareguard.storage.base import new_id, today, utcnow

if TYPE_CHECKING:
    from shareguard.policy import Subject

CASEWORKER = "caseworker"
SHARE_CODE_DAYS = 90
MAX_CANDIDATES = 200


def share_code_digest(code: str) -> str:
    """The keyed hash a share code is stored and looked up by (never the code itself)."""
    return sharecodes.code_hash(code, get_settings().secret_key)


@dataclass(frozen=True)
class PersonFacts:
    """What a check needs of a person: the answer's identity fields and the policy's subject."""

    id: uuid.UUID
    date_of_birth: date
    nationality: str
    photo_ref: str
    categories: tuple[str, ...]
    locks: tuple[str, ...]
    #: The primary name in full ("" when the person has no name).
    name: str
    postcode: str = ""

    @classmethod
    def of(cls, person: Person) -> PersonFacts:
        return _person_facts(person, person.names)


@dataclass(frozen=True)
class CandidateFacts:
    """A candidate for an attribute check: the person's facts and what the matcher compares
    (``StatusService.candidate_facts``)."""

    person: PersonFacts
    #: (given, family) of every name, in the register's order (primary first by position).
    names: tuple[tuple[str, str], ...]
    #: Document numbers (read only when the check gave one).
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Standing:
    """A person's current status record and current decisions (oldest first), read together.

    The rows are plain result rows with the columns ``StatusRecord`` and
    ``ImmigrationDecision`` have (``id``, ``kind``, ``valid_to``, ``may_work``, ...,
    ``type``, ``decided_on``, ``appeal_state``, ``overturned``), not ORM objects: a check
    only reads them. Both follow the one rule of ``current_of`` and ``current_decisions_of``.
    """

    status: Any | None
    decisions: list[Any]


# What a check or a disclosure reads of a person, in this order (names are read beside them).
_PERSON_FACTS = (
    Person.id,
    Person.date_of_birth,
    Person.nationality,
    Person.photo_ref,
    Person.postcode,
    Person.categories,
    Person.locks,
)

# A live share code's holder, for a check: one indexed look-up by the code's HMAC, joined to
# the person and their names. Purpose, date of birth, expiry and revocation are all conditions
# of the same statement, so every kind of "no match" takes the same path and finds no row.
_HOLDER = (
    select(
        *_PERSON_FACTS,
        PersonName.given,
        PersonName.family,
        PersonName.kind,
    )
    .select_from(ShareCode)
    .join(Person, Person.id == ShareCode.person_id)
    .outerjoin(PersonName, PersonName.person_id == Person.id)
    .where(
        ShareCode.code_hash == bindparam("code_hash"),
        ShareCode.purpose == bindparam("purpose"),
        ShareCode.revoked_at.is_(None),
        ShareCode.expires_at > bindparam("now"),
        Person.date_of_birth == bindparam("date_of_birth"),
    )
    .order_by(PersonName.position, PersonName.id)
)

# Status records and decisions of one person in one round trip: a UNION ALL of both tables
# over a shared column list (columns the other table lacks are typed NULLs), oldest first.
_STANDING: Any = (
    select(
        literal_column("'s'").label("src"),
        StatusRecord.id,
        StatusRecord.recorded_at,
        StatusRecord.supersedes_id,
        StatusRecord.kind,
        StatusRecord.valid_from,
        StatusRecord.valid_to,
        StatusRecord.may_work,
        StatusRecord.work_conditions,
        StatusRecord.may_rent,
        StatusRecord.public_funds,
        type_coerce(null(), String).label("type"),
        type_coerce(null(), Date).label("decided_on"),
        type_coerce(null(), String).label("appeal_state"),
        type_coerce(null(), Boolean).label("overturned"),
    )
    .where(StatusRecord.person_id == bindparam("person_id"))
    .union_all(
        select(
            literal_column("'d'"),
            ImmigrationDecision.id,
            ImmigrationDecision.recorded_at,
            ImmigrationDecision.supersedes_id,
            null(),
            null(),
            null(),
            null(),
            null(),
            null(),
            null(),
            ImmigrationDecision.type,
            ImmigrationDecision.decided_on,
            ImmigrationDecision.appeal_state,
            ImmigrationDecision.overturned,
        ).where(ImmigrationDecision.person_id == bindparam("person_id"))
    )
    .order_by("src", "recorded_at", "id")
)


# An attribute check's candidates as columns (``candidate_facts``): the persons, then their
# names and documents by person (the orders of ``Person.names`` and ``Person.documents``).
_CANDIDATES: Any = select(*_PERSON_FACTS).where(
    Person.id.in_(
        select(MatchKey.person_id)
        .where(MatchKey.key.in_(bindparam("keys", expanding=True)))
        .distinct()
        .limit(MAX_CANDIDATES)
    )
)
_CANDIDATE_NAMES: Any = (
    select(PersonName.person_id, PersonName.given, PersonName.family, PersonName.kind)
    .where(PersonName.person_id.in_(bindparam("ids", expanding=True)))
    .order_by(PersonName.position)
)
_CANDIDATE_DOCUMENTS: Any = select(PersonDocument.person_id, PersonDocument.number).where(
    PersonDocument.person_id.in_(bindparam("ids", expanding=True))
)

# ``_STANDING`` for many persons at once (``standings``), each table on its own.
_STANDINGS_STATUS: Any = (
    select(
        StatusRecord.person_id,
        StatusRecord.id,
        StatusRecord.recorded_at,
        StatusRecord.supersedes_id,
        StatusRecord.kind,
        StatusRecord.valid_from,
        StatusRecord.valid_to,
        StatusRecord.may_work,
        StatusRecord.work_conditions,
        StatusRecord.may_rent,
        StatusRecord.public_funds,
    )
    .where(StatusRecord.person_id.in_(bindparam("ids", expanding=True)))
    .order_by(StatusRecord.recorded_at, StatusRecord.id)
)
_STANDINGS_DECISIONS: Any = (
    select(
        ImmigrationDecision.person_id,
        ImmigrationDecision.id,
        ImmigrationDecision.recorded_at,
        ImmigrationDecision.supersedes_id,
        ImmigrationDecision.type,
        ImmigrationDecision.decided_on,
        ImmigrationDecision.appeal_state,
        ImmigrationDecision.overturned,
    )
    .where(ImmigrationDecision.person_id.in_(bindparam("ids", expanding=True)))
    .order_by(ImmigrationDecision.recorded_at, ImmigrationDecision.id)
)
# A person's facts (``facts_many``): one row per name (none: one row of NULL names), in the
# order ``Person.names`` has them, so ``_facts_of`` picks the name ``primary_name`` would.
_FACTS: Any = (
    select(
        *_PERSON_FACTS,
        PersonName.given,
        PersonName.family,
        PersonName.kind,
    )
    .outerjoin(PersonName, PersonName.person_id == Person.id)
    .where(Person.id.in_(bindparam("ids", expanding=True)))
    .order_by(Person.id, PersonName.position, PersonName.id)
)
# Live share codes for a purpose, by their HMACs: ``_HOLDER`` for many codes at once, the
# date of birth compared afterwards (``share_code_holders``).
_HOLDERS: Any = (
    select(
        ShareCode.code_hash,
        *_PERSON_FACTS,
        PersonName.given,
        PersonName.family,
        PersonName.kind,
    )
    .select_from(ShareCode)
    .join(Person, Person.id == ShareCode.person_id)
    .outerjoin(PersonName, PersonName.person_id == Person.id)
    .where(
        ShareCode.code_hash.in_(bindparam("hashes", expanding=True)),
        ShareCode.purpose == bindparam("purpose"),
        ShareCode.revoked_at.is_(None),
        ShareCode.expires_at > bindparam("now"),
    )
    .order_by(PersonName.position, PersonName.id)
)


class StatusService:
    def __init__(self, session: Session) -> None:
        self.session = session

    # persons -----------------------------------------------------------------------
    def person(self, person_id: uuid.UUID) -> Person:
        """The person; NotFound otherwise."""
        person = self.session.get(Person, person_id)
        if person is None:
            raise NotFound(f"person {person_id} not found")
        return person

    def require_person(self, person_id: uuid.UUID) -> None:
        """NotFound unless the person exists: ``person`` for a writer that needs only that
        (one indexed read, not the person loaded with their names and documents)."""
        if self.session.scalar(select(Person.id).where(Person.id == person_id)) is None:
            raise NotFound(f"person {person_id} not found")

    def create_person(self, data: PersonIn, principal: Principal) -> Person:
        """Register a person with their names and documents (caseworkers only)."""
        principal.require(CASEWORKER)
        if data.date_of_birth > today():
            raise InvalidInput("date of birth is in the future", field="date_of_birth")
        person = Person(
            date_of_birth=data.date_of_birth,
            nationality=data.nationality,
            categories=sorted({str(c) for c in data.categories}),
            photo_ref=data.photo_ref or f"photo-{uuid.uuid4().hex[:12]}",
            postcode=data.postcode,
        )
        self.session.add(person)
        self.session.flush()
        for i, n in enumerate(data.names):
            self.session.add(
                PersonName(
                    person_id=person.id,
                    given=n.given,
                    family=n.family,
                    kind=n.kind,
                    script=n.script,
                    position=i,
                )
            )
        for d in data.documents:
            number = namekeys.normalise_document(d.number)
            if not number:
                raise InvalidInput(
                    "document number has no letters or digits", field="documents.number"
                )
            self.session.add(
                PersonDocument(
                    person_id=person.id,
                    kind=d.kind,
                    number=number,
                    issuing_country=d.issuing_country,
                )
            )
        keys = namekeys.person_keys(
            [(n.given, n.family) for n in data.names],
            data.date_of_birth,
            [d.number for d in data.documents],
        )
        self.session.execute(insert(MatchKey), [{"key": k, "person_id": person.id} for k in keys])
        self.session.flush()
        self.session.refresh(person)
        return person

    def list_persons(self, *, limit: int = 50, offset: int = 0) -> list[Person]:
        stmt = select(Person).order_by(Person.id).limit(limit).offset(offset)
        return list(self.session.scalars(stmt))

    def candidates(
        self, given: str, family: str, dob: date, document: str | None = None
    ) -> list[Person]:
        """Persons sharing a blocking key with these attributes (indexed look-ups, bounded)."""
        keys = namekeys.query_keys(given, family, dob, document)
        ids = (
            select(MatchKey.person_id)
            .where(MatchKey.key.in_(keys))
            .distinct()
            .limit(MAX_CANDIDATES)
        )
        return list(self.session.scalars(select(Person).where(Person.id.in_(ids))))

    def candidate_facts(
        self, given: str, family: str, dob: date, document: str | None = None
    ) -> list[CandidateFacts]:
        """``candidates`` as what a check needs of them (``CandidateFacts``), read as columns.

        The same persons, in the same order, as ``candidates``, without loading them as
        entities with their names and documents: for an attribute check that cost more than
        the rest of the check. Documents are read only when ``document`` is given (the
        matcher compares them only then).
        """
        keys = namekeys.query_keys(given, family, dob, document)
        self.session.flush()  # read through the connection (no ORM result), so flush first
        conn = self.session.connection()
        persons = list(conn.execute(_CANDIDATES, {"keys": keys}))
        if not persons:
            return []
        found = [p.id for p in persons]
        names: dict[uuid.UUID, list[Any]] = {}
        for n in conn.execute(_CANDIDATE_NAMES, {"ids": found}):
            names.setdefault(n.person_id, []).append(n)
        docs: dict[uuid.UUID, list[str]] = {}
        if document:
            for d in conn.execute(_CANDIDATE_DOCUMENTS, {"ids": found}):
                docs.setdefault(d.person_id, []).append(d.number)
        out = []
        for p in persons:
            own = names.get(p.id, [])
            out.append(
                CandidateFacts(
                    _person_facts(p, own),
                    tuple((n.given, n.family) for n in own),
                    tuple(docs.get(p.id, ())),
                )
            )
        return out

    # decisions ---------------------------------------------------------------------
    def record_decision(
        self, person_id: uuid.UUID, data: DecisionIn, principal: Principal
    ) -> ImmigrationDecision:
        """Append a decision (a correction or appeal update supersedes an earlier one)."""
        return self.record_decisions([(person_id, data, principal)])[0]

    def record_decisions(
        self, items: Sequence[tuple[uuid.UUID, DecisionIn, Principal]]
    ) -> list[ImmigrationDecision]:
        """``record_decision`` for many, each with its own author: the same checks, read in
        bulk, and one flush. Refused whole: the first item at fault raises, nothing is added."""
        for _, _, principal in items:
            principal.require(CASEWORKER)
        person_ids = list(dict.fromkeys(pid for pid, _, _ in items))
        found: set[uuid.UUID] = set()
        for i in range(0, len(person_ids), BULK_CHUNK):
            chunk = person_ids[i : i + BULK_CHUNK]
            found.update(self.session.scalars(select(Person.id).where(Person.id.in_(chunk))))
        olds = self._decisions_by_id([d.supersedes_id for _, d, _ in items if d.supersedes_id])
        superseded = self._superseded_decisions(list(olds))
        for person_id, data, _ in items:
            if person_id not in found:
                raise NotFound(f"person {person_id} not found")
            if data.supersedes_id is not None:
                old = olds.get(data.supersedes_id)
                if old is None or old.person_id != person_id:
                    raise InvalidInput(
                        "supersedes_id is not a decision of this person", field="supersedes_id"
                    )
                if old.id in superseded:
                    raise Conflict(
                        "that decision has already been superseded", field="supersedes_id"
                    )
                # Two items of one batch superseding the same decision: the second finds it
                # superseded, as it would one at a time.
                superseded.add(old.id)
            if data.overturned and data.supersedes_id is None:
                raise InvalidInput(
                    "an overturning decision names the one it overturns", field="supersedes_id"
                )
            if data.final and data.appeal_state in (AppealState.LODGED, AppealState.PENDING):
                raise InvalidInput(
                    "a decision with an appeal lodged or pending cannot be final", field="final"
                )
        rows = [
            ImmigrationDecision(
                person_id=person_id, author_id=principal.user_id, **data.model_dump()
            )
            for person_id, data, principal in items
        ]
        self.session.add_all(rows)
        self.session.flush()
        return rows

    def _decisions_by_id(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ImmigrationDecision]:
        wanted = list(dict.fromkeys(ids))
        out: dict[uuid.UUID, ImmigrationDecision] = {}
        for i in range(0, len(wanted), BULK_CHUNK):
            stmt = select(ImmigrationDecision).where(
                ImmigrationDecision.id.in_(wanted[i : i + BULK_CHUNK])
            )
            out.update((d.id, d) for d in self.session.scalars(stmt))
        return out

    def _superseded_decisions(self, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these decisions a later one already supersedes."""
        out: set[uuid.UUID] = set()
        for i in range(0, len(ids), BULK_CHUNK):
            stmt = select(ImmigrationDecision.supersedes_id).where(
                ImmigrationDecision.supersedes_id.in_(ids[i : i + BULK_CHUNK])
            )
            out.update(d for d in self.session.scalars(stmt) if d is not None)
        return out

    def decisions(self, person_id: uuid.UUID) -> list[ImmigrationDecision]:
        """Every decision recorded for the person, oldest first (history is kept)."""
        stmt = (
            select(ImmigrationDecision)
            .where(ImmigrationDecision.person_id == person_id)
            .order_by(ImmigrationDecision.recorded_at, ImmigrationDecision.id)
        )
        return list(self.session.scalars(stmt))

    def current_decisions(self, person_id: uuid.UUID) -> list[ImmigrationDecision]:
        """Decisions not superseded by a later one."""
        return current_decisions_of(self.decisions(person_id))

    def appeal_state(self, person_id: uuid.UUID) -> str:
        """The most open appeal state among current decisions: pending > lodged > decided > none."""
        return appeal_state_of(self.current_decisions(person_id))

    # status records ----------------------------------------------------------------
    def record_status(
        self, person_id: uuid.UUID, data: StatusIn, principal: Principal
    ) -> StatusRecord:
        """Append a status record; to correct one, pass ``supersedes_id``."""
        principal.require(CASEWORKER)
        return self._add_status(person_id, data, principal.user_id)

    def _add_status(
        self,
        person_id: uuid.UUID,
        data: StatusIn,
        author_id: uuid.UUID | None,
    ) -> StatusRecord:
        self.require_person(person_id)
        if data.valid_to is not None and data.valid_to < data.valid_from:
            raise InvalidInput("valid_to is before valid_from", field="valid_to")
        if data.kind in (StatusKind.SETTLED,) and data.valid_to is not None:
            raise InvalidInput("settled status has no end date", field="valid_to")
        if data.supersedes_id is not None:
            old = self.session.get(StatusRecord, data.supersedes_id)
            if old is None or old.person_id != person_id:
                raise InvalidInput(
                    "supersedes_id is not a status record of this person", field="supersedes_id"
                )
            stmt = select(StatusRecord.id).where(StatusRecord.supersedes_id == old.id).limit(1)
            if self.session.scalar(stmt) is not None:
                raise Conflict(
                    "that status record has already been superseded", field="supersedes_id"
                )
        row = StatusRecord(person_id=person_id, author_id=author_id, **data.model_dump())
        self.session.add(row)
        self.session.flush()
        return row

    def status_history(self, person_id: uuid.UUID) -> list[StatusRecord]:
        stmt = (
            select(StatusRecord)
            .where(StatusRecord.person_id == person_id)
            .order_by(StatusRecord.recorded_at, StatusRecord.id)
        )
        return list(self.session.scalars(stmt))

    def current_status(self, person_id: uuid.UUID, on: date | None = None) -> StatusRecord | None:
        """The newest status record not superseded and valid on ``on`` (default today)."""
        result: StatusRecord | None = current_of(self.status_history(person_id), on or today())
        return result

    def standing(self, person_id: uuid.UUID, on: date | None = None) -> Standing:
        """``current_status`` and ``current_decisions`` in one query (for checks)."""
        on = on or today()
        statuses: list[Any] = []
        decisions: list[Any] = []
        self.session.flush()  # read through the connection (no ORM result), so flush first
        for row in self.session.connection().execute(_STANDING, {"person_id": person_id}):
            (statuses if row.src == "s" else decisions).append(row)
        return Standing(current_of(statuses, on), current_decisions_of(decisions))

    def facts_many(self, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PersonFacts]:
        """``PersonFacts.of`` for many persons, read as columns (one query per 500): no Person
        entities with their names and documents. NotFound if one is missing."""
        ids = list(dict.fromkeys(person_ids))
        rows: dict[uuid.UUID, list[Any]] = {}
        self.session.flush()
        conn = self.session.connection()
        for i in range(0, len(ids), BULK_CHUNK):
            for row in conn.execute(_FACTS, {"ids": ids[i : i + BULK_CHUNK]}):
                rows.setdefault(row.id, []).append(row)
        missing = [pid for pid in ids if pid not in rows]
        if missing:
            raise NotFound(f"person {missing[0]} not found")
        return {pid: _facts_of(rows[pid]) for pid in ids}

    def standings(
        self, person_ids: Sequence[uuid.UUID], on: date | None = None
    ) -> dict[uuid.UUID, Standing]:
        """``standing`` for many persons: two queries per 500 (persons with no rows are absent
        from neither: every id asked for gets a Standing)."""
        on = on or today()
        ids = list(dict.fromkeys(person_ids))
        statuses: dict[uuid.UUID, list[Any]] = {p: [] for p in ids}
        decisions: dict[uuid.UUID, list[Any]] = {p: [] for p in ids}
        self.session.flush()
        conn = self.session.connection()
        for i in range(0, len(ids), BULK_CHUNK):
            chunk = ids[i : i + BULK_CHUNK]
            for row in conn.execute(_STANDINGS_STATUS, {"ids": chunk}):
                statuses[row.person_id].append(row)
            for row in conn.execute(_STANDINGS_DECISIONS, {"ids": chunk}):
                decisions[row.person_id].append(row)
        return {
            pid: Standing(current_of(statuses[pid], on), current_decisions_of(decisions[pid]))
            for pid in ids
        }

    # share codes -------------------------------------------------------------------
    def create_share_code(
        self,
        person_id: uuid.UUID,
        purpose: str,
        principal: Principal,
        *,
        days: int = SHARE_CODE_DAYS,
    ) -> tuple[ShareCode, str]:
        """Issue a code for one purpose; returns the row and the code, which is never shown again.

        The person themselves, or a caseworker helping them, may issue codes.
        """
        self._may_manage_codes(person_id, principal)
        if purpose not in SHARE_CODE_PURPOSES:
            raise InvalidInput("unknown purpose for a share code", field="purpose")
        if not 1 <= days <= SHARE_CODE_DAYS:
            raise InvalidInput(f"a share code lasts 1 to {SHARE_CODE_DAYS} days", field="days")
        self.require_person(person_id)
        for _ in range(5):
            code = sharecodes.generate()
            digest = share_code_digest(code)
            if (
                self.session.scalar(select(ShareCode.id).where(ShareCode.code_hash == digest))
                is None
            ):
                break
        else:  # pragma: no cover - 40 bits of randomness
            raise Conflict("could not allocate a share code; try again")
        row = ShareCode(
            person_id=person_id,
            purpose=purpose,
            code_hash=digest,
            expires_at=utcnow() + timedelta(days=days),
            hint=code[-3:],
        )
        self.session.add(row)
        self.session.flush()
        self._audit_code("share_code.create", row, principal)
        self.session.flush()
        return row, code

    def create_share_codes(
        self,
        wanted: Sequence[tuple[uuid.UUID, str]],
        principal: Principal,
        *,
        days: int = SHARE_CODE_DAYS,
    ) -> list[str]:
        """``create_share_code`` for many (person, purpose) at once, by a caseworker: the same
        rows and audit entries, written in one batch. Returns the codes, in order (never
        shown again)."""

        principal.require(CASEWORKER, "system")
        if any(purpose not in SHARE_CODE_PURPOSES for _, purpose in wanted):
            raise InvalidInput("unknown purpose for a share code", field="purpose")
        if not 1 <= days <= SHARE_CODE_DAYS:
            raise InvalidInput(f"a share code lasts 1 to {SHARE_CODE_DAYS} days", field="days")
        people = list(dict.fromkeys(p for p, _ in wanted))
        found: set[uuid.UUID] = set()
        for i in range(0, len(people), BULK_CHUNK):
            chunk = people[i : i + BULK_CHUNK]
            found.update(self.session.scalars(select(Person.id).where(Person.id.in_(chunk))))
        if len(found) != len(people):
            raise NotFound("a person was not found", field="person_id")
        codes = [sharecodes.generate() for _ in wanted]
        digests = [share_code_digest(c) for c in codes]
        taken: set[str] = set()
        for i in range(0, len(digests), BULK_CHUNK):
            hashes = digests[i : i + BULK_CHUNK]
            taken.update(
                self.session.scalars(
                    select(ShareCode.code_hash).where(ShareCode.code_hash.in_(hashes))
                )
            )
        if taken or len(set(digests)) != len(digests):  # pragma: no cover - 40 bits each
            raise Conflict("could not allocate share codes; try again")
        now = utcnow()
        expires = now + timedelta(days=days)
        # Rows, not entities: nothing here needs the objects back, and building and flushing
        # them cost more than the rest of issuing a code.
        rows: list[dict[str, Any]] = [
            {
                "id": new_id(),
                "created_at": now,
                "person_id": person_id,
                "purpose": purpose,
                "code_hash": digest,
                "expires_at": expires,
                "revoked_at": None,
                "hint": code[-3:],
            }
            for (person_id, purpose), code, digest in zip(wanted, codes, digests, strict=True)
        ]
        self.session.flush()
        self.session.connection().execute(_INSERT_SHARE_CODE, rows)
        append_many(
            self.session,
            [
                _code_record("share_code.create", r["id"], r["person_id"], r["purpose"], principal)
                for r in rows
            ],
        )
        return codes

    def _audit_code(self, action: str, row: ShareCode, principal: Principal) -> None:
        append(self.session, _code_record(action, row.id, row.person_id, row.purpose, principal))

    def share_codes(self, person_id: uuid.UUID, principal: Principal) -> list[ShareCode]:
        self._may_manage_codes(person_id, principal)
        stmt = (
            select(ShareCode).where(ShareCode.person_id == person_id).order_by(ShareCode.created_at)
        )
        return list(self.session.scalars(stmt))

    def revoke_share_code(
        self, person_id: uuid.UUID, code_id: uuid.UUID, principal: Principal
    ) -> ShareCode:
        """Revoke a code at once; checks with it then answer "no match"."""
        self._may_manage_codes(person_id, principal)
        row = self.session.get(ShareCode, code_id)
        if row is None or row.person_id != person_id:
            raise NotFound(f"share code {code_id} not found")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            self._audit_code("share_code.revoke", row, principal)
            self.session.flush()
        return row

    def share_code_for(self, code: str, *, at: datetime | None = None) -> ShareCode | None:
        """The live code row for a canonical code (not revoked, not expired), else None."""
        row = self.session.scalar(
            select(ShareCode).where(ShareCode.code_hash == share_code_digest(code))
        )
        if row is None or row.revoked_at is not None or row.expires_at <= (at or utcnow()):
            return None
        return row

    def share_code_holder(
        self, code_hash: str, purpose: str, date_of_birth: date, *, at: datetime | None = None
    ) -> PersonFacts | None:
        """The person a live code for ``purpose`` belongs to, if their date of birth is
        ``date_of_birth``; None for every other case (wrong, expired or revoked code, other
        purpose, wrong date), all decided by one query."""
        self.session.flush()  # read through the connection (no ORM result), so flush first
        rows = (
            self.session.connection()
            .execute(
                _HOLDER,
                {
                    "code_hash": code_hash,
                    "purpose": purpose,
                    "now": at or utcnow(),
                    "date_of_birth": date_of_birth,
                },
            )
            .all()
        )
        return _facts_of(rows) if rows else None

    def share_code_holders(
        self, purpose: str, wanted: Sequence[tuple[str, date]], *, at: datetime | None = None
    ) -> list[PersonFacts | None]:
        """``share_code_holder`` for many (code HMAC, date of birth) pairs of one purpose, in
        order: one query per 500 codes."""
        self.session.flush()
        now = at or utcnow()
        rows_of: dict[str, list[Any]] = {}
        hashes = list(dict.fromkeys(h for h, _ in wanted))
        conn = self.session.connection()
        for i in range(0, len(hashes), BULK_CHUNK):
            params = {"hashes": hashes[i : i + BULK_CHUNK], "purpose": purpose, "now": now}
            for row in conn.execute(_HOLDERS, params):
                rows_of.setdefault(row.code_hash, []).append(row)
        out: list[PersonFacts | None] = []
        for digest, born in wanted:
            rows = [r for r in rows_of.get(digest, []) if r.date_of_birth == born]
            out.append(_facts_of(rows) if rows else None)
        return out

    def _may_manage_codes(self, person_id: uuid.UUID, principal: Principal) -> None:
        if principal.person_id == person_id or principal.has(CASEWORKER, "system"):
            return
        raise Forbidden("only the person, or a caseworker helping them, manages their share codes")


def _code_record(
    action: str,
    code_id: uuid.UUID,
    person_id: uuid.UUID,
    purpose: str,
    principal: Principal,
) -> AuditRecord:
    """A share code's audit record. Ids and the purpose only: never the code, nor its last
    characters."""
    return AuditRecord(
        action=action,
        actor_org_id=principal.organisation_id,
        actor_user_id=principal.user_id,
        purpose=purpose,
        subject_ref=str(person_id),
        details={
            "share_code_id": str(code_id),
            "by": "person" if principal.person_id is not None else "staff",
        },
    )


_INSERT_SHARE_CODE = insert(ShareCode.__table__)  # type: ignore[arg-type]


def _facts_of(rows: Sequence[Any]) -> PersonFacts:
    """A holder's facts from its rows (one per name, primary preferred)."""
    named = [r for r in rows if r.given is not None or r.family is not None]
    return _person_facts(rows[0], named)


def _person_facts(person: Any, names: Sequence[Any]) -> PersonFacts:
    """A person's facts from a row of ``_PERSON_FACTS`` and their name rows (``given``,
    ``family``, ``kind``) in ``Person.names`` order: the primary name, else the first."""
    primary = next((n for n in names if n.kind == NameKind.PRIMARY), names[0] if names else None)
    return PersonFacts(
        id=person.id,
        date_of_birth=person.date_of_birth,
        nationality=person.nationality,
        photo_ref=person.photo_ref,
        categories=tuple(person.categories or ()),
        locks=tuple(person.locks or ()),
        name=f"{primary.given} {primary.family}".strip() if primary else "",
        postcode=person.postcode or "",
    )


def _valid_on(row: Any, on: date) -> bool:
    """``StatusRecord.valid_on`` for a result row."""
    return bool(row.valid_from <= on and (row.valid_to is None or on <= row.valid_to))


def current_of(statuses: Sequence[Any], on: date) -> Any | None:
    """The one rule for a person's current status: of their status records (oldest first, ORM
    rows or result rows), the newest not superseded by another and valid on ``on``."""
    replaced = {r.supersedes_id for r in statuses if r.supersedes_id}
    return next((r for r in reversed(statuses) if r.id not in replaced and _valid_on(r, on)), None)


def current_decisions_of(decisions: Sequence[Any]) -> list[Any]:
    """A person's current decisions: those no later decision supersedes (oldest first)."""
    replaced = {r.supersedes_id for r in decisions if r.supersedes_id}
    return [r for r in decisions if r.id not in replaced]


#: Appeal states, most open first: a person's is the most open among their current decisions.
APPEALS_MOST_OPEN_FIRST = (AppealState.PENDING, AppealState.LODGED, AppealState.DECIDED)


def appeal_state_of(current: Sequence[Any]) -> str:
    """The most open appeal state among current decisions: pending > lodged > decided > none."""
    states = {d.appeal_state for d in current}
    return next((str(s) for s in APPEALS_MOST_OPEN_FIRST if s in states), str(AppealState.NONE))


def subject_of(person: Person | PersonFacts, current: Sequence[Any]) -> Subject:
    """``subject_for`` from a loaded person and their current decisions (no queries)."""

    return Subject(
        ref=str(person.id),
        date_of_birth=person.date_of_birth,
        categories=frozenset(person.categories or ()),
        appeal_state=appeal_state_of(current),
        locks=frozenset(person.locks or ()),
    )


def subject_for(session: Session, person_id: uuid.UUID) -> Subject:
    """The policy's view of a person: ref, date of birth, categories, appeal state, locks."""
    svc = StatusService(session)
    return subject_of(svc.person(person_id), svc.current_decisions(person_id))


#: Persons read per query by the bulk readers below.
BULK_CHUNK = 500


def subjects_for(session: Session, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Subject]:
    """``subject_for`` for many persons: two queries per 500. NotFound if one is missing."""

    out: dict[uuid.UUID, Subject] = {}
    ids = list(dict.fromkeys(person_ids))
    session.flush()
    for i in range(0, len(ids), BULK_CHUNK):
        chunk = ids[i : i + BULK_CHUNK]
        persons = session.execute(
            select(Person.id, Person.date_of_birth, Person.categories, Person.locks).where(
                Person.id.in_(chunk)
            )
        ).all()
        decisions: dict[uuid.UUID, list[Any]] = {}
        stmt = (
            select(
                ImmigrationDecision.person_id,
                ImmigrationDecision.id,
                ImmigrationDecision.supersedes_id,
                ImmigrationDecision.appeal_state,
            )
            .where(ImmigrationDecision.person_id.in_(chunk))
            .order_by(ImmigrationDecision.recorded_at, ImmigrationDecision.id)
        )
        for row in session.execute(stmt):
            decisions.setdefault(row.person_id, []).append(row)
        for p in persons:
            rows = decisions.get(p.id, [])
            replaced = {r.supersedes_id for r in rows if r.supersedes_id}
            out[p.id] = Subject(
                ref=str(p.id),
                date_of_birth=p.date_of_birth,
                categories=frozenset(p.categories or ()),
                appeal_state=appeal_state_of([r for r in rows if r.id not in replaced]),
                locks=frozenset(p.locks or ()),
            )
    missing = [pid for pid in ids if pid not in out]
    if missing:
        raise NotFound(f"person {missing[0]} not found")
    return out
