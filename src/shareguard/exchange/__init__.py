"""The door's other way: requests to partners, their answers, and data partners send in.

Both directions pass the one door (``shareguard.policy``) with the agreement's discloser and
recipient named, so firewall rules, pauses, locks and limits apply whichever way data flows.
See docs/two-way.md.
"""

from shareguard.exchange.inbound import InboundService, SubmitOutcome
from shareguard.exchange.service import RequestService, request_payload

__all__ = ["InboundService", "RequestService", "SubmitOutcome", "request_payload"]
