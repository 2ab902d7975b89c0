"""Attribute matching: score candidates and decide an outcome (pure: data in, data out).

String metrics come from rapidfuzz (Jaro–Winkler, indel ratio) and jellyfish (metaphone);
transliteration to ASCII from unidecode (via ``status.names.normalise``).

The thresholds are calibrated with ``benchmarks/attribute_match.py`` on a labelled synthetic
set: ``CONFIRM`` is the lowest score at which ``confirmed`` stayed ≥ 99.9% precise with margin.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from rapidfuzz.distance import JaroWinkler

from shareguard.status.names import normalise_document, phonetic, tokens

#: A candidate at or above this is a strong match.
CONFIRM = 0.94
#: A second candidate within this distance of the best makes the answer ambiguous.
MARGIN = 0.06
#: Below this a candidate is not worth a caseworker's time.
WEAK = 0.70


@dataclass(frozen=True)
class Query:
    given: str
    family: str
    date_of_birth: date
    document_number: str | None = None
    nationality: str | None = None


@dataclass(frozen=True)
class Candidate:
    """What the matcher may see of a registered person."""

    key: str
    names: Sequence[tuple[str, str]]
    date_of_birth: date
    documents: Sequence[str] = ()
    nationality: str = ""


@dataclass(frozen=True)
class Score:
    key: str
    score: float
    name: float
    dob: float
    #: Why, for the caseworker: which parts agreed.
    explanation: dict[str, object] = field(default_factory=dict)


def _token_sim(a: str, b: str, sounds: dict[str, str] | None = None) -> float:
    jw = JaroWinkler.similarity(a, b)
    if len(a) > 1 and _sound(a, sounds) == _sound(b, sounds):
        # Same sound (Mohammed/Muhammad): halve the distance, but do not erase it, so
        # different names sharing a code (Hussein/Hassan) stay short of a strong match.
        jw = (1.0 + jw) / 2
    return jw


def _sound(token: str, sounds: dict[str, str] | None) -> str:
    """``phonetic(token)``, remembered in ``sounds`` (one ``decide``'s memo, if given): a
    check compares the same few tokens with every candidate's."""
    if sounds is None:
        return phonetic(token)
    code = sounds.get(token)
    if code is None:
        code = sounds[token] = phonetic(token)
    return code


def _expand(toks: list[str]) -> list[str]:
    """Tokens plus adjacent pairs joined ("al sayed" also as "alsayed")."""
    return toks + [a + b for a, b in itertools.pairwise(toks)]


def _side(src: list[str], dst: list[str], sounds: dict[str, str] | None = None) -> float:
    """Mean and worst of each source token's best counterpart: one wrong name weighs."""
    if not src or not dst:
        return 0.0
    pool = _expand(dst)
    # A token found as it is scores 1.0, the most any pair can: no need to compare it.
    exact = set(pool)
    # ``_token_sim`` over the pool, written out: the pool's sounds are worked out once, and
    # this loop is most of an attribute check's matching.
    coded = [(d, _sound(d, sounds)) for d in pool]
    similarity = JaroWinkler.similarity
    best = []
    for t in src:
        if t in exact:
            best.append(1.0)
            continue
        sound = _sound(t, sounds) if len(t) > 1 else None
        top = 0.0
        for d, code in coded:
            jw = similarity(t, d)
            if code == sound:
                jw = (1.0 + jw) / 2  # as in ``_token_sim``
            if jw > top:
                top = jw
        best.append(top)
    return 0.5 * sum(best) / len(best) + 0.5 * min(best)


def name_similarity(q: list[str], c: list[str], sounds: dict[str, str] | None = None) -> float:
    """Order-free, transliteration- and typo-tolerant similarity of two token lists, 0..1."""
    if not q or not c:
        return 0.0
    # A query may omit middle names: then only the register name's outer tokens must appear.
    core = c if len(c) <= len(q) else [c[0], c[-1]]
    return 0.65 * _side(q, c, sounds) + 0.35 * _side(core, q, sounds)


def dob_similarity(q: date, c: date) -> float:
    if q == c:
        return 1.0
    if q.year == c.year and q.month == c.day and q.day == c.month:
        return 0.9  # day/month swap
    if abs((q - c).days) == 1:
        return 0.8
    same = (q.year == c.year) + (q.month == c.month) + (q.day == c.day)
    return 0.6 if same == 2 else 0.0  # one part wrong (a typo in day, month or year)


def score(query: Query, cand: Candidate) -> Score:
    """Score one candidate against the query."""
    return _score(query, tokens(f"{query.given} {query.family}"), cand, {})


def _score(query: Query, q: list[str], cand: Candidate, sounds: dict[str, str]) -> Score:
    """``score`` with the query's tokens given and a memo of metaphone codes (``decide``
    scores every candidate with the same ones)."""
    name = max((name_similarity(q, tokens(f"{g} {f}"), sounds) for g, f in cand.names), default=0.0)
    dob = dob_similarity(query.date_of_birth, cand.date_of_birth)
    total = 0.6 * name + 0.4 * dob
    explanation: dict[str, object] = {"name": round(name, 3), "date_of_birth": round(dob, 3)}
    if query.document_number:
        wanted = normalise_document(query.document_number)
        docs = {normalise_document(d) for d in cand.documents}
        if wanted in docs:
            total = min(1.0, total + 0.08)
            explanation["document"] = "agrees"
        elif docs:
            total -= 0.2
            explanation["document"] = "differs"
    if query.nationality and cand.nationality and query.nationality.upper() != cand.nationality:
        total -= 0.1
        explanation["nationality"] = "differs"
    return Score(cand.key, round(max(0.0, total), 4), name, dob, explanation)


@dataclass(frozen=True)
class MatchResult:
    #: "unique" (one strong match), "ambiguous" (several close), "weak" (best below CONFIRM),
    #: or "none" (no candidate worth a look).
    kind: str
    best: Score | None
    scores: tuple[Score, ...]


def decide(query: Query, candidates: Sequence[Candidate]) -> MatchResult:
    """Score every candidate and classify: only one strong, clear match is ``unique``."""
    q = tokens(f"{query.given} {query.family}")
    sounds: dict[str, str] = {}  # this call's only: no name outlives the check
    scores = sorted((_score(query, q, c, sounds) for c in candidates), key=lambda s: -s.score)
    scores = [s for s in scores if s.score >= WEAK]
    if not scores:
        return MatchResult("none", None, ())
    best = scores[0]
    if best.score < CONFIRM:
        return MatchResult("weak", best, tuple(scores))
    if len(scores) > 1 and scores[1].score >= best.score - MARGIN:
        return MatchResult("ambiguous", best, tuple(scores))
    return MatchResult("unique", best, tuple(scores))
