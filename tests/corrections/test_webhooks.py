"""Webhook signatures verify, resist tampering and replay; retries back off exponentially."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shareguard.corrections import webhooks


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    body = b'{"notice":"x"}'
    header = webhooks.sign("s3cret", 1700000000, body)
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


@given(body=st.binary(max_size=200), secret=st.text(min_size=1, max_size=40))
def test_a_signed_body_verifies(body: bytes, secret: str) -> None:
    header = webhooks.sign(secret, 1_000_000, body)
    assert webhooks.verify(secret, header, body, now=1_000_010)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("wrong", b"hello", 1_000_000),  # another secret
        ("s", b"hellO", 1_000_000),  # body changed
        ("s", b"hello", 1_000_000 + 301),  # replayed after the window
    ],
)
def test_tampered_or_stale_deliveries_fail(secret: str, body: bytes, now: int) -> None:
    header = webhooks.sign("s", 1_000_000, b"hello")
    assert not webhooks.verify(secret, header, body, now=now)


@pytest.mark.parametrize("header", ["", "t=1", "v1=ab", "garbage", "t=x,v1=ab"])
def test_malformed_headers_fail(header: str) -> None:
    assert not webhooks.verify("s", header, b"", now=1)


def test_backoff_doubles_from_thirty_seconds_and_caps() -> None:
    delays = webhooks.schedule(12)
    assert delays[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert all(b >= a for a, b in itertools.pairwise(delays))
    assert max(delays) == webhooks.MAX_DELAY
    assert webhooks.backoff(0) == timedelta(0)
