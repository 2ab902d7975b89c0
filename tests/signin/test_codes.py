"""The person's one-time codes live server-side: hashed, counted, single-use, throttled."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from shareguard.errors import RateLimited
from shareguard.signin import CODE_TRIES, CodeResult, SignInService
from shareguard.signin.models import SignInCode
from shareguard.signin.service import CODES_PER_WINDOW
from shareguard.storage.base import utcnow
from tests import factories
from tests.factories import TestWorld

SECRET = "test-secret-key-0123456789"


@pytest.fixture
def person_id(world: TestWorld) -> uuid.UUID:
    person = factories.person(
        world, "Ada", "Codeperson", date(1990, 3, 27), documents=("ZX1112223",), commit=False
    )
    return person.id


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_only_a_keyed_hash_is_stored_never_the_code(world: TestWorld, person_id) -> None:  # type: ignore[no-untyped-def]
    challenge, code = SignInService(world.session, SECRET).start(person_id)
    row = world.session.get(SignInCode, challenge)
    assert row is not None and row.person_id == person_id and row.attempts == 0
    assert code not in row.digest and len(row.digest) == 64


def test_the_right_code_signs_in_once(world: TestWorld, person_id) -> None:  # type: ignore[no-untyped-def]
    service = SignInService(world.session, SECRET)
    challenge, code = service.start(person_id)
    first = service.verify(challenge, code)
    assert first.result == CodeResult.SIGNED_IN and first.person_id == person_id
    assert service.verify(challenge, code).result == CodeResult.EXPIRED


def test_five_tries_then_locked_even_for_the_right_code(world: TestWorld, person_id) -> None:  # type: ignore[no-untyped-def]
    service = SignInService(world.session, SECRET)
    challenge, code = service.start(person_id)
    left = [service.verify(challenge, _wrong(code)) for _ in range(CODE_TRIES)]
    assert [v.result for v in left] == [CodeResult.WRONG] * CODE_TRIES
    assert [v.tries_left for v in left] == [4, 3, 2, 1, 0]
    assert service.verify(challenge, code).result == CodeResult.EXPIRED


def test_an_expired_code_does_not_sign_in(world: TestWorld, person_id) -> None:  # type: ignore[no-untyped-def]
    service = SignInService(world.session, SECRET)
    challenge, code = service.start(person_id, now=utcnow() - timedelta(minutes=11))
    assert service.verify(challenge, code).result == CodeResult.EXPIRED


def test_a_new_code_retires_the_old_one(world: TestWorld, person_id) -> None:  # type: ignore[no-untyped-def]
    service = SignInService(world.session, SECRET)
    old, old_code = service.start(person_id)
    new, new_code = service.start(person_id)
    assert service.verify(old, old_code).result == CodeResult.EXPIRED
    assert service.verify(new, new_code).result == CodeResult.SIGNED_IN


def test_codes_per_person_are_limited(world: TestWorld, person_id) -> None:  # type: ignore[no-untyped-def]
    service = SignInService(world.session, SECRET)
    for _ in range(CODES_PER_WINDOW):
        service.start(person_id)
    with pytest.raises(RateLimited):
        service.start(person_id)
    assert len(list(world.session.scalars(select(SignInCode)))) == CODES_PER_WINDOW


def test_another_secret_cannot_use_the_code(world: TestWorld, person_id) -> None:  # type: ignore[no-untyped-def]
    challenge, code = SignInService(world.session, SECRET).start(person_id)
    other = SignInService(world.session, "another-secret-0123456789")
    assert other.verify(challenge, code).result == CodeResult.WRONG
