"""The register of data-sharing agreements and its public transparency export."""

from shareguard.agreements.catalogue import DATA_ITEMS, PURPOSES
from shareguard.agreements.service import AgreementService, unknown_agreement

__all__ = ["DATA_ITEMS", "PURPOSES", "AgreementService", "unknown_agreement"]
