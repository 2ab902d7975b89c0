"""The door's other way: requests to partners, their answers, and data partners send in.

Both directions pass the one door (``shareguard.policy``) with the agreement's discloser and
recipient named, so firewall rules, pauses, locks and limits apply whichever way data flows.
See docs/two-way.md. Each name loads its module on first use (``shareguard.faces.lazy``):
importing the models (as reports do) does not import the file reader or httpx.
"""

from typing import TYPE_CHECKING

from shareguard.faces import lazy

if TYPE_CHECKING:
    from shareguard.exchange.inbound import InboundService, SubmitOutcome
    from shareguard.exchange.service import RequestService, request_payload

__all__ = ["InboundService", "RequestService", "SubmitOutcome", "request_payload"]

__getattr__ = lazy(
    __name__,
    {
        "InboundService": "inbound",
        "SubmitOutcome": "inbound",
        "RequestService": "service",
        "request_payload": "service",
    },
)
