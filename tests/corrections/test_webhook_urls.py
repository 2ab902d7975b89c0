"""Webhook URLs are parsed properly: https only, never at loopback, link-local, private or
metadata addresses, and checked again after DNS resolution when delivering."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shareguard.audit.models import AuditEntry
from shareguard.corrections import WebhookService, webhooks
from shareguard.corrections.models import WebhookDelivery
from shareguard.errors import InvalidInput
from tests.corrections.scenario import build
from tests.corrections.test_corrections import correct_status, public_dns

REFUSED = [
    "http://127.0.0.1@evil.example/hook",
    "http://127.0.0.1.evil.example",
    "http://localhost:22/",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fd00:ec2::254]/",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://10.1.2.3/",
    "https://192.168.0.1/",
    "https://100.64.0.1/",
    "https://0.0.0.0/",
    "https://localhost/",
    "https://printer.local/",
    "https://metadata.google.internal/",
    "https://intranet/",
    "https://127.1/",
    "https://0x7f000001/",
    "https://user:pw@bank.example/",
    "https://bank.example@127.0.0.1/",
    "https://bank.example/\\\\@127.0.0.1",
    "https://bank.example /x",
    "ftp://bank.example/",
    "javascript:alert(1)",
    "https://bank.example:99999/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        webhooks.check_url(url)


@pytest.mark.parametrize(
    "url", ["https://bank.example/notices", "https://hooks.bank.example:8443/n?x=1"]
)
def test_public_https_urls_are_accepted(url: str) -> None:
    assert webhooks.check_url(url).host.endswith("bank.example")


def test_setting_an_unsafe_webhook_is_refused_naming_the_field(world) -> None:  # type: ignore[no-untyped-def]
    svc = WebhookService(world.session)
    for url in ("http://127.0.0.1@evil.example/hook", "https://169.254.169.254/x"):
        with pytest.raises(InvalidInput) as refused:
            svc.set_webhook(world.orgs["bank"], url, world.principals["officer"])
        assert refused.value.field == "url" and "127.0.0.1" not in refused.value.detail


def test_setting_a_webhook_is_audited(world) -> None:  # type: ignore[no-untyped-def]
    WebhookService(world.session).set_webhook(
        world.orgs["bank"], "https://bank.example/notices", world.principals["bank"]
    )
    [entry] = world.session.scalars(select(AuditEntry).where(AuditEntry.action == "webhook.set"))
    assert entry.actor_org_id == world.orgs["bank"]
    assert entry.details == {"organisation_id": str(world.orgs["bank"]), "host": "bank.example"}


@pytest.mark.parametrize("resolved", [("127.0.0.1",), ("93.184.216.34", "169.254.169.254")])
def test_a_name_resolving_to_an_internal_address_is_not_delivered_to(
    world, resolved: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    svc = WebhookService(world.session)
    story = build(world)
    svc.set_webhook(
        world.orgs["bank"], "https://127.0.0.1.evil.example/hook", world.principals["officer"]
    )
    correct_status(world, story)
    calls: list[Any] = []
    http = httpx.Client(
        transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(204))
    )
    counts = svc.deliver_webhooks(client=http, resolver=public_dns(*resolved))
    assert counts == {"delivered": 0, "retrying": 1, "failed": 0} and calls == []
    [delivery] = world.session.scalars(select(WebhookDelivery))
    assert delivery.last_error.startswith("refused:")
