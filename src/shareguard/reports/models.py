"""Value assessments: the governance officer's judgement of whether an agreement is worth it."""

from __future__ import annotations

import enum
import uuid
from datetime import date

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shareguard.storage.base import Base, CreatedMixin, IdMixin


class EvidenceStrength(enum.StrEnum):
    NONE = "none"
    WEAK = "weak"
    MODERATE = "moderate"
    STRONG = "strong"


class Conclusion(enum.StrEnum):
    CONTINUE = "continue"
    AMEND = "amend"
    SUSPEND = "suspend"
    END = "end"


class ValueAssessment(IdMixin, CreatedMixin, Base):
    """Benefit claimed against evidence for one agreement over one period; append-only."""

    __tablename__ = "value_assessments"

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    benefit_claimed: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    evidence_strength: Mapped[str] = mapped_column(String(10))
    #: The measured figures the officer saw when assessing (error rate, volumes...).
    error_rate: Mapped[float | None] = mapped_column(default=None)
    disclosures: Mapped[int] = mapped_column(default=0)
    adverse_actions: Mapped[int] = mapped_column(default=0)
    conclusion: Mapped[str] = mapped_column(String(10))
    next_review_date: Mapped[date] = mapped_column(Date)
    assessed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
