"""API keys: shown once, hashed, revocable, expiring, rotated with an overlap."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shareguard.accounts.service import AccountService
from shareguard.errors import Unauthenticated
from shareguard.storage.base import utcnow


def test_rotation_keeps_both_keys_valid_during_the_changeover(world, session):
    accounts = AccountService(session)
    old, old_token = accounts.issue_key(world.orgs["bank"], "bank main")
    new, new_token = accounts.rotate_key(old.id, overlap=timedelta(days=3))
    assert accounts.authenticate_key(old_token).api_key_id == old.id
    assert accounts.authenticate_key(new_token).api_key_id == new.id
    assert old.expires_at is not None
    assert timedelta(days=2, hours=23) < old.expires_at - utcnow() <= timedelta(days=3)
    old.expires_at = utcnow() - timedelta(seconds=1)  # the overlap has run out
    session.commit()
    with pytest.raises(Unauthenticated, match="expired"):
        accounts.authenticate_key(old_token)
    assert accounts.authenticate_key(new_token).organisation_id == world.orgs["bank"]


def test_user_key_carries_the_users_roles_and_partner_key_only_partner(world, session):
    accounts = AccountService(session)
    assert accounts.authenticate_key(world.keys["officer"]).roles == {"governance_officer"}
    assert accounts.authenticate_key(world.keys["bank"]).roles == {"partner_user"}


def test_password_sign_in_gives_the_same_answer_for_unknown_user_and_wrong_password(world, session):
    accounts = AccountService(session)
    with pytest.raises(Unauthenticated) as unknown:
        accounts.authenticate_password("nobody@test.example", "whatever-123")
    with pytest.raises(Unauthenticated) as wrong:
        accounts.authenticate_password("officer@test.example", "wrong-password-1")
    assert unknown.value.detail == wrong.value.detail
    assert accounts.authenticate_password("OFFICER@test.example", "test-password-123").email == (
        "officer@test.example"
    )
