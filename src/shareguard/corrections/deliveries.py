"""Webhook deliveries of rectification notices: where an organisation's notices go, and trying
each due delivery with retries and backoff (``webhooks`` checks URLs, signs and posts)."""

from __future__ import annotations

import secrets
import socket
import uuid
from datetime import datetime

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation
from shareguard.accounts.principal import Principal
from shareguard.audit import AuditRecord, append
from shareguard.corrections import webhooks
from shareguard.corrections.models import DeliveryState, RectificationNotice, WebhookDelivery
from shareguard.corrections.notices import OFFICER, notice_payload
from shareguard.errors import Forbidden, InvalidInput, NotFound
from shareguard.storage.base import utcnow


class WebhookService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def set_webhook(
        self, organisation_id: uuid.UUID, url: str | None, principal: Principal
    ) -> str | None:
        """Set (or clear) where an organisation's notices go; returns the new secret once."""
        if not (principal.has(OFFICER, "system") or principal.organisation_id == organisation_id):
            raise Forbidden("only the organisation itself or a governance officer sets its webhook")
        org = self.session.get(Organisation, organisation_id)
        if org is None:
            raise NotFound(f"organisation {organisation_id} not found")
        if url is not None:
            try:
                webhooks.check_url(url)
            except ValueError as exc:
                raise InvalidInput(str(exc), field="url") from None
        org.webhook_url = url
        org.webhook_secret = secrets.token_urlsafe(32) if url else None
        host = webhooks.check_url(url).host if url else None
        append(
            self.session,
            AuditRecord(
                action="webhook.set",
                actor_org_id=principal.organisation_id,
                actor_user_id=principal.user_id,
                details={"organisation_id": str(organisation_id), "host": host},
            ),
        )
        return org.webhook_secret

    def deliver_webhooks(
        self,
        *,
        client: httpx.Client | None = None,
        now: datetime | None = None,
        limit: int = 100,
        resolver: webhooks.Resolver = socket.getaddrinfo,
    ) -> dict[str, int]:
        """Try every delivery that is due; returns counts of delivered, retrying and failed.

        All in the caller's unit of work. The scheduled job and ``shareguard corrections
        deliver`` give each delivery its own instead (``deliver_next``), so a slow recipient
        cannot hold others' results back. A non-2xx answer or a network error schedules the
        next try by ``webhooks.backoff``; after ``webhooks.MAX_ATTEMPTS`` the delivery fails
        (the pull endpoint still works). The URL is checked again and its host resolved with
        ``resolver``: every address must be public, and the request goes to the checked
        address (no redirects followed).
        """
        now = now or utcnow()
        counts = {"delivered": 0, "retrying": 0, "failed": 0}
        with webhooks.http_client(client) as http:
            for _ in range(limit):
                outcome = self.deliver_next(client=http, now=now, resolver=resolver)
                if outcome is None:
                    break
                counts[outcome] += 1
        return counts

    def deliver_next(
        self,
        *,
        client: httpx.Client | None = None,
        now: datetime | None = None,
        resolver: webhooks.Resolver = socket.getaddrinfo,
    ) -> str | None:
        """Try the delivery due longest; returns delivered, retrying or failed (None: none due).

        Each try leaves the delivery no longer due at ``now``, so repeating ends.
        """
        now = now or utcnow()
        stmt = (
            select(WebhookDelivery)
            .where(
                WebhookDelivery.state == DeliveryState.PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(1)
        )
        delivery = self.session.scalar(stmt)
        if delivery is None:
            return None
        with webhooks.http_client(client) as http:
            outcome = self._attempt(delivery, http, now, resolver)
        self.session.flush()
        return outcome

    def deliveries(self, notice_id: uuid.UUID) -> list[WebhookDelivery]:
        stmt = select(WebhookDelivery).where(WebhookDelivery.notice_id == notice_id)
        return list(self.session.scalars(stmt))

    def _attempt(
        self,
        delivery: WebhookDelivery,
        http: httpx.Client,
        now: datetime,
        resolver: webhooks.Resolver,
    ) -> str:
        org = self.session.get(Organisation, delivery.organisation_id)
        notice = self.session.get(RectificationNotice, delivery.notice_id)
        return webhooks.attempt(
            delivery,
            org.webhook_url if org else None,
            org.webhook_secret if org else None,
            notice_payload(notice) if notice else None,
            http,
            now,
            resolver,
        )
