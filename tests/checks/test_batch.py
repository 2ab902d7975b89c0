"""Share-code and attribute checks in a batch record each check as one check alone would."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from shareguard.audit.models import AuditEntry
from shareguard.checks import AttributeQuery, CheckService, ShareCodeQuery
from shareguard.checks.models import Case, Check
from shareguard.errors import InvalidInput, ShareguardError
from shareguard.storage.base import today
from tests import factories
from tests.checks.test_checks import DL_ITEMS, DOB, RTW_ITEMS, code_for, person


@pytest.fixture
def rtw(world: Any) -> Any:
    """An active right-to-work agreement with the test agency as recipient."""
    return world.agreement(purposes=["right_to_work"], data_items=RTW_ITEMS)


def _people(world: Any) -> list[tuple[str, date, str]]:
    """(code, date of birth given, purpose) covering every outcome a share code can have."""
    works = person(world, "Ana", "Batchtest")
    no_work = person(world, "Bo", "Batchtest", may_work=False)
    appeal = person(world, "Cy", "Batchtest", status=None)
    factories.appealed(
        world,
        appeal.id,
        decided_on=today() - timedelta(days=5),
        appeal_window_end=today() + timedelta(days=9),
        commit=False,
    )
    old = person(world, "Di", "Batchtest", dob=date(1950, 1, 2))
    out = []
    for p in (works, no_work, appeal):
        out.append((code_for(world, p)[1], DOB, "right_to_work"))
    out.append((code_for(world, works)[1], date(1990, 1, 1), "right_to_work"))  # wrong date
    out.append((code_for(world, works, purpose="right_to_rent")[1], DOB, "right_to_work"))
    out.append(("ACE-FGH-JKM", DOB, "right_to_work"))  # no such code
    out.append((code_for(world, old)[1], date(1950, 1, 2), "right_to_work"))  # paused: over 70
    return out


def _shape(result: Any) -> tuple[Any, ...]:
    if isinstance(result, ShareguardError):
        return ("refused", type(result).__name__, result.detail)
    case = result.case.kind if result.case is not None else None
    # Two sets of persons alike but for their photo references.
    answer = {k: v for k, v in (result.answer or {}).items() if k != "photo_ref"}
    return ("answered", result.outcome, answer, case, result.contest is not None)


def _log(session: Any) -> Counter[tuple[str, Any]]:
    stmt = select(AuditEntry.action, AuditEntry.decision, func.count()).group_by(
        AuditEntry.action, AuditEntry.decision
    )
    return Counter({(a, d): n for a, d, n in session.execute(stmt)})


def test_a_batch_matches_one_check_at_a_time(world: Any, rtw: Any) -> None:
    s = world.session
    factories.pause(world, title="Over 70", agreements=[str(rtw)], age_over=70, commit=False)
    agency = world.principals["agency"]
    svc = CheckService(s)
    alone_queries, batch_queries = _people(world), _people(world)
    before = _log(s)
    alone = []
    for code, born, purpose in alone_queries:
        try:
            alone.append(svc.share_code_check(agency, code, born, purpose))
        except ShareguardError as exc:
            alone.append(exc)
    middle = _log(s)
    together = CheckService(s).share_code_checks(
        agency, [ShareCodeQuery(c, b, p) for c, b, p in batch_queries]
    )
    after = _log(s)
    assert [_shape(r) for r in together] == [_shape(r) for r in alone]
    assert [_shape(r)[:2] for r in together] == [
        ("answered", "confirmed"),
        ("answered", "not_confirmed"),
        ("answered", "referred"),
        ("answered", "no_match"),
        ("answered", "no_match"),
        ("answered", "no_match"),
        ("refused", "Refused"),
    ]
    # The same audit entries, and the same rows: checks, their disclosures, the referral.
    assert after - middle == middle - before
    assert s.scalar(select(func.count()).select_from(Check)) == 12
    assert s.scalar(select(func.count()).select_from(Case)) == 2


def test_a_batch_with_a_malformed_query_is_refused_whole(world: Any, rtw: Any) -> None:
    s = world.session
    before = _log(s)
    with pytest.raises(InvalidInput) as err:
        CheckService(s).share_code_checks(
            world.principals["agency"],
            [
                ShareCodeQuery("ACE-FGH-JKM", DOB, "right_to_work"),
                ShareCodeQuery("x", DOB, "right_to_work"),
            ],
        )
    assert err.value.field == "code" and _log(s) == before


def test_a_checker_without_an_agreement_is_refused_for_every_query(world: Any) -> None:
    s = world.session
    out = CheckService(s).share_code_checks(
        world.principals["agency"], [ShareCodeQuery("ACE-FGH-JKM", DOB, "right_to_rent")] * 3
    )
    assert [type(r).__name__ for r in out] == ["Refused"] * 3
    assert _log(s)[("policy.deny", "deny")] == 3


# attribute checks -------------------------------------------------------------------------
def _patients(world: Any) -> list[AttributeQuery]:
    """Queries covering every outcome an attribute check can have."""
    person(world, "Ana", "Attrtest", dob=date(1981, 1, 1))
    person(world, "Bo", "Attrtest", dob=date(1982, 2, 2), status="no_leave", valid_to=None)
    appeal = person(world, "Cy", "Attrtest", dob=date(1983, 3, 3), status=None)
    factories.appealed(
        world,
        appeal.id,
        decided_on=today() - timedelta(days=5),
        appeal_window_end=today() + timedelta(days=9),
        commit=False,
    )
    person(world, "Dora", "Twintest", dob=date(1984, 4, 4))
    person(world, "Dorah", "Twintest", dob=date(1984, 4, 4))
    person(world, "Aleksandr", "Petrov", dob=date(1985, 5, 5))
    person(world, "Old", "Attrtest", dob=date(1950, 1, 2))

    def ask(given: str, family: str, born: date) -> AttributeQuery:
        return AttributeQuery("driving_licence", given, family, born)

    return [
        ask("Ana", "Attrtest", date(1981, 1, 1)),  # confirmed
        ask("Bo", "Attrtest", date(1982, 2, 2)),  # not confirmed
        ask("Cy", "Attrtest", date(1983, 3, 3)),  # an appeal open: referred
        ask("Dora", "Twintest", date(1984, 4, 4)),  # two alike: referred, no one named
        ask("Aleks", "Petrenko", date(1985, 5, 5)),  # weak: referred, the likely one named
        ask("Zofia", "Nowaktest", date(1970, 1, 1)),  # nobody: referred
        ask("Old", "Attrtest", date(1950, 1, 2)),  # paused: over 70
    ]


def _attr_shape(result: Any) -> tuple[Any, ...]:
    if isinstance(result, ShareguardError):
        return ("refused", type(result).__name__, result.detail)
    case = result.case.kind if result.case is not None else None
    return (
        "answered",
        result.outcome,
        result.answer,
        case,
        result.contest is not None,
        result.check.person_id,
        result.check.score,
        result.check.agreement_id,
        result.extra,
    )


def test_an_attribute_batch_matches_one_check_at_a_time(world: Any) -> None:
    s = world.session
    dl = world.agreement(purposes=["driving_licence"], data_items=DL_ITEMS)
    factories.pause(world, title="Over 70", agreements=[str(dl)], age_over=70, commit=False)
    agency = world.principals["agency"]
    svc = CheckService(s)
    queries = _patients(world)
    before = _log(s)
    alone: list[Any] = []
    for query in queries:
        try:
            alone.append(svc.attribute_check(agency, query))
        except ShareguardError as exc:
            alone.append(exc)
    middle = _log(s)
    together = CheckService(s).attribute_checks(agency, queries)
    after = _log(s)
    assert [_attr_shape(r) for r in together] == [_attr_shape(r) for r in alone]
    assert [_attr_shape(r)[:2] for r in together] == [
        ("answered", "confirmed"),
        ("answered", "not_confirmed"),
        ("answered", "referred"),
        ("answered", "referred"),
        ("answered", "referred"),
        ("answered", "referred"),
        ("refused", "Refused"),
    ]
    # The same audit entries and rows; the checks and their cases numbered in the queries'
    # order, as one at a time numbers them.
    assert after - middle == middle - before
    assert s.scalar(select(func.count()).select_from(Check)) == 12
    assert s.scalar(select(func.count()).select_from(Case)) == 8
    checks = [r.check.id for r in together if not isinstance(r, ShareguardError)]
    assert checks == sorted(checks)
    cases = [r.case.id for r in together if not isinstance(r, ShareguardError) and r.case]
    assert cases == sorted(cases)


def test_an_attribute_batch_with_a_malformed_query_is_refused_whole(world: Any) -> None:
    s = world.session
    world.agreement(purposes=["driving_licence"], data_items=DL_ITEMS)
    before = _log(s)
    with pytest.raises(InvalidInput) as err:
        CheckService(s).attribute_checks(
            world.principals["agency"],
            [
                AttributeQuery("driving_licence", "Ana", "Attrtest", DOB),
                AttributeQuery("driving_licence", "Ana", "Attrtest", today() + timedelta(days=1)),
            ],
        )
    assert err.value.field == "date_of_birth" and _log(s) == before
    out = CheckService(s).attribute_checks(
        world.principals["bank"], [AttributeQuery("driving_licence", "Ana", "Attrtest", DOB)] * 2
    )
    assert [type(r).__name__ for r in out] == ["Refused"] * 2
