"""Synthetic persons with realistic name variants across locales and scripts (fixed seed).

Used by the demo world, the tests and the benchmarks. Nobody here is real: names come from
Faker's locale lists and a small table of common transliteration variants.
"""

from __future__ import annotations

import itertools
import random
import string
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache

from faker import Faker
from unidecode import unidecode

#: (Faker locale or "arabic", nationality, weight)
LOCALES: list[tuple[str, str, int]] = [
    ("pl_PL", "POL", 10),
    ("ro_RO", "ROU", 8),
    ("ru_RU", "RUS", 6),
    ("uk_UA", "UKR", 6),
    ("zh_CN", "CHN", 8),
    ("en_IN", "IND", 12),
    ("arabic", "", 14),
    ("es_ES", "ESP", 5),
    ("pt_BR", "BRA", 5),
    ("tr_TR", "TUR", 5),
    ("fr_FR", "FRA", 4),
    ("it_IT", "ITA", 4),
    ("en_US", "USA", 4),
    ("de_DE", "DEU", 3),
    ("en_GB", "GBR", 6),
]
ARABIC_NATIONALITIES = ["EGY", "SYR", "IRQ", "SDN", "PAK", "AFG", "SOM", "YEM", "JOR", "LBY"]

#: Common given names with the spellings the same name is registered or checked under.
GIVEN_VARIANTS: dict[str, list[str]] = {
    "Mohammed": ["Muhammad", "Mohamed", "Mohammad", "Muhammed"],
    "Ahmed": ["Ahmad"],
    "Yusuf": ["Youssef", "Yousef"],
    "Omar": ["Umar"],
    "Hussein": ["Husain", "Hussain"],
    "Fatima": ["Fatimah", "Fatma"],
    "Aisha": ["Ayesha", "Aysha"],
    "Khadija": ["Khadijah"],
    "Abdullah": ["Abdallah"],
    "Mustafa": ["Mostafa"],
    "Ibrahim": ["Ebrahim"],
    "Hassan": ["Hasan"],
    "Ali": [],
    "Zainab": ["Zaynab"],
    "Maryam": ["Mariam"],
    "Karim": ["Kareem"],
    "Tariq": ["Tarek"],
    "Samir": ["Sameer"],
    "Layla": ["Leila", "Laila"],
    "Nour": ["Noor"],
    "Bilal": [],
    "Hamza": [],
    "Imran": [],
    "Salma": ["Selma"],
    "Rania": [],
    "Yasmin": ["Yasmeen"],
    "Khalid": ["Khaled"],
    "Walid": ["Waleed"],
    "Said": ["Saeed", "Sayed"],
    "Amina": ["Aminah"],
}
FAMILY_VARIANTS: dict[str, list[str]] = {
    "Al-Sayed": ["Alsayed", "El-Sayed"],
    "Abdelrahman": ["Abdul Rahman", "Abdulrahman"],
    "Chaudhry": ["Choudhury", "Chowdhury"],
    "Haddad": [],
    "Khalil": ["Khaleel"],
    "Mansour": ["Mansoor", "Mansur"],
    "Nasser": ["Nasir"],
    "Saleh": ["Salih"],
    "Farouk": ["Farooq"],
    "Hamdan": [],
    "Aziz": [],
    "Qureshi": ["Kureishi"],
    "Khan": [],
    "Hussain": ["Hussein"],
    "Rahman": [],
    "Malik": [],
    "Sheikh": ["Shaikh"],
    "Ibrahim": [],
    "Osman": ["Othman", "Usman"],
    "Yousef": ["Yusuf"],
    "Hakimi": [],
    "Darwish": ["Darweesh"],
    "Bakr": [],
    "Jaber": ["Jabir"],
    "Karimi": [],
    "Rashid": ["Rasheed"],
}
ARABIC_SCRIPT = {
    "Mohammed": "محمد",
    "Ahmed": "أحمد",
    "Fatima": "فاطمة",
    "Omar": "عمر",
    "Ali": "علي",
    "Hassan": "حسن",
    "Yusuf": "يوسف",
    "Aisha": "عائشة",
    "Ibrahim": "إبراهيم",
    "Khalid": "خالد",
}
#: Latin spellings a Cyrillic name is also known by (unidecode gives the first column).
CYRILLIC_ALIASES = {
    "Aleksandr": "Alexander",
    "Aleksei": "Alexei",
    "Sergei": "Sergey",
    "Iurii": "Yuri",
    "Dmitrii": "Dmitry",
    "Andrei": "Andrey",
    "Evgenii": "Evgeny",
    "Mariia": "Maria",
    "Natalia": "Natalya",
    "Iuliia": "Yulia",
    "Mikhail": "Michael",
    "Nikolai": "Nikolay",
    "Anastasiia": "Anastasia",
    "Ekaterina": "Yekaterina",
}


@dataclass
class SyntheticPerson:
    #: (given, family, kind, script)
    names: list[tuple[str, str, str, str]]
    date_of_birth: date
    nationality: str
    documents: list[str] = field(default_factory=list)
    #: Spellings the same person may be checked under (not registered as aliases).
    spellings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def given(self) -> str:
        return self.names[0][0]

    @property
    def family(self) -> str:
        return self.names[0][1]


@lru_cache(maxsize=1)
def _faker() -> Faker:
    return Faker(sorted({loc for loc, _, _ in LOCALES if loc != "arabic"}))


def _latin(text: str) -> str:
    return unidecode(text).strip().title()


class Generator:
    """Deterministic stream of synthetic persons for one seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        # Building a multi-locale Faker takes seconds, so one is shared and re-seeded: use one
        # Generator at a time.
        self.faker = _faker()
        self.faker.seed_instance(seed)
        self.choices = [loc for loc, _, _ in LOCALES]
        self.cum_weights = list(itertools.accumulate(w for _, _, w in LOCALES))
        self.nationality = {loc: nat for loc, nat, _ in LOCALES}
        self.start = date(1940, 1, 1)
        self.span = (date(2008, 12, 31) - self.start).days

    def dob(self) -> date:
        return self.start + timedelta(days=self.rng.randrange(self.span))

    def document(self) -> str:
        letters = "".join(self.rng.choice(string.ascii_uppercase) for _ in range(2))
        return letters + "".join(self.rng.choice(string.digits) for _ in range(7))

    def person(self) -> SyntheticPerson:
        loc = self.rng.choices(self.choices, cum_weights=self.cum_weights)[0]
        dob = self.dob()
        docs = [self.document()] if self.rng.random() < 0.7 else []
        if loc == "arabic":
            given = self.rng.choice(list(GIVEN_VARIANTS))
            if self.rng.random() < 0.3:  # a second given name
                given += " " + self.rng.choice(list(GIVEN_VARIANTS))
            family = self.rng.choice(list(FAMILY_VARIANTS))
            names = [(given, family, "primary", "Latin")]
            first = given.split(" ")[0]
            spellings = [
                (g, f)
                for g in [first, *GIVEN_VARIANTS[first]]
                for f in [family, *FAMILY_VARIANTS[family]]
            ]
            if self.rng.random() < 0.3 and GIVEN_VARIANTS[first]:
                names.append((self.rng.choice(GIVEN_VARIANTS[first]), family, "alias", "Latin"))
            if first in ARABIC_SCRIPT and self.rng.random() < 0.5:
                names.append((ARABIC_SCRIPT[first], family, "transliteration", "Arabic"))
            return SyntheticPerson(
                names, dob, self.rng.choice(ARABIC_NATIONALITIES), docs, spellings
            )
        fk = self.faker[loc]
        g, f = fk.first_name(), fk.last_name()
        nat = self.nationality[loc]
        if loc in ("ru_RU", "uk_UA"):
            lg, lf = _latin(g), _latin(f)
            names = [(lg, lf, "primary", "Latin"), (g, f, "transliteration", "Cyrillic")]
            spellings = [(lg, lf)]
            if lg in CYRILLIC_ALIASES:
                names.append((CYRILLIC_ALIASES[lg], lf, "alias", "Latin"))
                spellings.append((CYRILLIC_ALIASES[lg], lf))
            return SyntheticPerson(names, dob, nat, docs, spellings)
        if loc == "zh_CN":
            lg, lf = _latin(g), _latin(f)
            names = [(lg, lf, "primary", "Latin"), (g, f, "transliteration", "Han")]
            return SyntheticPerson(names, dob, nat, docs, [(lg, lf)])
        names = [(g, f, "primary", "Latin")]
        if self.rng.random() < 0.05:  # a married or former family name
            names.append((g, fk.last_name(), "alias", "Latin"))
        return SyntheticPerson(names, dob, nat, docs, [(g, f)])

    def people(self, n: int) -> Iterator[SyntheticPerson]:
        for _ in range(n):
            yield self.person()


# -- perturbations a check's input suffers -----------------------------------------------------


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(3)
    if op == 0:  # transposition
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == 1:  # deletion
        return word[:i] + word[i + 1 :]
    return word[:i] + rng.choice("aeiourstnl") + word[i + 1 :]  # substitution


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def perturb(rng: random.Random, p: SyntheticPerson) -> tuple[str, str, date, str]:
    """A realistic variant of how a checker might type this person: (given, family, dob, kind)."""
    given, family = rng.choice(p.spellings) if p.spellings else (p.given, p.family)
    dob = p.date_of_birth
    kind = rng.choice(["exact", "variant", "order", "accents", "typo", "dob_swap", "middle"])
    if kind == "order":
        given, family = family, given
    elif kind == "accents":
        given, family = strip_accents(given), strip_accents(family)
    elif kind == "typo":
        if rng.random() < 0.5:
            given = _typo(rng, given)
        else:
            family = _typo(rng, family)
    elif kind == "dob_swap":
        if dob.day <= 12 and dob.day != dob.month:
            dob = dob.replace(month=dob.day, day=dob.month)
        else:
            kind = "exact"
    elif kind == "middle":
        given = given.split(" ")[0]
    return given, family, dob, kind


def with_dob(p: SyntheticPerson, dob: date) -> SyntheticPerson:
    return replace(p, date_of_birth=dob)
