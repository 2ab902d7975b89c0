"""Bulk matching operations: import partner datasets, run matches, review, adverse actions.

Services flush; the request or CLI boundary commits. A match run is a job
(``matching.tasks.execute``) in stages, each its own unit of work: begin, prepare (reads),
link (no database), record. Its candidates, its disclosures (decided in batch by the policy,
one audit entry per disclosed pair) and its counts are recorded in one unit of work: a run
either records all that left or nothing. Progress goes through short units of its own.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from shareguard import telemetry
from shareguard.accounts.principal import Principal
from shareguard.agreements.models import Agreement
from shareguard.audit import AuditRecord, append
from shareguard.config import get_settings
from shareguard.csvfile import safe_frame
from shareguard.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Refused,
    ShareguardError,
    keep_audit,
)
from shareguard.matching import datasets, engine
from shareguard.matching.models import (
    AdverseAction,
    Candidate,
    MatchRun,
    PartnerDataset,
    Review,
    ReviewOutcome,
    RunState,
)
from shareguard.matching.watchlist import WatchlistService, recipient_principal
from shareguard.status import StatusService, status_answer
from shareguard.status.models import Person
from shareguard.storage.base import new_id, today, utcnow
from shareguard.storage.db import on_commit, on_rollback

log = logging.getLogger(__name__)

STAFF = ("governance_officer", "caseworker")
REVIEWER = "reviewer"
ADVERSE_KINDS = ("licence_revoked", "account_closed", "benefit_stopped", "other")
DISCLOSE_BATCH = 500
#: Called with a stage name and the fraction of the run done (0..1).
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class RunOptions:
    threshold: float = 0.95
    review_threshold: float = 0.5
    backend: str = "duckdb"
    two_person_rule: bool = True
    out_dir: Path | None = None
    #: Limit the run to these persons (a watch-list file); None means the whole current list.
    person_ids: frozenset[uuid.UUID] | None = None
    watchlist_source: str = "current"


@dataclass(frozen=True)
class RunInputs:
    """What a run links, read before linking starts (no transaction is held while it links).

    The partner file stays on disk (``partner_path``, Parquet from import on); DuckDB reads
    it in place. ``partner`` loads it whole, for the in-memory path (Spark).
    """

    out: Path
    watch: pd.DataFrame
    partner_path: Path
    counts: dict[str, Any]
    threshold: float
    review_threshold: float
    backend: str

    @property
    def partner(self) -> pd.DataFrame:
        return datasets.read_dataset(self.partner_path)


#: Scored pairs: a frame (the in-memory path) or a Parquet file streamed by DuckDB.
Pairs: TypeAlias = pd.DataFrame | Path
PAIR_COLUMNS = list(engine.PAIR_COLUMNS)


def link(
    inputs: RunInputs, say: Progress, spark: Any | None = None
) -> tuple[Pairs, dict[str, Any]]:
    """Link the watch list with the partner file: the best pair per person and record, banded,
    and the trained model. Touches no database (it runs between a run's units of work).

    On DuckDB the pairs stream to ``matches.parquet`` in the run's folder and that path is
    returned: memory stays within ``SHAREGUARD_MATCH_MEMORY_LIMIT`` (and what Python holds
    for one chunk), DuckDB spilling to ``SHAREGUARD_MATCH_TEMP_DIR`` past it. Spark returns
    a frame.
    """

    def linking(stage: str, done: float) -> None:
        say(f"linking: {stage}", 0.05 + 0.75 * done)

    if inputs.watch.empty or not inputs.counts.get("partner_rows"):
        pairs = pd.DataFrame(columns=PAIR_COLUMNS)
        trained: dict[str, Any] = {}
    elif inputs.backend == "duckdb":
        settings = get_settings()
        streamed = engine.link_out_of_core(
            inputs.watch,
            inputs.partner_path,
            inputs.out / "matches.parquet",
            threshold=inputs.review_threshold,
            match_threshold=inputs.threshold,
            work_dir=settings.match_temp_dir or _data_dir() / "tmp",
            memory_limit=settings.match_memory_limit,
            threads=settings.match_threads,
            progress=linking,
        )
        return streamed.path, streamed.trained_model
    else:
        result = engine.link(
            inputs.watch,
            inputs.partner,
            threshold=inputs.review_threshold,
            backend=inputs.backend,
            progress=linking,
            spark=spark,
        )
        pairs, trained = _best_per_person(result.pairs), result.trained_model
    pairs["band"] = [
        "match" if p >= inputs.threshold else "possible" for p in pairs["match_probability"]
    ]
    return pairs, trained


def pair_batches(pairs: Pairs, rows: int = 1000) -> Iterator[pd.DataFrame]:
    """The pairs ``rows`` at a time, in their order (strongest first)."""
    if isinstance(pairs, pd.DataFrame):
        for i in range(0, len(pairs), rows):
            yield pairs.iloc[i : i + rows]
        return
    import pyarrow.parquet as pq  # heavy: loaded only for a run's streamed pairs

    for batch in pq.ParquetFile(pairs).iter_batches(batch_size=rows):
        yield batch.to_pandas()


class _JsonList:
    """Writes a JSON list item by item, laid out as ``json.dumps(items, indent=2)`` would."""

    def __init__(self, path: Path) -> None:
        self.fh = path.open("w")
        self.count = 0

    def add(self, item: dict[str, Any]) -> None:
        text = json.dumps(item, indent=2, default=str).replace("\n", "\n  ")
        self.fh.write(("[\n  " if self.count == 0 else ",\n  ") + text)
        self.count += 1

    def close(self) -> None:
        self.fh.write("\n]" if self.count else "[]")
        self.fh.close()


def _publish(part: Path, final: Path) -> None:
    if part.exists():
        part.replace(final)


def _data_dir() -> Path:
    return get_settings().data_dir / "matching"


def _out_dir(wanted: Path | None, run_id: uuid.UUID) -> Path:
    """Where a run writes: inside the data directory, and never over files already there.

    A relative ``wanted`` is taken inside ``<data dir>/matching/runs``; any path that
    resolves (``..`` and symbolic links followed) outside the data directory, or to a
    directory that already holds files, is refused with InvalidInput naming ``out``.
    """
    base = get_settings().data_dir.resolve()
    if wanted is None:
        return _data_dir() / "runs" / str(run_id)
    target = (wanted if wanted.is_absolute() else _data_dir() / "runs" / wanted).resolve()
    if not target.is_relative_to(base):
        raise InvalidInput("the output directory must be inside the data directory", field="out")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInput("the output directory must be new or empty", field="out")
    return target


def _timed(run: MatchRun) -> None:
    """Report the run's duration to the operators' metrics."""
    if run.started_at is not None and run.finished_at is not None:
        seconds = (run.finished_at - run.started_at).total_seconds()
        telemetry.observe("match_run_seconds", seconds, state=str(run.state))


def _safe_error(exc: BaseException) -> str:
    """A message fit for storage: domain messages carry no personal data; others, the type."""
    if isinstance(exc, ShareguardError):
        return exc.detail
    return f"{type(exc).__name__} (see the server log)"


class MatchingService:
    def __init__(self, session: Session) -> None:
        self.session = session

    # datasets ----------------------------------------------------------------------
    def import_dataset(
        self,
        path: Path,
        mapping: dict[str, str] | list[str],
        agreement_id: uuid.UUID,
        principal: Principal,
        *,
        mode: str = "reject",
        name: str | None = None,
        progress: datasets.Progress | None = None,
    ) -> PartnerDataset:
        """Validate and store a partner file. Raises FileRejected (nothing kept) in reject mode."""
        agreement = self._agreement(agreement_id)
        self._may_supply(principal, agreement)
        parsed = datasets.parse_mapping(mapping)
        dataset_id = new_id()
        folder = _data_dir() / "datasets"
        dest = folder / f"{dataset_id}.parquet"
        report = folder / f"{dataset_id}.quarantine.csv" if mode == "quarantine" else None
        outcome = datasets.import_file(
            path, parsed, dest, mode=mode, quarantine_report=report, progress=progress
        )
        row = PartnerDataset(
            id=dataset_id,
            agreement_id=agreement.id,
            organisation_id=principal.organisation_id,
            name=(name or path.name)[:200],
            source_format=path.suffix.lower().lstrip("."),
            mapping=parsed,
            mode=mode,
            path=str(dest),
            quarantine_path=str(report) if report and outcome.bad_rows else None,
            rows=outcome.rows,
            quarantined=outcome.bad_rows,
            sha256=outcome.sha256,
            imported_by=principal.user_id,
        )
        self.session.add(row)
        append(
            self.session,
            AuditRecord(
                action="matching.dataset_import",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                agreement_id=agreement.id,
                details={
                    "dataset_id": str(dataset_id),
                    "rows": outcome.rows,
                    "quarantined": outcome.bad_rows,
                    "sha256": outcome.sha256,
                    "mode": mode,
                },
            ),
        )
        self.session.flush()
        # The file is kept only if the row describing it commits.
        on_rollback(self.session, lambda: dest.unlink(missing_ok=True))
        return row

    def dataset(self, dataset_id: uuid.UUID) -> PartnerDataset:
        row = self.session.get(PartnerDataset, dataset_id)
        if row is None:
            raise NotFound(f"dataset {dataset_id} not found")
        return row

    def quarantine_errors(self, dataset_id: uuid.UUID) -> list[dict[str, Any]]:
        row = self.dataset(dataset_id)
        if not row.quarantine_path or not Path(row.quarantine_path).exists():
            return []
        frame = pd.read_csv(row.quarantine_path)
        return [
            {"line": int(r.line), "column": r.column, "reason": r.reason}
            for r in frame.itertuples(index=False)
        ]

    # runs --------------------------------------------------------------------------
    def start_run(
        self,
        agreement_id: uuid.UUID,
        dataset_id: uuid.UUID,
        principal: Principal,
        options: RunOptions | None = None,
    ) -> MatchRun:
        """Queue a run after checking the agreement may be used for bulk matching now."""
        principal.require(*STAFF)
        options = options or RunOptions()
        agreement = self._agreement(agreement_id)
        self._usable(agreement)
        dataset = self.dataset(dataset_id)
        if dataset.agreement_id != agreement.id:
            raise InvalidInput(
                "the dataset was imported under another agreement", field="dataset_id"
            )
        if not 0 < options.review_threshold <= options.threshold <= 1:
            raise InvalidInput("need 0 < review_threshold ≤ threshold ≤ 1", field="threshold")
        if options.backend not in engine.BACKENDS:
            raise InvalidInput(
                f"backend must be one of: {', '.join(engine.BACKENDS)}", field="backend"
            )
        run = MatchRun(
            id=new_id(),
            agreement_id=agreement.id,
            dataset_id=dataset.id,
            watchlist_source=options.watchlist_source[:200],
            backend=options.backend,
            threshold=options.threshold,
            review_threshold=options.review_threshold,
            two_person_rule=options.two_person_rule,
            state=RunState.QUEUED,
            started_by=principal.user_id,
            started_org=principal.organisation_id,
        )
        run.out_dir = str(_out_dir(options.out_dir, run.id))
        self.session.add(run)
        self.session.flush()
        if options.person_ids is not None:
            Path(run.out_dir).mkdir(parents=True, exist_ok=True)
            (Path(run.out_dir) / "watchlist_filter.json").write_text(
                json.dumps(sorted(str(p) for p in options.person_ids))
            )
        append(
            self.session,
            AuditRecord(
                action="matching.run_start",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                agreement_id=agreement.id,
                details={
                    "run_id": str(run.id),
                    "dataset_id": str(dataset.id),
                    "backend": run.backend,
                    "threshold": run.threshold,
                    "watchlist": run.watchlist_source,
                },
            ),
        )
        self.session.flush()
        return run

    def run(self, run_id: uuid.UUID, principal: Principal | None = None) -> MatchRun:
        run = self.session.get(MatchRun, run_id)
        if run is None or (principal is not None and not self._may_see_run(principal, run)):
            raise NotFound(f"match run {run_id} not found")
        return run

    def runs(self, agreement_id: uuid.UUID | None = None, limit: int = 50) -> list[MatchRun]:
        stmt = select(MatchRun).order_by(MatchRun.created_at.desc()).limit(limit)
        if agreement_id:
            stmt = stmt.where(MatchRun.agreement_id == agreement_id)
        return list(self.session.scalars(stmt))

    # the run's stages (``matching.tasks.execute`` gives each its own unit of work) --------
    def begin(self, run_id: uuid.UUID) -> MatchRun:
        """Mark a queued run running. Raises Conflict if it is not queued."""
        run = self.run(run_id)
        if run.state != RunState.QUEUED:
            raise Conflict(f"the run is {run.state}, not queued", field="state")
        run.state = RunState.RUNNING
        run.started_at = utcnow()
        run.stage = "gating the watch list"
        run.progress = 0.01
        self.session.flush()
        return run

    def progress(self, run_id: uuid.UUID, stage: str, done: float) -> float:
        """Record a running run's stage and progress (never going back); returns the progress."""
        run = self.run(run_id)
        run.stage = stage[:60]
        run.progress = round(max(run.progress, min(done, 1.0)), 4)
        self.session.flush()
        return run.progress

    def prepare(self, run_id: uuid.UUID) -> RunInputs:
        """Read what a run links: the gated watch list and the partner file. Writes no rows.

        Writes ``kept_out.json`` (who the gate kept out, and why) to the run's folder.
        """
        run = self.run(run_id)
        agreement = self._agreement(run.agreement_id)
        self._usable(agreement)
        out = Path(run.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        filter_file = out / "watchlist_filter.json"
        person_ids = (
            {uuid.UUID(p) for p in json.loads(filter_file.read_text())}
            if filter_file.exists()
            else None
        )
        included, kept_out = WatchlistService(self.session).current(agreement.id, person_ids)
        (out / "kept_out.json").write_text(
            json.dumps(
                [
                    {"entry_id": str(e.id), "person_ref": str(e.person_id), "reasons": r}
                    for e, r in kept_out
                ],
                indent=2,
            )
        )
        watch = _watch_frame(self._persons([e.person_id for e in included]))
        partner = Path(self.dataset(run.dataset_id).path)
        import pyarrow.parquet as pq  # heavy: loaded only when a run starts

        return RunInputs(
            out=out,
            watch=watch,
            partner_path=partner,
            counts={
                "watchlist": len(included),
                "kept_out": len(kept_out),
                "partner_rows": pq.ParquetFile(partner).metadata.num_rows,
            },
            threshold=run.threshold,
            review_threshold=run.review_threshold,
            backend=run.backend,
        )

    def record(self, run_id: uuid.UUID, inputs: RunInputs, pairs: Pairs) -> MatchRun:
        """Store a linked run's candidates, disclose its matches through the door, finish it.

        One unit of work: candidates, disclosures (each audited), counts and the run's end
        commit together or not at all. Once committed, the partner's results file is put in
        place (``partner_results.json``).
        """
        run = self.run(run_id)
        agreement = self._agreement(run.agreement_id)
        self._usable(agreement)
        # Streamed: a batch of pairs becomes candidates, then its matches are disclosed, so
        # memory holds one batch whatever the size of the run.
        sink = _JsonList(inputs.out / "partner_results.part.json")
        n_candidates = n_matches = disclosed = refused = 0
        try:
            for batch in pair_batches(pairs, rows=2 * DISCLOSE_BATCH):
                candidates = self._store_candidates(run, batch)
                matches = [c for c in candidates if c["band"] == "match"]
                n_candidates += len(candidates)
                n_matches += len(matches)
                for i in range(0, len(matches), DISCLOSE_BATCH):
                    done = self._disclose(agreement, matches[i : i + DISCLOSE_BATCH], sink)
                    disclosed, refused = disclosed + done[0], refused + done[1]
        finally:
            sink.close()
        counts: dict[str, Any] = {
            **inputs.counts,
            "candidates": n_candidates,
            "matches": n_matches,
            "disclosed": disclosed,
            "refused": refused,
        }
        run.counts = counts
        run.state = RunState.SUCCEEDED
        run.stage = "done"
        run.progress = 1.0
        run.finished_at = utcnow()
        _timed(run)
        append(
            self.session,
            AuditRecord(
                action="matching.run_finish",
                agreement_id=agreement.id,
                actor_org_id=run.started_org,
                actor_user_id=run.started_by,
                details={"run_id": str(run.id), **counts},
            ),
        )
        self.session.flush()
        results = inputs.out / "partner_results.part.json"
        on_commit(self.session, lambda: _publish(results, inputs.out / "partner_results.json"))
        return run

    def fail(self, run_id: uuid.UUID, error: BaseException) -> MatchRun:
        """Mark a run failed, with a message free of personal data."""
        run = self.run(run_id)
        run.state = RunState.FAILED
        run.error = _safe_error(error)[:2000]
        run.finished_at = utcnow()
        _timed(run)
        self.session.flush()
        return run

    def _persons(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Person]:
        found: dict[uuid.UUID, Person] = {}
        ids = list(ids)
        for i in range(0, len(ids), 500):
            for p in self.session.scalars(select(Person).where(Person.id.in_(ids[i : i + 500]))):
                found[p.id] = p
        return found

    def _store_candidates(self, run: MatchRun, pairs: pd.DataFrame) -> list[dict[str, Any]]:
        rows = [
            {
                "id": new_id(),
                "run_id": run.id,
                "person_id": uuid.UUID(r.watchlist_id),
                "partner_record_id": r.partner_id,
                "match_probability": float(r.match_probability),
                "match_weight": float(r.match_weight),
                "explanation": json.loads(r.explanation),
                "band": r.band,
                "review_state": "pending",
                "refused_reason": "",
            }
            for r in pairs.itertuples(index=False)
        ]
        for i in range(0, len(rows), 1000):
            self.session.execute(insert(Candidate), rows[i : i + 1000])
        return rows

    def _disclose(
        self, agreement: Agreement, matches: list[dict[str, Any]], results: _JsonList
    ) -> tuple[int, int]:
        """Policy-decided, audited disclosure of a batch of matches; pauses apply per person.

        What leaves is added to ``results`` (the partner's file)."""
        from shareguard.policy import DisclosureRequest, disclose_many
        from shareguard.status import subjects_for

        principal = recipient_principal(agreement)
        purpose = agreement.purposes[0] if agreement.purposes else ""
        people = sorted({c["person_id"] for c in matches})
        persons = self._persons(people)
        subjects = subjects_for(self.session, people)
        standings = StatusService(self.session).standings(people)
        disclosed = refused = 0
        items = []
        for c in matches:
            # The same answer a check would give about the person (status.answer).
            built = status_answer(persons[c["person_id"]], standings[c["person_id"]], purpose)
            answer, refs = built.answer, built.record_refs
            request = DisclosureRequest(
                principal=principal,
                action="bulk_disclosure",
                agreement_id=agreement.id,
                purpose=purpose,
                data_items=tuple(agreement.data_items),
                subject=subjects[c["person_id"]],
            )
            items.append((request, answer, refs))
        outcomes = disclose_many(self.session, items, kind="match_result")
        # One UPDATE per batch by primary key (the candidates were inserted in bulk and
        # are not in the session): loading each one would cost a query, and its reviews.
        marks: list[dict[str, Any]] = []
        for c, done in zip(matches, outcomes, strict=True):
            if done.decision.allowed and done.answer is not None:
                disclosed += 1
                marks.append(
                    {"cid": c["id"], "disclosure_id": done.disclosure_id, "refused_reason": ""}
                )
                results.add(
                    {
                        "candidate_id": str(c["id"]),
                        "partner_record_id": c["partner_record_id"],
                        "match_probability": c["match_probability"],
                        "person": done.answer,
                    }
                )
            else:
                refused += 1
                marks.append(
                    {
                        "cid": c["id"],
                        "disclosure_id": None,
                        "refused_reason": done.decision.reason[:300],
                    }
                )
        if marks:
            self.session.connection().execute(_MARK_CANDIDATE, marks)
        return disclosed, refused
        return disclosed, refused

    def partner_results(self, run_id: uuid.UUID, principal: Principal) -> list[dict[str, Any]]:
        """What left for the partner: disclosed, minimised matches only."""
        run = self.run(run_id, principal)
        if run.state != RunState.SUCCEEDED:
            raise Conflict(f"the run is {run.state}", field="state")
        if not run.out_dir:  # a run replayed without its outputs (the demo's history)
            return []
        path = Path(run.out_dir) / "partner_results.json"
        return json.loads(path.read_text()) if path.exists() else []

    # review ------------------------------------------------------------------------
    def candidate(self, candidate_id: uuid.UUID) -> Candidate:
        row = self.session.get(Candidate, candidate_id)
        if row is None:
            raise NotFound(f"candidate {candidate_id} not found")
        return row

    def queue(
        self,
        principal: Principal,
        run_id: uuid.UUID | None = None,
        state: str = "pending",
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Candidate], int]:
        """Candidates waiting for review, strongest first."""
        principal.require(REVIEWER, *STAFF)
        stmt = select(Candidate).where(Candidate.review_state == state)
        if run_id:
            stmt = stmt.where(Candidate.run_id == run_id)
        total = self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = self.session.scalars(
            stmt.order_by(Candidate.match_probability.desc(), Candidate.id)
            .limit(limit)
            .offset(offset)
        )
        return list(rows), total

    def side_by_side(self, candidate_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
        """Both records and the explanation, for a reviewer (an internal view, not a disclosure)."""
        principal.require(REVIEWER, *STAFF)
        cand = self.candidate(candidate_id)
        run = self.run(cand.run_id)
        person = self.session.get(Person, cand.person_id)
        assert person is not None
        dataset = self.dataset(run.dataset_id)
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        # The file can be gone (retention, or the demo's replayed history has none): the
        # reviewer still sees the watch-list side and the explanation.
        held = bool(dataset.path) and Path(dataset.path).is_file()
        partner: dict[str, Any] = {}
        if held:
            table = pq.read_table(
                dataset.path, filters=pc.field("record_id") == cand.partner_record_id
            )
            partner = table.to_pylist()[0] if table.num_rows else {}
        name = person.primary_name()
        return {
            "candidate_id": str(cand.id),
            "run_id": str(run.id),
            "match_probability": cand.match_probability,
            "match_weight": cand.match_weight,
            "band": cand.band,
            "review_state": cand.review_state,
            "explanation": cand.explanation,
            "watchlist": {
                "person_id": str(person.id),
                "given": name.given if name else None,
                "family": name.family if name else None,
                "other_names": [f"{n.given} {n.family}" for n in person.names if n is not name],
                "date_of_birth": person.date_of_birth.isoformat(),
                "postcode": person.postcode or None,
            },
            "partner": {
                "record_id": cand.partner_record_id,
                "held": held,
                "first_name": partner.get("first_name"),
                "surname": partner.get("surname"),
                "date_of_birth": partner.get("date_of_birth"),
                "postcode": partner.get("postcode"),
            },
            "reviews": [
                {
                    "outcome": r.outcome,
                    "reviewer_id": str(r.reviewer_id),
                    "at": r.at.isoformat(),
                    "note": r.note,
                }
                for r in cand.reviews
            ],
        }

    def review(
        self, candidate_id: uuid.UUID, outcome: str, principal: Principal, note: str = ""
    ) -> Candidate:
        """Record a reviewer's decision: same person, not the same, or need more information."""
        principal.require(REVIEWER)
        if outcome not in {o.value for o in ReviewOutcome}:
            raise InvalidInput("outcome must be same, not_same or need_info", field="outcome")
        cand = self.candidate(candidate_id)
        self.session.add(
            Review(
                candidate_id=cand.id,
                reviewer_id=principal.user_id,
                outcome=outcome,
                note=note[:2000],
            )
        )
        self.session.flush()
        self.session.refresh(cand)
        run = self.run(cand.run_id)
        cand.review_state = review_state(cand.reviews, run.two_person_rule)
        append(
            self.session,
            AuditRecord(
                action="matching.review",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                agreement_id=run.agreement_id,
                subject_ref=str(cand.person_id),
                decision=outcome,
                details={
                    "candidate_id": str(cand.id),
                    "run_id": str(run.id),
                    "state": cand.review_state,
                },
            ),
        )
        self.session.flush()
        return cand

    # adverse actions ---------------------------------------------------------------
    def report_adverse_action(
        self, candidate_id: uuid.UUID, kind: str, contest_route: str, principal: Principal
    ) -> AdverseAction:
        """A partner reports an adverse outcome; refused unless the match has a confirmed review."""
        cand = self.candidate(candidate_id)
        run = self.run(cand.run_id)
        agreement = self._agreement(run.agreement_id)
        if principal.organisation_id not in agreement.recipients() or cand.disclosure_id is None:
            raise NotFound(f"candidate {candidate_id} not found")
        if kind not in ADVERSE_KINDS:
            raise InvalidInput(f"kind must be one of: {', '.join(ADVERSE_KINDS)}", field="kind")
        if not contest_route.strip():
            raise InvalidInput("say how the person can contest the action", field="contest_route")
        if not confirmed(cand.reviews, run.two_person_rule):
            need = (
                "two reviewers' confirmation"
                if run.two_person_rule
                else "a reviewer's confirmation"
            )
            append(
                self.session,
                AuditRecord(
                    action="matching.adverse_action",
                    actor_org_id=principal.organisation_id,
                    actor_user_id=principal.user_id,
                    agreement_id=agreement.id,
                    subject_ref=str(cand.person_id),
                    decision="deny",
                    reasons=("no_confirmed_review",),
                    details={"candidate_id": str(cand.id), "kind": kind},
                ),
            )
            raise keep_audit(
                Refused(
                    f"no adverse action without {need} that this is the same person",
                    field="candidate_id",
                )
            )
        action = AdverseAction(
            candidate_id=cand.id,
            agreement_id=agreement.id,
            organisation_id=principal.organisation_id,
            kind=kind,
            contest_route=contest_route.strip(),
        )
        self.session.add(action)
        append(
            self.session,
            AuditRecord(
                action="matching.adverse_action",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                agreement_id=agreement.id,
                subject_ref=str(cand.person_id),
                decision="permit",
                details={"candidate_id": str(cand.id), "kind": kind},
            ),
        )
        self.session.flush()
        return action

    def adverse_actions(self, agreement_id: uuid.UUID) -> list[AdverseAction]:
        return list(
            self.session.scalars(
                select(AdverseAction)
                .where(AdverseAction.agreement_id == agreement_id)
                .order_by(AdverseAction.reported_at)
            )
        )

    # helpers -----------------------------------------------------------------------
    def _agreement(self, agreement_id: uuid.UUID) -> Agreement:
        agreement = self.session.get(Agreement, agreement_id)
        if agreement is None:
            raise NotFound(f"agreement {agreement_id} not found")
        return agreement

    def _usable(self, agreement: Agreement) -> None:
        if not agreement.bulk:
            raise Refused("this agreement does not allow bulk matching", field="agreement_id")
        if not agreement.in_force(today()):
            raise Refused(
                "this agreement is not in force (active, signed off, within its dates and review)",
                field="agreement_id",
            )

    def _may_supply(self, principal: Principal, agreement: Agreement) -> None:
        if principal.has(*STAFF):
            return
        if principal.organisation_id in agreement.recipients():
            return
        raise Forbidden("only a party receiving under this agreement may supply its dataset")

    def _may_see_run(self, principal: Principal, run: MatchRun) -> bool:
        if principal.has(*STAFF, REVIEWER, "auditor"):
            return True
        agreement = self.session.get(Agreement, run.agreement_id)
        return agreement is not None and principal.organisation_id in agreement.recipients()


_MARK_CANDIDATE = (
    update(Candidate.__table__)  # type: ignore[arg-type]
    .where(Candidate.__table__.c.id == bindparam("cid"))
    .values(disclosure_id=bindparam("disclosure_id"), refused_reason=bindparam("refused_reason"))
)


def review_state(reviews: Sequence[Review], two_person_rule: bool) -> str:
    """The candidate's state from its reviews: the latest word wins, unless it needs a second."""
    if not reviews:
        return "pending"
    latest = reviews[-1].outcome
    if latest == ReviewOutcome.SAME and not confirmed(reviews, two_person_rule):
        return "pending"
    return latest


def confirmed(reviews: Sequence[Review], two_person_rule: bool) -> bool:
    """Same person, by one reviewer — or two different reviewers under the two-person rule —
    with no later "not the same" or "need more information"."""
    latest: dict[uuid.UUID | None, str] = {}
    for r in reviews:
        latest[r.reviewer_id] = r.outcome
    if not reviews or reviews[-1].outcome != ReviewOutcome.SAME:
        return False
    if any(o != ReviewOutcome.SAME for o in latest.values()):
        return False
    return len([k for k, o in latest.items() if o == ReviewOutcome.SAME]) >= (
        2 if two_person_rule else 1
    )


def _watch_frame(persons: dict[uuid.UUID, Person]) -> pd.DataFrame:
    """One row per name a watch-list person is known by (primary, aliases, transliterations)."""
    rows = []
    for pid, person in persons.items():
        for i, n in enumerate(person.names):
            rows.append(
                {
                    "unique_id": f"{pid}~{i}",
                    "first_name": n.given,
                    "surname": n.family,
                    "date_of_birth": person.date_of_birth.isoformat(),
                    "postcode": person.postcode or None,
                }
            )
    return pd.DataFrame(
        rows, columns=["unique_id", "first_name", "surname", "date_of_birth", "postcode"]
    )


def _best_per_person(pairs: pd.DataFrame) -> pd.DataFrame:
    """Collapse the per-name rows: keep each (person, partner record)'s strongest pair."""
    if pairs.empty:
        return pairs
    pairs = pairs.copy()
    pairs["watchlist_id"] = pairs["watchlist_id"].str.split("~").str[0]
    pairs = pairs.sort_values("match_probability", ascending=False, kind="stable")
    return pairs.drop_duplicates(["watchlist_id", "partner_id"]).reset_index(drop=True)


def write_outputs(out: Path, pairs: Pairs, trained: dict[str, Any]) -> None:
    """matches.parquet and .csv (DESIGN §7), and the trained model saved with the run.

    Streamed pairs (a Parquet file) are copied into place if elsewhere and turned into CSV
    a batch at a time."""
    final = out / "matches.parquet"
    if isinstance(pairs, Path):
        if pairs.resolve() != final.resolve():
            tmp = out / "matches.parquet.part"
            shutil.copyfile(pairs, tmp)
            tmp.replace(final)
        frames: Iterator[pd.DataFrame] = pair_batches(final, rows=20_000)
    else:
        frame = pairs[PAIR_COLUMNS] if len(pairs) else pd.DataFrame(columns=PAIR_COLUMNS)
        tmp = out / "matches.parquet.part"
        frame.to_parquet(tmp, index=False)
        tmp.replace(final)
        frames = iter([frame])
    # Partner-supplied ids reach this file: spreadsheets must not run them as formulas.
    with (out / "matches.csv").open("w", newline="") as fh:
        first = True
        for chunk in frames:
            safe_frame(chunk[PAIR_COLUMNS]).to_csv(fh, index=False, header=first)
            first = False
        if first:
            fh.write(",".join(PAIR_COLUMNS) + "\n")
    (out / "model.json").write_text(json.dumps(trained, indent=2))


def remove_outputs(run: MatchRun) -> None:
    shutil.rmtree(run.out_dir, ignore_errors=True)
