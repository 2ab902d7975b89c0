"""Purposes and data items: the fixed vocabulary agreements are written in.

Each purpose fixes its *answer shape*, the most a recipient may ever receive for it;
an agreement can narrow that further with its own data items, never widen it. Every rule a
purpose carries lives here: its answer shape, the fact that confirms it, whether people issue
share codes for it and whether it is checked by share code only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataItem:
    code: str
    title: str
    #: UK GDPR Art 9 special category data.
    special_category: bool = False
    #: UK GDPR Art 10 criminal offence data.
    criminal_offence: bool = False


@dataclass(frozen=True)
class Purpose:
    code: str
    title: str
    answer_shape: tuple[str, ...]
    #: Immigration enforcement: the purpose firewall rules guard against.
    enforcement: bool = False
    #: The law requires the check (e.g. right to work); locks cannot stop it.
    statutory: bool = False
    #: The question a checker may ask, in plain English.
    question: str = ""
    #: The fact of the status answer (``status.answer``) that confirms the purpose.
    confirmed_by: str = "lawfully_resident"
    #: The law ties the check to a share code the person gives: never checked by attributes.
    share_code_only: bool = False

    @property
    def share_codes(self) -> bool:
        """People may issue share codes (and credentials) for it: all purposes but enforcement."""
        return not self.enforcement


DATA_ITEMS: dict[str, DataItem] = {
    item.code: item
    for item in [
        DataItem("name", "Full name"),
        DataItem("date_of_birth", "Date of birth"),
        DataItem("nationality", "Nationality"),
        DataItem("photo_ref", "Photo reference"),
        DataItem("status", "Immigration status"),
        DataItem("may_work", "May work (yes / no / with conditions)"),
        DataItem("work_conditions", "Conditions on work"),
        DataItem("may_rent", "May rent"),
        DataItem("lawfully_resident", "Lawfully resident"),
        DataItem("public_funds", "Access to public funds"),
        DataItem("exempt_from_charges", "Exempt from NHS charges"),
        DataItem("valid_until", "Status valid until"),
        DataItem("document_number", "Document number"),
        DataItem("address", "Address"),
        DataItem("postcode", "Postcode"),
        DataItem("decision", "Immigration decision and its date"),
        DataItem("school_census", "School census record", special_category=False),
        DataItem("health_record", "Health-care record", special_category=True),
        DataItem("crime_report", "Report as a victim or witness of crime", criminal_offence=True),
        DataItem("criminal_record", "Criminal convictions", criminal_offence=True),
        DataItem("nhs_debt", "Outstanding NHS debt (amount and date)"),
        DataItem("employment", "Employer and employment dates"),
    ]
}

PURPOSES: dict[str, Purpose] = {
    p.code: p
    for p in [
        Purpose(
            "right_to_work",
            "Right to work",
            ("name", "photo_ref", "may_work", "work_conditions", "valid_until"),
            statutory=True,
            question="May this person work?",
            confirmed_by="may_work",
            share_code_only=True,
        ),
        Purpose(
            "right_to_rent",
            "Right to rent",
            ("name", "photo_ref", "may_rent", "valid_until"),
            statutory=True,
            question="May this person rent a home?",
            confirmed_by="may_rent",
            share_code_only=True,
        ),
        Purpose(
            "driving_licence",
            "Driving licence eligibility",
            ("name", "date_of_birth", "lawfully_resident", "valid_until"),
            statutory=True,
            question="Is this person lawfully resident for a driving licence?",
        ),
        Purpose(
            "bank_account",
            "Bank account checks",
            ("name", "date_of_birth", "lawfully_resident", "valid_until"),
            question="Is this person lawfully resident?",
        ),
        Purpose(
            "benefit_entitlement",
            "Benefit entitlement",
            ("name", "date_of_birth", "public_funds", "valid_until"),
            statutory=True,
            question="May this person claim public funds?",
            confirmed_by="public_funds",
        ),
        Purpose(
            "nhs_charging",
            "NHS charging",
            ("name", "date_of_birth", "exempt_from_charges", "valid_until"),
            statutory=True,
            question="Is this person exempt from NHS charges?",
            confirmed_by="exempt_from_charges",
        ),
        Purpose(
            "tax_compliance",
            "Tax and tax-credit compliance",
            ("name", "date_of_birth", "lawfully_resident", "decision", "valid_until"),
            question="Is this person's claim affected by their immigration status?",
        ),
        Purpose(
            "nhs_debt",
            "NHS debt reporting",
            ("name", "date_of_birth", "nationality", "address", "postcode", "nhs_debt"),
            question="Does this person owe the NHS for treatment?",
        ),
        Purpose(
            "immigration_enforcement",
            "Immigration enforcement",
            (
                "name",
                "date_of_birth",
                "nationality",
                "status",
                "decision",
                "address",
                "postcode",
                "document_number",
                "employment",
                "school_census",
                "health_record",
                "crime_report",
            ),
            enforcement=True,
            question="Where is this person, and what is their status?",
        ),
    ]
}


#: The ways a partner checks a person's status: code -> what the console calls it. The one list
#: the policy (``check_method`` in the Cedar context), the API, the CLI and the console read.
CHECK_METHODS: dict[str, str] = {
    "share_code": "Share code",
    "attributes": "Name, date of birth and document",
}

#: Purposes a person may issue a share code (or a credential) for.
SHARE_CODE_PURPOSES = tuple(code for code, p in PURPOSES.items() if p.share_codes)
#: Purposes checked by share code only, never by name and date of birth.
SHARE_CODE_ONLY = tuple(code for code, p in PURPOSES.items() if p.share_code_only)


def purpose(code: str) -> Purpose:
    """The purpose with this code; raises KeyError for an unknown one."""
    return PURPOSES[code]
