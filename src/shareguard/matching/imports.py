"""Partner dataset import: a partner's file validated against its mapping, stored as Parquet
beside the row that describes it, and audited (``datasets`` reads and writes the files)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from shareguard.accounts.principal import Principal
from shareguard.audit import AuditRecord, append
from shareguard.errors import NotFound
from shareguard.matching import access, datasets
from shareguard.matching.models import PartnerDataset
from shareguard.storage.base import new_id
from shareguard.storage.db import on_rollback


class ImportService:
    def __init__(self, session: Session) -> None:
        self.session = session

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
        agreement = access.agreement(self.session, agreement_id)
        access.require_supplier(principal, agreement)
        parsed = datasets.parse_mapping(mapping)
        dataset_id = new_id()
        folder = datasets.data_dir() / "datasets"
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

    def quarantine_errors(
        self, dataset_id: uuid.UUID, principal: Principal
    ) -> list[dict[str, Any]]:
        """The rows a quarantined import left out (line, column, reason; never a value).

        Raises NotFound, or Forbidden unless the principal may supply the agreement's dataset.
        """
        row = self.dataset(dataset_id)
        access.require_supplier(principal, access.agreement(self.session, row.agreement_id))
        if not row.quarantine_path or not Path(row.quarantine_path).exists():
            return []
        frame = pd.read_csv(row.quarantine_path)
        return [
            {"line": int(r.line), "column": r.column, "reason": r.reason}
            for r in frame.itertuples(index=False)
        ]
