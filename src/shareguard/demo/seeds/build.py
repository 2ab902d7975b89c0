"""Build the seed-scale demo: a year of sharing replayed through the real services.

The year is a list of stages (``stages``). Each stage is its own unit of work
(``storage.db.unit_of_work``) and, in the same transaction, appends an audit entry
``demo.seeds_stage`` naming itself: so a stage is either wholly in the database, marked done,
or not at all, and a second build skips what the log says is done and goes on from there.

What goes through which door:

* every disclosure (a DVLA or HMRC match result, a share-code or NHS check answer) goes
  through ``policy.disclose_many`` via the services that make them (``RunService.record``,
  ``CheckService.share_code_checks`` and ``attribute_checks``), each decided at the replayed
  moment (``storage.base.replay_clock``), so the over-30 pause cuts the DVLA volume itself;
* the DVLA and HMRC runs link for real (``seeds.linking``): each month's active list, in
  parts under the per-run limit, against the partner's file with Splink on DuckDB out of
  core, as ``matching.tasks.execute`` does; the synthetic reviewers tell true matches from
  false ones by the world's known truth (which record is whose copy);
* the watch list is proposed and verified by synthetic caseworkers through the gate in bulk
  (``WatchlistService.admit_many``); each day's corrections, their approvals and
  rectification notices and the people's leaving the lists go through their services' batch
  paths (``CorrectionService.correct_many``, ``approve_many``, ``WatchlistService.leave_many``:
  what one at a time writes); reviews, adverse actions and acknowledgements one by one;
* the door's other way (``seeds.inbound``): partners' records and files through
  ``InboundService``, requests to partners and their answers through ``RequestService``;
  contests and referrals through ``CaseService`` (``seeds.cases``);
* the register (persons, names, status records, decisions: no disclosure) is written in bulk
  (``seeds.people``).

Synthetic staff are users named as such ("Synthetic reviewer 01 (seed-scale demo)").
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation, Role, User
from shareguard.accounts.principal import Principal
from shareguard.accounts.service import AccountService
from shareguard.audit import AuditRecord, append
from shareguard.audit.integrator import catch_up
from shareguard.audit.models import AuditEntry
from shareguard.audit.service import AuditService
from shareguard.checks import AttributeQuery, CheckService, ShareCodeQuery
from shareguard.config import get_settings
from shareguard.corrections.models import Correction, CorrectionState, RectificationNotice
from shareguard.corrections.notices import NoticeService
from shareguard.corrections.service import CorrectionService, NewCorrection
from shareguard.demo.seeds import inbound, licences, linking, people
from shareguard.demo.seeds.cases import contests_and_referrals
from shareguard.demo.seeds.plan import Plan, at
from shareguard.demo.world import DEMO_PASSWORD, World, _accounts, _agreements, email
from shareguard.matching import ImportService, ReviewService
from shareguard.matching.models import Candidate, EntryState, MatchRun, WatchlistEntry
from shareguard.matching.watchlist import WatchlistService
from shareguard.policy.schemas import PauseIn
from shareguard.policy.service import FirewallService, PauseService
from shareguard.status import StatusService
from shareguard.storage.base import replay_clock
from shareguard.storage.db import unit_of_work

STAGE_ACTION = "demo.seeds_stage"
DVLA = "HO-DVLA-001"
HMRC = "HO-HMRC-001"
NHS = "HO-NHS-001"
CONTEST_ROUTE = (
    "Contest with the Home Office at https://www.gov.uk/contest-immigration-data, quoting the "
    "notice reference; the licence decision is reconsidered within 20 working days."
)
OVER_30_TITLE = "No proactive sharing about people aged over 30 (seed-scale year)"

#: Called with the stage's name, the work done and the work to do (None: unknown).
Progress = Callable[[str, int, int | None], None]


def _quiet(_stage: str, _done: int, _total: int | None) -> None:
    return None


@dataclass
class Seeds:
    """The build's shared state: the plan, where its files go, the foundation's ids."""

    plan: Plan
    folder: Path
    engine: Engine | None = None
    progress: Progress = _quiet
    world: World = field(init=False)
    staff: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    _register: people.Register | None = None
    #: CPU seconds spent integrating the stages' audit entries so far (``build``).
    integrating: float = 0.0
    _corrections: dict[int, list[people.PoolPerson]] | None = None

    def __post_init__(self) -> None:
        self.world = World(seed=self.plan.seed, persons=0, rng=random.Random(self.plan.seed))

    # principals ------------------------------------------------------------------------
    def staff_principal(self, kind: str, i: int) -> Principal:
        users = self.staff[kind]
        role = Role.CASEWORKER if kind == "caseworker" else Role.REVIEWER
        return Principal(
            organisation_id=self.world.orgs["ho"],
            user_id=users[i % len(users)],
            roles=frozenset({role}),
        )

    def partner(self, code: str) -> Principal:
        return Principal(
            organisation_id=self.world.orgs[code],
            user_id=self.world.users[f"partner:{code}"],
            roles=frozenset({Role.PARTNER_USER}),
        )

    def corrected_in(self, m: int) -> list[people.PoolPerson]:
        """The pool's people whose wrong refusal is corrected in month ``m``
        (``correction_month``, worked out once per build rather than once a month)."""
        if self._corrections is None:
            self._corrections = {}
            for p in self.register.pool:
                month = correction_month(self.plan, p)
                if month is not None:
                    self._corrections.setdefault(month, []).append(p)
        return self._corrections.get(m, [])

    @property
    def register(self) -> people.Register:
        if self._register is None:
            self._register = people.load_register(self.folder / "register")
        return self._register


@dataclass(frozen=True)
class Stage:
    name: str
    work: Callable[[Session, Seeds], Any]


# -- stages recorded in the log ------------------------------------------------------------
def done_stages(session: Session, seed: int) -> set[str]:
    """Names of the stages of this seed's build that have committed (from the audit log)."""
    rows = session.scalars(select(AuditEntry.details).where(AuditEntry.action == STAGE_ACTION))
    return {d["stage"] for d in rows if d and d.get("seed") == seed}


def _mark(session: Session, seeds: Seeds, stage: str, cpu_seconds: float) -> None:
    append(
        session,
        AuditRecord(
            action=STAGE_ACTION,
            actor_org_id=seeds.world.orgs.get("ho"),
            details={
                "stage": stage,
                "seed": seeds.plan.seed,
                "scale": _scale(seeds.plan),
                # The stage's CPU time (all threads): wall time alone moves with the load.
                "cpu_seconds": round(cpu_seconds, 2),
                # Integrating the entries of the stages before this one, after each (in this
                # build run, the stages skipped on resuming not counted).
                "integrating_cpu_seconds": round(seeds.integrating, 2),
            },
        ),
    )


def _scale(plan: Plan) -> dict[str, int]:
    return {"pool": plan.pool, "population": plan.population, "licence_rows": plan.licence_rows}


def stages(plan: Plan) -> list[Stage]:
    """The year, in order."""
    out = [
        Stage("foundation", _foundation),
        Stage("register", _register),
        Stage("licence files", _licence_files),
    ]
    for m in range(plan.months):
        label = plan.label(m)
        out.append(Stage(f"{label} watch list", _month(_watch_list, m)))
        out.append(Stage(f"{label} DVLA matching", _month(_dvla, m)))
        if m % 3 == 2:
            out.append(Stage(f"{label} HMRC matching", _month(_hmrc, m)))
        out.append(Stage(f"{label} reviews and actions", _month(_reviews, m)))
        out.append(Stage(f"{label} share-code checks", _month(_share_codes, m)))
        out.append(Stage(f"{label} NHS checks", _month(_nhs, m)))
        out.append(Stage(f"{label} contests and referrals", _month(contests_and_referrals, m)))
        out.append(Stage(f"{label} inbound and requests", _month(inbound.flows, m)))
        out.append(Stage(f"{label} corrections", _month(_corrections, m)))
    out.append(Stage("checkpoint", _checkpoint))
    return out


def _month(work: Callable[[Session, Seeds, int], Any], m: int) -> Callable[[Session, Seeds], Any]:
    return lambda session, seeds: work(session, seeds, m)


@dataclass
class BuildResult:
    done: list[str]
    skipped: list[str]
    world: World


def build(
    plan: Plan,
    folder: Path,
    engine: Engine | None = None,
    *,
    progress: Progress = _quiet,
    stop_after: int | None = None,
) -> BuildResult:
    """Build (or go on building) the seed-scale world; returns the stages run and skipped.

    ``stop_after`` stops after that many stages have run (for tests of resuming).
    """
    seeds = Seeds(plan, folder, engine, progress)
    with unit_of_work(engine) as session:
        finished = done_stages(session, plan.seed)
    result = BuildResult([], [], seeds.world)
    for stage in stages(plan):
        if stage.name == "foundation" or stage.name not in finished:
            if stop_after is not None and len(result.done) >= stop_after:
                break
            progress(stage.name, 0, None)
            cpu = time.process_time()
            with unit_of_work(engine) as session:
                stage.work(session, seeds)
                if stage.name not in finished:
                    _mark(session, seeds, stage.name, time.process_time() - cpu)
            # The stage's entries take their places in the tree once it has committed, as a
            # running integrator gives them (``audit.integrator``), while their pages are
            # still in the cache: left to the final checkpoint, a year's entries were numbered
            # from cold pages.
            cpu = time.process_time()
            with unit_of_work(engine) as session:
                catch_up(session)
            seeds.integrating += time.process_time() - cpu
            result.done.append(stage.name)
        else:
            result.skipped.append(stage.name)
    return result


# -- the foundation ------------------------------------------------------------------------
def _foundation(session: Session, seeds: Seeds) -> None:
    """Organisations, staff, agreements and keys (as the default demo's), the firewall, and
    the synthetic caseworkers and reviewers. Idempotent: it runs on every build to read ids."""

    world = seeds.world
    _accounts(session, world)
    _agreements(session, world)
    FirewallService(session).ensure_defaults()
    accounts = AccountService(session)
    plan = seeds.plan
    for kind, count, role in (
        ("caseworker", plan.caseworkers, Role.CASEWORKER),
        ("reviewer", plan.reviewers, Role.REVIEWER),
    ):
        ids = []
        for i in range(1, count + 1):
            address = email(f"seeds-{kind}{i:02d}")
            user = session.scalar(select(User).where(User.email == address))
            if user is None:
                user = accounts.create_user(
                    world.orgs["ho"],
                    address,
                    f"Synthetic {kind} {i:02d} (seed-scale demo)",
                    [role],
                    DEMO_PASSWORD,
                )
            ids.append(user.id)
        seeds.staff[kind] = ids


def _register(session: Session, seeds: Seeds) -> None:
    plan, say = seeds.plan, seeds.progress
    authors = seeds.staff["caseworker"]
    total = plan.pool + plan.population
    with replay_clock(at(plan.start - timedelta(days=1), 8)):
        pool = people.build_pool(session, plan, authors, lambda n: say("register", n, total))
        reg = people.build_population(
            session, plan, authors, lambda n: say("register", plan.pool + n, total)
        )
    reg.pool = pool
    people.save_register(seeds.folder / "register", reg)
    seeds._register = reg


def _licence_files(session: Session, seeds: Seeds) -> None:
    licences.write_files(seeds.folder / "licences", seeds.plan, seeds.register.pool)


# -- the watch list ------------------------------------------------------------------------
def _watch_list(session: Session, seeds: Seeds, m: int) -> None:
    """The month's intake proposed and verified for both bulk agreements (month 0: the pool's
    stock); from the pause's month, the over-30 pause itself."""

    plan = seeds.plan
    if m == plan.pause_month:
        _pause(session, seeds)
    intake = [p for p in seeds.register.pool if p.intake == m]
    moment = at(plan.month_start(m), 10) if m else at(plan.start - timedelta(days=1), 10)
    service = WatchlistService(session)
    done = 0
    with replay_clock(moment):
        for ref in (DVLA, HMRC):
            for chunk in people.chunks(intake, 5_000):
                service.admit_many(
                    seeds.world.agreements[ref],
                    [
                        (p.person_id, p.decision_id, f"SEEDS-REFUSAL-{p.decision_id.hex[:10]}")
                        for p in chunk
                    ],
                    seeds.staff_principal("caseworker", m),
                    seeds.staff_principal("caseworker", m + 1),
                )
                done += len(chunk)
                seeds.progress(f"{plan.label(m)} watch list", done, 2 * len(intake))


def _pause(session: Session, seeds: Seeds) -> None:

    with replay_clock(seeds.plan.pause_starts - timedelta(hours=1)):
        PauseService(session).create(
            PauseIn(
                title=OVER_30_TITLE,
                reason=(
                    "People who came lawfully long ago may lack documents; proactive sharing "
                    "with DVLA is paused for anyone aged over 30 while checks are reviewed"
                ),
                agreements=[DVLA],
                actions=["bulk_disclosure"],
                age_over=30,
                starts_at=seeds.plan.pause_starts,
            ),
            seeds.world.principal("officer"),
        )


def _active(session: Session, agreement_id: uuid.UUID) -> set[uuid.UUID]:

    stmt = select(WatchlistEntry.person_id).where(
        WatchlistEntry.agreement_id == agreement_id, WatchlistEntry.state == EntryState.ACTIVE
    )
    return set(session.scalars(stmt))


# -- bulk matching -------------------------------------------------------------------------
def _import(session: Session, seeds: Seeds, ref: str, path: Path, when: datetime) -> Any:

    code = "dvla" if ref == DVLA else "hmrc"
    with replay_clock(when):
        return ImportService(session).import_dataset(
            path,
            {c: c for c in licences.COLUMNS},
            seeds.world.agreements[ref],
            seeds.partner(code),
            name=path.name,
        )


def _dvla(session: Session, seeds: Seeds, m: int) -> None:
    """The month's licence file imported by the agency, then linked against the list."""
    plan = seeds.plan
    stage = f"{plan.label(m)} DVLA matching"
    folder = seeds.folder / "licences"
    dataset = _import(
        session, seeds, DVLA, licences.month_file(folder, plan, m), at(plan.month_start(m), 1)
    )
    active = _active(session, seeds.world.agreements[DVLA])
    truth = linking.read_truth(licences.truth_file(folder, plan, m))
    expected = sum(1 for pid in truth.values() if uuid.UUID(pid) in active)
    days = _weekdays(plan, m, 2)
    linking.run_month(session, seeds, DVLA, dataset.id, days, active, expected, stage)


def _weekdays(plan: Plan, m: int, first: int) -> list[date]:
    return [d for d in plan.days(m)[first:] if d.weekday() < 5]


def _hmrc_file(seeds: Seeds, m: int) -> tuple[Path, Path]:
    return (
        seeds.folder / "hmrc" / f"hmrc-claims-{seeds.plan.label(m)}.parquet",
        seeds.folder / "hmrc" / f"hmrc-claims-{seeds.plan.label(m)}.truth.parquet",
    )


def _hmrc(session: Session, seeds: Seeds, m: int) -> None:
    """The quarter's tax-credit claimants (the pool's claims, typed as claim forms are)
    linked against the list."""
    plan = seeds.plan
    quarter = m // 3
    stage = f"{plan.label(m)} HMRC matching"
    active = _active(session, seeds.world.agreements[HMRC])
    claimants = [
        p for p in seeds.register.pool if p.claim_quarter == quarter and p.issue != "implausible"
    ]
    rng = random.Random(f"{plan.seed}:hmrc:{quarter}")
    rows = []
    for i, p in enumerate(claimants):
        given, family, born, post = licences.noisy(rng, p)
        rows.append((f"HMRC-Q{quarter}-{i:07d}", given, family, born, post))
    path, truth = _hmrc_file(seeds, m)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=licences.COLUMNS).to_parquet(path, index=False)
    linking.write_truth(truth, [r[0] for r in rows], [str(p.person_id) for p in claimants])
    dataset = _import(session, seeds, HMRC, path, at(plan.month_start(m) + timedelta(days=3), 1))
    expected = sum(1 for p in claimants if p.person_id in active)
    days = _weekdays(plan, m, 5)
    linking.run_month(session, seeds, HMRC, dataset.id, days, active, expected, stage)


# -- reviews and adverse actions -----------------------------------------------------------
def _reviews(session: Session, seeds: Seeds, m: int) -> None:
    """Synthetic reviewers review every false match among the month's disclosed matches
    (the known truth tells them) and a share of the true ones, two each (the two-person
    rule); the agency and the tax authority report the adverse actions they took on
    confirmed matches, with the route to contest."""

    plan = seeds.plan
    stage = f"{plan.label(m)} reviews and actions"
    service = ReviewService(session)
    start, end = at(plan.month_start(m), 0), at(plan.month_end(m), 0)
    rng = random.Random(f"{plan.seed}:reviews:{m}")
    hmrc_rate = plan.hmrc_actions / max(1, plan.pool * plan.hmrc_claims)
    truth = linking.read_truth(licences.truth_file(seeds.folder / "licences", plan, m))
    truth |= linking.read_truth(_hmrc_file(seeds, m)[1])
    # Ids and the columns the truth needs, not entities: loading each candidate with its
    # reviews and JSON columns cost more than reviewing it.
    work: list[tuple[Any, str, str]] = []
    for ref, rate, kind in (
        (DVLA, plan.dvla_action_rate, "licence_revoked"),
        (HMRC, hmrc_rate, "benefit_stopped"),
    ):
        stmt = (
            select(Candidate.id, Candidate.partner_record_id, Candidate.person_id)
            .join(MatchRun, MatchRun.id == Candidate.run_id)
            .where(
                MatchRun.agreement_id == seeds.world.agreements[ref],
                MatchRun.created_at >= start,
                MatchRun.created_at < end,
                Candidate.disclosure_id.is_not(None),
            )
            .order_by(Candidate.partner_record_id, Candidate.person_id)
        )
        for cand in session.execute(stmt):
            if not linking.is_true(truth, cand.partner_record_id, cand.person_id):
                work.append((cand, "not_same", kind))
            elif rng.random() < rate:
                work.append((cand, "same", kind))
    for i, (cand, outcome, kind) in enumerate(work):
        when = at(plan.month_start(m) + timedelta(days=rng.randrange(8, 26)), 11)
        with replay_clock(when):
            first = seeds.staff_principal("reviewer", i)
            second = seeds.staff_principal("reviewer", i + 1)
            note = "Reviewed by a synthetic reviewer (seed-scale demo)"
            service.review(cand.id, outcome, first, note)
            if outcome == "same":
                service.review(cand.id, "same", second, note)
        if outcome == "same":
            code = "dvla" if kind == "licence_revoked" else "hmrc"
            with replay_clock(when + timedelta(days=rng.randrange(1, 4))):
                service.report_adverse_action(cand.id, kind, CONTEST_ROUTE, seeds.partner(code))
        if i % 200 == 0:
            seeds.progress(stage, i, len(work))


# -- checks --------------------------------------------------------------------------------
SHARE_PURPOSES = {
    "HO-EMP-001": ("right_to_work", "brightwork"),
    "HO-LL-001": ("right_to_rent", "oakfield"),
    "HO-BANK-001": ("bank_account", "northbank"),
}
CHECKS_PER_CODE = 4
#: The hour of the day's share-code checks: the NHS checks are batched either side of it.
SHARE_CODE_HOUR = 13


def _share_codes(session: Session, seeds: Seeds, m: int) -> None:
    """People with leave give share codes; employers, landlords and banks check them."""

    plan = seeds.plan
    stage = f"{plan.label(m)} share-code checks"
    reg = seeds.register
    rng = random.Random(f"{plan.seed}:codes:{m}")
    days = plan.days(m)
    monthly = plan.share_code_checks // plan.months
    status, checks = StatusService(session), CheckService(session)
    done = 0
    for ref, share in plan.share_code_split:
        purpose, code = SHARE_PURPOSES[ref]
        n = round(monthly * share)
        holders = rng.sample(reg.population, min(len(reg.population), max(1, n // CHECKS_PER_CODE)))
        with replay_clock(at(days[0], 7)):
            # Codes the people asked a caseworker for (the person's own page issues them one
            # at a time; the register's bulk path writes the same rows and audit entries).
            texts = status.create_share_codes(
                [(pid, purpose) for pid in holders], seeds.staff_principal("caseworker", m)
            )
        issued = [(t, reg.population_dob[pid]) for t, pid in zip(texts, holders, strict=True)]
        by_day: dict[date, list[ShareCodeQuery]] = {}
        for _ in range(n):
            text, born = rng.choice(issued)
            if rng.random() < plan.no_match_rate:  # a mistyped date of birth
                born = born + timedelta(days=1)
            by_day.setdefault(rng.choice(days), []).append(ShareCodeQuery(text, born, purpose))
        checker = seeds.partner(code)
        for day in sorted(by_day):
            with replay_clock(at(day, SHARE_CODE_HOUR)):
                for batch in people.chunks(by_day[day], 500):
                    checks.share_code_checks(checker, batch)
                    done += len(batch)
            seeds.progress(stage, done, monthly)


def _nhs(session: Session, seeds: Seeds, m: int) -> None:
    """The trust asks about patients by name and date of birth, about 50 times a day."""

    plan = seeds.plan
    stage = f"{plan.label(m)} NHS checks"
    reg = seeds.register
    rng = random.Random(f"{plan.seed}:nhs:{m}")
    checks = CheckService(session)
    nhs = seeds.partner("nhs")
    days = plan.days(m)
    for d, day in enumerate(days):
        calls = []
        for k in range(plan.nhs_checks_per_day):
            pid = rng.choice(reg.population)
            given, family = reg.population_names[pid]
            if rng.random() < 0.05:
                given = licences.typo(rng, given)
            moment = at(day, 8 + k * 10 // max(1, plan.nhs_checks_per_day), rng.randrange(60))
            query = AttributeQuery("nhs_charging", given, family, reg.population_dob[pid])
            calls.append((moment, query))
        # The morning's calls and the afternoon's are each answered as one batch
        # (``attribute_checks``), at its first call's moment and in the calls' order: the
        # checks keep their order among the day's checks (the share-code checks come between),
        # which the contests stage draws by, so the year is the one built a call at a time.
        # A refusal is audited where it happens and comes back in its place.
        calls.sort(key=lambda c: c[0])
        for half in (
            [c for c in calls if c[0].hour < SHARE_CODE_HOUR],
            [c for c in calls if c[0].hour >= SHARE_CODE_HOUR],
        ):
            if half:
                with replay_clock(half[0][0]):
                    checks.attribute_checks(nhs, [q for _, q in half])
        seeds.progress(
            stage, (d + 1) * plan.nhs_checks_per_day, len(days) * plan.nhs_checks_per_day
        )


# -- corrections ---------------------------------------------------------------------------
def correction_month(plan: Plan, p: people.PoolPerson) -> int | None:
    """The month a wrong refusal is found and corrected (None: right, or never on a list)."""
    if not p.wrong or p.issue:
        return None
    rng = random.Random(f"{plan.seed}:wrong:{p.person_id}")
    return rng.randrange(max(p.intake, 1) + 1, plan.months + 2) if plan.months > 2 else None


def _corrections(session: Session, seeds: Seeds, m: int) -> None:
    """Wrong refusals found this month: a caseworker corrects the decision (a second approves
    when it lifts an adverse action), every recipient gets a rectification notice, the person
    leaves the lists; recipients acknowledge last month's notices (a few stay overdue)."""

    plan = seeds.plan
    stage = f"{plan.label(m)} corrections"
    service = CorrectionService(session)
    watch = WatchlistService(session)
    rng = random.Random(f"{plan.seed}:corrections:{m}")
    found = seeds.corrected_in(m)
    days = plan.days(m)
    # Each correction's day, drawn in the order one at a time drew them; the day's corrections
    # are then made together (``correct_many``), at the moment each would have had alone.
    on: dict[datetime, list[int]] = {}
    for i in range(len(found)):
        on.setdefault(at(rng.choice(days), 15), []).append(i)
    done = 0
    for when in sorted(on):
        batch = on[when]
        with replay_clock(when):
            made = service.correct_many(
                [
                    NewCorrection(
                        seeds.staff_principal("caseworker", i),
                        target_kind="decision",
                        target_id=found[i].decision_id,
                        reason="The refusal was wrong: the person had leave (seed-scale demo)",
                        evidence_ref=f"SEEDS-REVIEW-{found[i].decision_id.hex[:10]}",
                        changes={"overturned": True, "outcome": "refusal withdrawn on review"},
                    )
                    for i in batch
                ],
                now=when,
            )
            service.approve_many(
                [
                    (c.id, seeds.staff_principal("caseworker", i + 1))
                    for i, c in zip(batch, made, strict=True)
                    if c.state == CorrectionState.PENDING_APPROVAL
                ],
                now=when,
            )
            asker = {found[i].person_id: seeds.staff_principal("caseworker", i) for i in batch}
            entries = session.execute(
                select(WatchlistEntry.id, WatchlistEntry.person_id).where(
                    WatchlistEntry.person_id.in_(list(asker)),
                    WatchlistEntry.state != EntryState.LEFT,
                )
            ).all()
            watch.leave_many(
                [(entry_id, asker[person_id]) for entry_id, person_id in entries],
                "decision corrected: refusal withdrawn",
            )
        done += len(batch)
        seeds.progress(stage, done, len(found))
    # Acknowledgements of notices sent before this month (their recipients act on them).
    start = at(plan.month_start(m), 0)
    # Which notices stay overdue, and the order delays are drawn in, follow what the seed
    # fixes (the corrected decision and the recipient's name), not the notices' random ids,
    # so the same seed builds the same year.
    waiting = session.execute(
        select(
            RectificationNotice.id,
            RectificationNotice.created_at,
            RectificationNotice.organisation_id,
            Correction.target_id,
            Organisation.name,
        )
        .join(Correction, Correction.id == RectificationNotice.correction_id)
        .join(Organisation, Organisation.id == RectificationNotice.organisation_id)
        .where(
            RectificationNotice.acknowledged_at.is_(None), RectificationNotice.created_at < start
        )
        .order_by(RectificationNotice.created_at, Correction.target_id, Organisation.name)
    ).all()
    for notice in waiting:
        key = f"{plan.seed}:ack:{notice.target_id}:{notice.name}"
        if random.Random(key).random() < plan.overdue:
            continue  # left overdue: the report shows it
        delay = timedelta(days=max(1, round(rng.gauss(plan.acknowledge_days, 3))), hours=2)
        with replay_clock(
            min(notice.created_at + delay, at(plan.month_end(m), 0) - timedelta(hours=1))
        ):
            recipient = Principal(
                organisation_id=notice.organisation_id, roles=frozenset({Role.PARTNER_USER})
            )
            NoticeService(session).acknowledge(notice.id, recipient, "Acted on (seed-scale demo)")


def _checkpoint(session: Session, seeds: Seeds) -> None:

    AuditService(session, get_settings()).checkpoint()


def stage_names(plan: Plan) -> Iterator[str]:
    return (s.name for s in stages(plan))
