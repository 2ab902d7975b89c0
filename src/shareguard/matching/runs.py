"""The match run pipeline: queue a run, then its stages — begin, prepare (reads), record
(candidates, disclosures, counts) or fail — and what a run left for its partner.

Services flush; the boundary commits. A run is a job (``matching.tasks.execute``) whose
stages are each their own unit of work; linking (``pairs.link``) happens between them with no
transaction open. A run's candidates, its disclosures (decided in batch by the policy, one
audit entry per disclosed pair) and its counts are recorded in one unit of work: a run either
records all that left or nothing. Progress goes through short units of its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from shareguard import telemetry
from shareguard.accounts.principal import Principal
from shareguard.agreements.models import Agreement
from shareguard.audit import AuditRecord, append
from shareguard.config import get_settings
from shareguard.errors import Conflict, InvalidInput, NotFound, ShareguardError
from shareguard.matching import access, datasets, engine
from shareguard.matching.imports import ImportService
from shareguard.matching.models import Candidate, MatchRun, RunState
from shareguard.matching.pairs import Pairs, RunInputs, pair_batches
from shareguard.matching.watchlist import Identity, WatchlistService, recipient_principal
from shareguard.policy import DisclosureRequest, disclose_many
from shareguard.status import StatusService, status_answer, subject_of
from shareguard.storage.base import new_id, utcnow
from shareguard.storage.db import on_commit

DISCLOSE_BATCH = 500


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
    #: Score with the trained model of this earlier run (under the same agreement) instead of
    #: training afresh: no u sampling, no EM; term frequencies still come from the partner
    #: file being matched. The run records which model it used (``MatchRun.model_run_id``).
    model_from: uuid.UUID | None = None


class RunService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def start_run(
        self,
        agreement_id: uuid.UUID,
        dataset_id: uuid.UUID,
        principal: Principal,
        options: RunOptions | None = None,
    ) -> MatchRun:
        """Queue a run after checking the agreement may be used for bulk matching now."""
        principal.require(*access.STAFF)
        options = options or RunOptions()
        agreement = access.agreement(self.session, agreement_id)
        access.require_usable(agreement)
        dataset = ImportService(self.session).dataset(dataset_id)
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
        if options.model_from is not None:
            trained_model(self.session, options.model_from, agreement.id, options.backend)
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
            model_run_id=options.model_from,
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
                    # Which trained model the run scores with: its own, or an earlier run's.
                    "model_from": str(run.model_run_id) if run.model_run_id else None,
                },
            ),
        )
        self.session.flush()
        return run

    def run(self, run_id: uuid.UUID, principal: Principal | None = None) -> MatchRun:
        """The run; with a principal, NotFound unless they may see it (as for a missing run)."""
        run = self.session.get(MatchRun, run_id)
        if run is None or (
            principal is not None and not access.may_see_run(self.session, principal, run)
        ):
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
        agreement = access.agreement(self.session, run.agreement_id)
        access.require_usable(agreement)
        out = Path(run.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        filter_file = out / "watchlist_filter.json"
        person_ids = (
            {uuid.UUID(p) for p in json.loads(filter_file.read_text())}
            if filter_file.exists()
            else None
        )
        gated = WatchlistService(self.session).gated(agreement.id, person_ids, identities=True)
        (out / "kept_out.json").write_text(
            json.dumps(
                [
                    {
                        "entry_id": str(e.id),
                        "person_ref": str(e.person_id),
                        "reasons": r,
                        "policy": gated.policy.get(e.id),
                    }
                    for e, r in gated.kept_out
                ],
                indent=2,
            )
        )
        watch = _watch_frame(gated.identities, [e.person_id for e in gated.included])
        partner = Path(ImportService(self.session).dataset(run.dataset_id).path)
        return RunInputs(
            out=out,
            watch=watch,
            partner_path=partner,
            counts={
                "watchlist": len(gated.included),
                # Counts by reason, the policy's kind apart (the report's people kept out by
                # pauses); with the rest, on the run's row and its audit entry.
                **gated.counts(),
                "partner_rows": pq.ParquetFile(partner).metadata.num_rows,
            },
            threshold=run.threshold,
            review_threshold=run.review_threshold,
            backend=run.backend,
            model=(
                trained_model(self.session, run.model_run_id, agreement.id, run.backend)
                if run.model_run_id
                else None
            ),
        )

    def record(self, run_id: uuid.UUID, inputs: RunInputs, pairs: Pairs) -> MatchRun:
        """Store a linked run's candidates, disclose its matches through the door, finish it.

        One unit of work: candidates, disclosures (each audited), counts and the run's end
        commit together or not at all. Once committed, the partner's results file is put in
        place (``partner_results.json``).
        """
        run = self.run(run_id)
        agreement = access.agreement(self.session, run.agreement_id)
        access.require_usable(agreement)
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

    def partner_results(self, run_id: uuid.UUID, principal: Principal) -> list[dict[str, Any]]:
        """What left for the partner: disclosed, minimised matches only."""
        run = self.run(run_id, principal)
        if run.state != RunState.SUCCEEDED:
            raise Conflict(f"the run is {run.state}", field="state")
        if not run.out_dir:  # a run replayed without its outputs (the demo's history)
            return []
        path = Path(run.out_dir) / "partner_results.json"
        return json.loads(path.read_text()) if path.exists() else []

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
        principal = recipient_principal(agreement)
        purpose = agreement.purposes[0] if agreement.purposes else ""
        people = list(dict.fromkeys(c["person_id"] for c in matches))
        # Each person's facts and standing as columns; the policy's subject is built from
        # them (the same one ``subjects_for`` reads), not read again.
        status = StatusService(self.session)
        facts = status.facts_many(people)
        standings = status.standings(people)
        subjects = {pid: subject_of(facts[pid], standings[pid].decisions) for pid in people}
        disclosed = refused = 0
        items = []
        data_items = tuple(agreement.data_items)
        for c in matches:
            pid = c["person_id"]
            # The same answer a check would give about the person (status.answer).
            built = status_answer(facts[pid], standings[pid], purpose)
            request = DisclosureRequest(
                principal=principal,
                action="bulk_disclosure",
                agreement_id=agreement.id,
                purpose=purpose,
                data_items=data_items,
                subject=subjects[pid],
            )
            items.append((request, built.answer, built.record_refs))
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


_MARK_CANDIDATE = (
    update(Candidate.__table__)  # type: ignore[arg-type]
    .where(Candidate.__table__.c.id == bindparam("cid"))
    .values(disclosure_id=bindparam("disclosure_id"), refused_reason=bindparam("refused_reason"))
)


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


def trained_model(
    session: Session, run_id: uuid.UUID, agreement_id: uuid.UUID, backend: str
) -> dict[str, Any]:
    """The trained model a finished run saved (``model.json``), for a run under the same
    agreement on the same backend to score with. Raises InvalidInput (field ``model_from``)
    if the run is missing, under another agreement, on another backend (a model's SQL is its
    backend's), not finished, or left no trained model."""
    source = session.get(MatchRun, run_id)
    if source is None:
        raise InvalidInput(f"match run {run_id} not found", field="model_from")
    if source.agreement_id != agreement_id:
        raise InvalidInput(
            "the model belongs to a run under another agreement: a model is reused only "
            "under the agreement it was trained for",
            field="model_from",
        )
    if source.backend != backend:
        raise InvalidInput(
            f"that model was trained on {source.backend}, not {backend}", field="model_from"
        )
    if source.state != RunState.SUCCEEDED:
        raise InvalidInput(
            f"the run whose model was asked for is {source.state}", field="model_from"
        )
    path = Path(source.out_dir) / "model.json" if source.out_dir else None
    if path is None or not path.is_file():
        raise InvalidInput("that run left no trained model to reuse", field="model_from")
    try:
        model = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        model = None
    # A damaged file (edited by hand, cut short) is refused like a missing one, not a 500.
    if not isinstance(model, dict) or not model.get("comparisons"):
        raise InvalidInput(
            "that run's saved model cannot be read: train a new one", field="model_from"
        )
    return model


def _publish(part: Path, final: Path) -> None:
    if part.exists():
        part.replace(final)


def _out_dir(wanted: Path | None, run_id: uuid.UUID) -> Path:
    """Where a run writes: inside the data directory, and never over files already there.

    A relative ``wanted`` is taken inside ``<data dir>/matching/runs``; any path that
    resolves (``..`` and symbolic links followed) outside the data directory, or to a
    directory that already holds files, is refused with InvalidInput naming ``out``.
    """
    base = get_settings().data_dir.resolve()
    if wanted is None:
        return datasets.data_dir() / "runs" / str(run_id)
    target = (wanted if wanted.is_absolute() else datasets.data_dir() / "runs" / wanted).resolve()
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


def _watch_frame(
    identities: Mapping[uuid.UUID, Identity], person_ids: Sequence[uuid.UUID]
) -> pd.DataFrame:
    """One row per name a watch-list person is known by (primary, aliases, transliterations).

    From what the gate read of them (``Gated.identities``): a run's list is tens of thousands
    of people, and reading their names and details again cost a tenth of its gating. The
    register's given names hold them all: the first is the forename, the rest are the middle
    names (compared on their own, so that "Anna Maria" meets a file's "Anna" and "M")."""
    rows = [
        (f"{pid}~{i}", first, middle, family, born.isoformat(), postcode or None)
        for pid in sorted(set(person_ids))
        if pid in identities
        for born, postcode, names in (identities[pid],)
        for i, (given, family) in enumerate(names)
        for first, middle in (_split_given(given),)
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "unique_id",
            "first_name",
            "middle_names",
            "surname",
            "date_of_birth",
            "postcode",
        ],
    )


def _split_given(given: str | None) -> tuple[str | None, str | None]:
    """Given names as (forename, middle names): the first, then the rest (None for none)."""
    parts = (given or "").split()
    if not parts:
        return given, None
    return parts[0], " ".join(parts[1:]) or None
