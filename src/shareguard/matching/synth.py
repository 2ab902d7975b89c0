"""Labelled synthetic watch list and partner data, fixed seed, for tests, demo and benchmarks.

No real person's data: names are drawn from Faker's public name lists and a small table of
romanisation variants; dates of birth and postcodes are random. Partner copies of watch-list
people carry the mess real data has: typos, other romanisations (and the original Cyrillic
script), forename/surname swapped, day/month swapped or slipped dates of birth, moved or
missing postcodes. Relatives (same surname and address, different person) are hard negatives.
Middle names (the given names after the first) are drawn per person, and partner files record
them the way real files do: left out, as an initial, only the first of several, misspelt
(``MIDDLE_NAMES`` has the rates and why they are plausible).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from faker import Faker
from unidecode import unidecode

#: Spelling groups for names romanised from Arabic and Urdu: any member may be recorded.
ROMANISED_FIRST = [
    ["Mohammed", "Muhammad", "Mohamed", "Mohammad", "Muhammed"],
    ["Ahmed", "Ahmad", "Ahmet"],
    ["Youssef", "Yusuf", "Yousef", "Yousuf"],
    ["Mustafa", "Mostafa", "Mustapha"],
    ["Hussein", "Hussain", "Husain", "Hossein"],
    ["Abdullah", "Abdallah", "Abdulla"],
    ["Omar", "Umar", "Omer"],
    ["Hassan", "Hasan"],
    ["Ibrahim", "Ebrahim", "Ibraheem"],
    ["Khalid", "Khaled", "Chalid"],
    ["Fatima", "Fatma", "Fatemeh", "Fatimah"],
    ["Aisha", "Ayesha", "Aicha", "Aysha"],
    ["Mariam", "Maryam", "Meryem"],
    ["Zainab", "Zaynab", "Zeinab"],
    ["Nour", "Noor", "Nur"],
    ["Layla", "Leila", "Laila"],
    ["Khadija", "Khadijah", "Hadija"],
    ["Rashid", "Rasheed", "Rachid"],
    ["Tariq", "Tarek", "Tareq"],
    ["Karim", "Kareem"],
    ["Samir", "Sameer"],
    ["Hamza", "Hamzah"],
    ["Jamal", "Gamal"],
    ["Saeed", "Said", "Sayed"],
    ["Walid", "Waleed"],
    ["Nasser", "Nasir", "Naser"],
    ["Imran", "Emran"],
    ["Bilal", "Belal"],
    ["Yasmin", "Yasmine"],
    ["Salma", "Selma"],
    ["Amina", "Aminah", "Ameena"],
    ["Rania", "Raniya"],
]
ROMANISED_SURNAMES = [
    ["Al-Sayed", "El-Sayed", "Alsayed"],
    ["Abdelrahman", "Abdul Rahman", "Abdulrahman"],
    ["Khoury", "Khouri", "Khury"],
    ["Mansour", "Mansur"],
    ["Rahman", "Rehman"],
    ["Qureshi", "Kureshi", "Qurashi"],
    ["Chaudhry", "Choudhury", "Chowdhury", "Chaudhary"],
    ["Shaikh", "Sheikh", "Shaik"],
    ["Siddiqui", "Siddiqi", "Siddique"],
    ["Hashemi", "Hashimi"],
    ["Farouk", "Faruq", "Farooq"],
    ["Haddad"],
    ["Khan"],
    ["Malik"],
    ["Ansari"],
    ["Begum"],
    ["Hussain", "Hussein", "Husain"],
    ["Mahmoud", "Mahmud", "Mehmood"],
    ["Osman", "Usman", "Othman"],
    ["Yilmaz", "Yılmaz"],
    ["Nasser", "Nasir"],
    ["Aziz"],
]

#: A second Cyrillic romanisation (French/German-influenced), against unidecode's.
_CYRILLIC_ALT = {
    "й": "i",
    "х": "h",
    "ж": "j",
    "щ": "sch",
    "ю": "iu",
    "я": "ia",
    "ц": "tz",
    "ч": "tch",
    "ы": "i",
    "ь": "",
    "ъ": "",
    "е": "e",
    "ё": "io",
    "э": "e",
    "г": "g",
    "і": "i",
    "ї": "yi",
    "є": "ie",
    "ш": "ch",
    "у": "ou",
    "кс": "x",
}

_AREA_TEXT = (
    "AB B BD BH BL BN BR BS CB CF CM CR CV DA DE DN E EC EH EN EX G GL GU "
    "HA HD HP IG IP KT L LE LS LU M ME MK N NE NG NN NW OL OX PE PL PO PR "
    "RG RM S SE SG SK SL SM SN SO SS ST SW TN TW UB W WD WF WS WV YO "
)
AREAS = tuple(_AREA_TEXT.split())
_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


#: How middle names occur and how partner files record them. Set before measuring, from what
#: the records look like, not fitted to the model:
#:
#: * ``has``: share of people with at least one middle name. Most people registered in
#:   England and Wales since the 1950s have one, while many naming traditions in the pools
#:   (Arabic, Turkish, Spanish with two surnames) often have none: about 60% over the mix.
#: * ``second``: share of those with a second middle name (two or more is common but a
#:   minority).
#: * ``omitted``: a partner record without the middle names of someone who has them: a form
#:   or older system with no field for them, or a clerk who left it blank (15%, the rate at
#:   which a postcode is moved, and far commoner than a missing date of birth).
#: * ``initial``: only the initial is held (``J``), as on many tax and payroll records.
#: * ``first_only``: of someone with two or more, only the first (a form with one box).
#: Misspellings and other romanisations use the rates the forename uses (15% typo; the same
#: spelling-variant and original-script rates), for a partner's copy of a watch-list person.
#: A watch list holds every given name (the register copies them from the travel document).
#: Relatives and other partner records are other people: their middle names are their own,
#: drawn independently, and recorded by the same conventions.
MIDDLE_NAMES = {"has": 0.60, "second": 0.25, "omitted": 0.15, "initial": 0.10, "first_only": 0.30}
#: Misspelt partner copies, per name field (the forename's and surname's rate).
TYPO_RATE = 0.15


@dataclass(frozen=True)
class Spelling:
    """One name: the spellings it may be recorded under (first is the usual one)."""

    spellings: tuple[str, ...]
    original: str | None = None  # the name in its own script, where that is not Latin


def _alt_cyrillic(text: str) -> str:
    lower = text.lower()
    for src, dst in sorted(_CYRILLIC_ALT.items(), key=lambda kv: -len(kv[0])):
        lower = lower.replace(src, dst)
    return unidecode(lower).capitalize()


def _pools() -> tuple[list[tuple[list[Spelling], list[Spelling], float]], tuple[str, ...]]:
    def names(locale: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        provider = next(p for p in Faker(locale).providers if "person" in type(p).__module__)
        return tuple(dict.fromkeys(provider.first_names)), tuple(dict.fromkeys(provider.last_names))

    pools: list[tuple[list[Spelling], list[Spelling], float]] = []
    for locale, weight in [
        ("en_GB", 0.40),
        ("en_IN", 0.08),
        ("es_ES", 0.06),
        ("it_IT", 0.05),
        ("de_DE", 0.05),
        ("fr_FR", 0.04),
        ("tr_TR", 0.04),
        ("pt_BR", 0.04),
        ("en_IE", 0.04),
    ]:
        first, last = names(locale)
        plain = [
            Spelling((unidecode(n),) if unidecode(n) == n else (n, unidecode(n))) for n in first
        ]
        pools.append(
            (
                plain,
                [Spelling((n,) if unidecode(n) == n else (n, unidecode(n))) for n in last],
                weight,
            )
        )
    pools.append(
        (
            [Spelling(tuple(g)) for g in ROMANISED_FIRST],
            [Spelling(tuple(g)) for g in ROMANISED_SURNAMES],
            0.12,
        )
    )
    for locale, weight in [("ru_RU", 0.05), ("uk_UA", 0.03)]:
        first, last = names(locale)
        pools.append(
            (
                [Spelling((unidecode(n), _alt_cyrillic(n)), original=n) for n in first],
                [Spelling((unidecode(n), _alt_cyrillic(n)), original=n) for n in last],
                weight,
            )
        )
    return pools, AREAS


def _typo(rng: random.Random, name: str) -> str:
    if len(name) < 3:
        return name
    i = rng.randrange(1, len(name) - 1)
    kind = rng.random()
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if kind < 0.3:
        return name[:i] + letter + name[i + 1 :]
    if kind < 0.55:
        return name[:i] + name[i + 1 :]
    if kind < 0.8:
        return name[:i] + letter + name[i:]
    return name[: i - 1] + name[i] + name[i - 1] + name[i + 1 :]


def _postcode(rng: random.Random) -> str:
    return (
        f"{rng.choice(AREAS)}{rng.randint(1, 40)} "
        f"{rng.randint(0, 9)}{rng.choice(_LETTERS)}{rng.choice(_LETTERS)}"
    )


def _spell(rng: random.Random, name: Spelling, variant_p: float, script_p: float) -> str:
    if name.original and rng.random() < script_p:
        return name.original
    if len(name.spellings) > 1 and rng.random() < variant_p:
        return rng.choice(name.spellings[1:])
    return name.spellings[0]


def _middles(rng: random.Random, pool: list[Spelling]) -> tuple[Spelling, ...]:
    """A person's own middle names (none for about 40%), from their forename pool."""
    if rng.random() >= MIDDLE_NAMES["has"]:
        return ()
    if rng.random() < MIDDLE_NAMES["second"]:
        return (rng.choice(pool), rng.choice(pool))
    return (rng.choice(pool),)


def _record_middles(
    rng: random.Random,
    middles: tuple[Spelling, ...],
    variant_p: float,
    script_p: float,
    typo_p: float = 0.0,
) -> str | None:
    """Middle names as a partner file records them: spelt, maybe misspelt, maybe cut short."""
    if not middles:
        return None
    r = rng.random()
    if r < MIDDLE_NAMES["omitted"]:
        return None
    names = [_spell(rng, m, variant_p, script_p) for m in middles]
    if r < MIDDLE_NAMES["omitted"] + MIDDLE_NAMES["initial"]:
        return names[0][0]
    if len(names) > 1 and rng.random() < MIDDLE_NAMES["first_only"]:
        names = names[:1]
    if rng.random() < typo_p:
        i = rng.randrange(len(names))
        names[i] = _typo(rng, names[i])
    return " ".join(names)


@dataclass
class Labelled:
    watchlist: pd.DataFrame
    partner: pd.DataFrame
    #: True pairs: ``watchlist_id, partner_id``.
    truth: pd.DataFrame


def generate(
    n_watchlist: int,
    n_partner: int,
    *,
    seed: int = 20260101,
    overlap: float = 0.3,
    relatives: float = 0.02,
) -> Labelled:
    """A watch list and a partner dataset sharing ``overlap`` × ``n_watchlist`` people.

    Both carry ``middle_names`` (space-separated, None where there are none or the file left
    them out); drop the column for a file without it.
    """
    rng = random.Random(seed)
    pools, _ = _pools()
    weights = [w for _, _, w in pools]
    base = date(1940, 1, 1)
    span = (date(2006, 12, 31) - base).days

    def person() -> tuple[Spelling, Spelling, str, str, tuple[Spelling, ...]]:
        first, last, _ = rng.choices(pools, weights)[0]
        return (
            rng.choice(first),
            rng.choice(last),
            (base + timedelta(days=rng.randrange(span))).isoformat(),
            _postcode(rng),
            _middles(rng, first),
        )

    people = [person() for _ in range(n_watchlist)]
    watch = pd.DataFrame(
        {
            "person_ref": [f"W{i:07d}" for i in range(n_watchlist)],
            "first_name": [p[0].spellings[0] for p in people],
            "middle_names": [" ".join(m.spellings[0] for m in p[4]) or None for p in people],
            "surname": [p[1].spellings[0] for p in people],
            "date_of_birth": [p[2] for p in people],
            "postcode": [p[3] for p in people],
        }
    )
    n_match = min(int(n_watchlist * overlap), n_partner)
    matched = rng.sample(range(n_watchlist), n_match)
    rows: list[tuple[str, str, str | None, str | None, str | None]] = []
    middle: list[str | None] = []
    truth_w: list[str] = []
    for w in matched:
        first_n, last_n, dob, pc, middles = people[w]
        first = _spell(rng, first_n, 0.5, 0.2)
        last = _spell(rng, last_n, 0.5, 0.2)
        if rng.random() < TYPO_RATE:
            first = _typo(rng, first)
        if rng.random() < TYPO_RATE:
            last = _typo(rng, last)
        middle.append(_record_middles(rng, middles, 0.5, 0.2, TYPO_RATE))
        if rng.random() < 0.08:
            first, last = last, first
        d: str | None = dob
        r = rng.random()
        if r < 0.05 and int(dob[8:10]) <= 12:
            d = f"{dob[:4]}-{dob[8:10]}-{dob[5:7]}"
        elif r < 0.10:
            i = rng.choice([2, 3, 6, 9])
            d = dob[:i] + str(rng.randint(0, 9)) + dob[i + 1 :]
            try:
                date.fromisoformat(d)
            except ValueError:
                d = dob
        elif r < 0.12:
            d = None
        p: str | None = pc
        r = rng.random()
        if r < 0.15:
            p = _postcode(rng)
        elif r < 0.20:
            p = None
        rows.append((first, last, d, p, "match"))
        truth_w.append(f"W{w:07d}")
    n_rel = min(int(n_partner * relatives), n_partner - n_match)
    for _ in range(n_rel):
        first_n, last_n, dob, pc, _own = people[rng.randrange(n_watchlist)]
        other = person()
        rows.append((_spell(rng, other[0], 0.3, 0.1), last_n.spellings[0], other[2], pc, None))
        middle.append(_record_middles(rng, other[4], 0.3, 0.1))
    for _ in range(n_partner - n_match - n_rel):
        first_n, last_n, dob, pc, middles = person()
        rows.append((_spell(rng, first_n, 0.3, 0.1), _spell(rng, last_n, 0.3, 0.1), dob, pc, None))
        middle.append(_record_middles(rng, middles, 0.3, 0.1))
    order = list(range(len(rows)))
    rng.shuffle(order)
    ids = [""] * len(rows)
    for new, old in enumerate(order):
        ids[old] = f"P{new:08d}"
    partner = (
        pd.DataFrame(
            {
                "record_id": ids,
                "first_name": [r[0] for r in rows],
                "middle_names": middle,
                "surname": [r[1] for r in rows],
                "date_of_birth": [r[2] for r in rows],
                "postcode": [r[3] for r in rows],
            }
        )
        .iloc[order]
        .reset_index(drop=True)
    )
    truth = pd.DataFrame({"watchlist_id": truth_w, "partner_id": ids[:n_match]})
    return Labelled(watch, partner, truth)
