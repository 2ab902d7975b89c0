"""The linkage model: Splink comparisons, blocking rules and training recipe (pure: no I/O).

Why these choices (docs/matching.md has the long form):

* **Names** are compared one column at a time with graded levels: exact (term-frequency
  adjusted: a rare name is stronger evidence than a common one); exactly the other name
  column (forename and surname recorded the other way round, common across naming
  conventions; its own level, because an exact swap is far rarer by chance than a phonetic
  one); Damerau–Levenshtein ≤ 1 (one typo or transposition); Jaro–Winkler ≥ 0.92; same
  phonetic key (Metaphone, after transliteration to ASCII); the other name column within one
  edit or with the same phonetic key (a swap with a typo); Jaro–Winkler ≥ 0.80.
* **Term frequencies come from the partner file being matched**, not from both inputs or a
  fixed table: what makes an exact name weak is how many namesakes *that file* holds.
* **Name pair**: forename and surname are not independent (names travel together by
  language and family, so "Mariam Hussain" has far more namesakes than "Mariam" and
  "Hussain" apart suggest). A comparison with no evidence of its own corrects the two name
  comparisons on "both names exact" by the pair's rate ratio in the partner file: namesakes
  observed (leave-one-out) over expected, shrunk by one pseudo-namesake.
* **Date of birth**: exact; day and month swapped; one edit (digit slip or transposition);
  same year.
* **Postcode**: exact; sector; outward code (district); area.
* **Middle names** (optional: only where both inputs hold some): exact (term-frequency
  adjusted); the first middle name exact (one file holds only the first of several); an
  initial agreeing with a name's first letter; the first middle names within Jaro–Winkler
  0.92 (a typo); their phonetic keys agree (another romanisation); else. A record without
  them is missing on one side: neutral. They are what tells apart a namesake born the same
  day, whose middle names are their own.
* **Blocking** is a union of rules, each catching what the others miss, so one corrupted
  field never hides a true match: phonetic forename + surname; the same with the names
  swapped; exact date of birth; surname key + birth year; forename key + birth year;
  postcode unit; surname key + birthday (month and day); forename key + birthday.
"""

from __future__ import annotations

import math
from typing import Any

# Splink's comparison libraries are imported inside each builder, not here: the engine imports
# this module at start-up and Splink takes about a second to load (see engine.py).

#: Comparisons in the model, in the order the explanation lists them.
COMPARISONS = (
    "first_name",
    "middle_names",
    "surname",
    "name_pair",
    "dob",
    "postcode",
    "household",
)
#: Comparisons with no evidence of their own: they correct others (an explanation shows them
#: only where they changed the weight).
CORRECTIONS = ("name_pair", "household")

#: Blocking rules for prediction, as SQL on ``l``/``r`` (both backends accept these).
BLOCKING_RULES: tuple[tuple[str, str], ...] = (
    ("phonetic names", "l.first_name_ph = r.first_name_ph and l.surname_ph = r.surname_ph"),
    ("phonetic names swapped", "l.first_name_ph = r.surname_ph and l.surname_ph = r.first_name_ph"),
    ("date of birth", "l.dob = r.dob"),
    ("surname key and birth year", "l.surname_ph = r.surname_ph and l.dob_year = r.dob_year"),
    (
        "forename key and birth year",
        "l.first_name_ph = r.first_name_ph and l.dob_year = r.dob_year",
    ),
    ("postcode unit", "l.postcode = r.postcode"),
    ("surname key and birthday", "l.surname_ph = r.surname_ph and l.dob_md = r.dob_md"),
    ("forename key and birthday", "l.first_name_ph = r.first_name_ph and l.dob_md = r.dob_md"),
)

#: Rules that admit almost no false positives: they estimate the prior match probability.
DETERMINISTIC_RULES = (
    "l.first_name = r.first_name and l.surname = r.surname and l.dob = r.dob",
    "l.first_name = r.surname and l.surname = r.first_name and l.dob = r.dob",
)
#: Roughly how many true matches the deterministic rules find (typos escape them).
DETERMINISTIC_RECALL = 0.6

#: Pseudo-namesakes behind a name pair's rate ratio (observed over expected namesakes): one
#: each side, so that a pair seen a few times says little and a pair seen hundreds of times
#: speaks for itself. Set on principle (a unit prior), not fitted to labelled data.
NAME_PAIR_PRIOR = 1.0

#: Columns whose exact-match level is adjusted by term frequency in the partner file.
TF_COLUMNS = ("first_name", "surname", "full_name", "postcode")
#: The middle names' column, adjusted too when the model compares it (``settings``).
MIDDLE_TF_COLUMN = "middle_names"


def uses_middle_names(model: Any) -> bool:
    """Whether a model compares middle names: a saved model (dict) or Splink settings."""
    if isinstance(model, dict):
        comparisons = model.get("comparisons", [])
        return any(c.get("output_column_name") == "middle_names" for c in comparisons)
    return any(getattr(c, "output_column_name", None) == "middle_names" for c in model.comparisons)


def term_frequency_sql(partner: str, *, middle_names: bool = False) -> dict[str, str]:
    """SQL per TF column: each value's frequency among the partner file's non-missing values.

    ``full_name`` gets the surname's frequency *given* the forename (pairs with that forename
    that have this surname), so that the forename's adjustment plus this one make the pair's
    joint frequency. Plain SQL that DuckDB and Spark both run; ``partner`` is a table or view
    name. The columns are Splink's lookup layout (``value``, ``tf_<column>``).
    """
    out = {
        col: (
            f"select {col}, cast(count(*) as double)"
            f" / (select count({col}) from {partner}) as tf_{col}"
            f" from {partner} where {col} is not null group by {col}"
        )
        for col in ("first_name", "surname", "postcode")
        + ((MIDDLE_TF_COLUMN,) if middle_names else ())
    }
    # The pair's frequency over what the two names' own frequencies predict (the ratio that
    # turns the forename and surname adjustments into the pair's joint one), as an empirical-
    # Bayes rate ratio: observed namesakes x over expected E, with one pseudo-namesake
    # (NAME_PAIR_PRIOR) on each side: (a + x) / (a + E). Leave-one-out: the candidate record
    # is not its own namesake, so a pair seen only in the candidate has x = 0 and weighs
    # more than its names apart, while a pair common in the file weighs less.
    a = NAME_PAIR_PRIOR
    out["full_name"] = (
        f"with p as (select first_name, surname, full_name from {partner}"
        " where full_name is not null),"
        " f as (select first_name, count(*) as n_f from p group by first_name),"
        f" s as (select surname, cast(count(*) as double) / (select count(surname) from {partner})"
        " as p_s from p group by surname),"
        " fs as (select full_name, first_name, surname, count(*) as n_fs from p"
        " group by full_name, first_name, surname)"
        f" select fs.full_name, ({a} + fs.n_fs - 1) / ({a} + (f.n_f - 1) * s.p_s)"
        " as tf_full_name"
        " from fs join f on fs.first_name = f.first_name join s on fs.surname = s.surname"
    )
    return out


#: Pseudo-pairs at the chance rate behind the household rate (``household_weight``): a file
#: with few records sharing a postcode says little, and its correction stays near zero. Set
#: on principle, not fitted to labelled data.
HOUSEHOLD_PRIOR_PAIRS = 100.0


def household_sql(partner: str) -> str:
    """SQL for one row: partner pairs at one postcode, those of them sharing a surname, and the
    chance that two partner records share a surname (``household_weight`` turns it into a weight).

    Plain SQL that DuckDB and Spark both run; ``partner`` is a table or view name.
    """
    known = f"(select surname, postcode from {partner}" + (
        " where surname is not null and postcode is not null)"
    )
    return (
        f"with k as {known},"
        " pc as (select count(*) as n from k group by postcode),"
        " hh as (select count(*) as n from k group by postcode, surname),"
        " s as (select count(*) as n from k group by surname),"
        " t as (select count(*) as n from k)"
        " select (select coalesce(sum(cast(n as double) * (n - 1) / 2), 0) from pc),"
        " (select coalesce(sum(cast(n as double) * (n - 1) / 2), 0) from hh),"
        " (select coalesce(sum((cast(s.n as double) / t.n) * (cast(s.n as double) / t.n)), 0)"
        " from s cross join t)"
    )


def household_weight(
    pairs_at_postcode: float, pairs_sharing_surname: float, chance: float
) -> float:
    """The household correction's weight (bits, ≤ 0) from ``household_sql``'s row.

    Surname and postcode are not independent: people who share an address often share a
    surname (a household), so two records that agree on both are far less surprising than the
    surname's and the postcode's frequencies multiplied say. Among partner records at one
    postcode, the share of pairs that also share a surname (``h``, shrunk towards ``chance``
    by ``HOUSEHOLD_PRIOR_PAIRS``) against ``chance`` (two records taken at random): the
    correction is −log2(h / chance), and 0 where the file shows no households.
    """
    if chance <= 0:
        return 0.0
    a = HOUSEHOLD_PRIOR_PAIRS
    h = (pairs_sharing_surname + a * chance) / (pairs_at_postcode + a)
    return -math.log2(max(h / chance, 1.0))


#: Comparisons whose levels, from the one named on, are ordered from nearer to farther:
#: a nearer level is never weaker evidence of a match than a farther one
#: (``monotone_weights``). Postcode: unit, sector, district, area, other; date of birth: one
#: edit, same year, other (a swap is no nearer or farther than a slip, so it is left out).
ORDERED_FROM = {"postcode": "Exact match on postcode", "dob": "one digit slipped or transposed"}


#: How much more a nearer level weighs than a farther one it was raised to (bits): enough that
#: each level keeps a weight of its own, since an explanation names a level by its weight.
ORDER_STEP = 0.001


def monotone_weights(weights: list[float]) -> list[float]:
    """Each level's weight above the weight of every farther level (nearest first).

    EM gives a level it never saw among the matches an m near 0 and so an extreme weight
    (on the synthetic data "same postcode sector, other unit" trained to about -40 bits
    while "another area" was -2.6): a person who moved within a sector would count as more
    surely someone else than one who moved across the country. A nearer level keeps its own
    weight where that is higher, and is raised to just above the farther level's
    (``ORDER_STEP``) where it is not.
    """
    out = list(weights)
    for i in range(len(out) - 2, -1, -1):
        out[i] = max(out[i], out[i + 1] + ORDER_STEP)
    return out


def unseen_m_floor(prior: float, pairs: float) -> float:
    """The least m a trained level keeps: one over the matches expected, plus two.

    EM gives a level it never met among the matches an m near 0 (on the synthetic 100k x 1M
    "date of birth differs" trained to ~1e-8, -26 bits: a veto), though among ~30,000
    matches an unseen level's share is only known to be of order 1/30,000 (the rule of
    succession, (0 + 1) / (n + 2)). ``prior`` is the trained probability that two records
    match, ``pairs`` the pairs of watch-list and partner rows, so ``prior x pairs`` the
    matches expected. The more matches a file is expected to hold, the lower the floor; at
    100k x 1M it leaves an unseen level about -15 bits instead of a veto.
    """
    return 1.0 / (max(prior * pairs, 0.0) + 2.0)


#: EM sessions: each blocks on some fields and so trains the others.
EM_BLOCKING = ("l.dob = r.dob", "l.first_name_ph = r.first_name_ph and l.surname_ph = r.surname_ph")


def _dl1(col: str, other: str | None = None, backend: str = "duckdb") -> str:
    """Damerau–Levenshtein ≤ 1, written so that most non-matching pairs never pay for it.

    Damerau–Levenshtein costs ~10x Levenshtein, and non-matching pairs are most of what
    training and scoring see. On DuckDB: equal lengths need Hamming ≤ 1, or Hamming 2 that is
    a transposition; lengths one apart need Levenshtein ≤ 1 (one letter in or out). Other
    backends (no ``hamming``): lengths within one and Levenshtein ≤ 2 guard it. Both say the
    same. ``other`` compares ``col`` on the left with ``other`` on the right (a swapped name).
    """
    a, b = f"{col}_l", f"{other or col}_r"
    if backend == "duckdb":
        # CASE, not AND/OR: DuckDB evaluates both sides of AND/OR in a projection, but a CASE
        # only where its WHEN held — and hamming() refuses strings of unequal length.
        return (
            f"case when length({a}) = length({b}) then case when hamming({a}, {b}) <= 1 then true"
            f" when hamming({a}, {b}) = 2 then damerau_levenshtein({a}, {b}) = 1 else false end"
            f" when abs(length({a}) - length({b})) = 1 then levenshtein({a}, {b}) = 1"
            " else false end"
        )
    return (
        f"abs(length({a}) - length({b})) <= 1"
        f" and levenshtein({a}, {b}) <= 2"
        f" and damerau_levenshtein({a}, {b}) <= 1"
    )


def _name_comparison(col: str, other: str, backend: str) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name=col,
        comparison_description=f"{col}: graded string and phonetic similarity",
        comparison_levels=[
            cll.NullLevel(col),
            cll.ExactMatchLevel(col).configure(tf_adjustment_column=col),
            cll.CustomLevel(f"{col}_l = {other}_r", label_for_charts=f"{col} swapped with {other}"),
            cll.CustomLevel(_dl1(col, backend=backend), label_for_charts=f"{col} within one edit"),
            cll.JaroWinklerLevel(col, 0.92),
            cll.CustomLevel(f"{col}_ph_l = {col}_ph_r", label_for_charts=f"{col} sounds the same"),
            # A swap with a typo, then a swap that only sounds alike: their own levels, because
            # by chance a forename is within one edit of a surname far more rarely than their
            # phonetic keys agree (one level for both gave a swap with a typo ~4.5 bits, not ~7).
            cll.CustomLevel(
                _dl1(col, other, backend), label_for_charts=f"{col} swapped with {other}, one edit"
            ),
            cll.CustomLevel(
                f"{col}_ph_l = {other}_ph_r",
                label_for_charts=f"{col} swapped with {other}, same sound",
            ),
            cll.JaroWinklerLevel(col, 0.80),
            cll.ElseLevel(),
        ],
    )


def _name_pair_comparison() -> Any:
    """Forename and surname together: corrects the two comparisons' independence.

    It has no evidence of its own (m = u = 1, fixed, weight 0); on "both names exact" its
    term-frequency adjustment is minus log2 of the pair's rate ratio in the partner file
    (``term_frequency_sql``), so that the three together weigh the pair by how many namesakes
    the file really holds.
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="name_pair",
        comparison_description="forename and surname as a pair, by their frequency together",
        comparison_levels=[
            cll.NullLevel("full_name"),
            _fixed(
                cll.ExactMatchLevel("full_name"),
                "both names exact: how common the pair is in the partner file",
                tf_adjustment_column="full_name",
            ),
            _fixed(cll.ElseLevel(), "names differ"),
        ],
    )


def _fixed(level: Any, label: str, m: float = 1.0, **tf: str) -> Any:
    """A level of a correction: m and u fixed (training leaves them), weight log2(m / u); u = 1,
    so m = 1 adds nothing but what a term-frequency adjustment (``tf``) brings."""
    return level.configure(
        m_probability=m,
        u_probability=1.0,
        fix_m_probability=True,
        fix_u_probability=True,
        label_for_charts=label,
        **tf,
    )


def _household_comparison(weight: float) -> Any:
    """Surname and postcode together: corrects the two comparisons' independence (households).

    No evidence of its own: on "surname and postcode unit both exact" it adds ``weight``
    (``household_weight``, ≤ 0, fixed, so training leaves it), elsewhere 0. A relative at the
    person's address then no longer scores as if sharing both were a coincidence.
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="household",
        comparison_description="surname and postcode as a pair: households share both",
        comparison_levels=[
            cll.CustomLevel(
                "surname_l is null or surname_r is null or postcode_l is null or postcode_r is null"
            ).configure(is_null_level=True),
            _fixed(
                cll.CustomLevel("surname_l = surname_r and postcode_l = postcode_r"),
                "same surname at the same postcode: households share both",
                m=2.0**weight,
            ),
            _fixed(cll.ElseLevel(), "not both"),
        ],
    )


def _dob_comparison(backend: str) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="dob",
        comparison_description="date of birth, tolerant to day/month swaps and digit slips",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.CustomLevel("dob_l = dob_swapped_r", label_for_charts="day and month swapped"),
            cll.CustomLevel(
                _dl1("dob", backend=backend), label_for_charts="one digit slipped or transposed"
            ),
            cll.CustomLevel("dob_year_l = dob_year_r", label_for_charts="same year"),
            cll.ElseLevel(),
        ],
    )


def _postcode_comparison() -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="postcode",
        comparison_description="postcode: unit, sector, district, area",
        comparison_levels=[
            cll.NullLevel("postcode"),
            # Term-frequency adjusted: a random pair shares a postcode unit so rarely that u
            # sampled from 10^6 pairs is 0, 1 or 2 counts — noise; the unit's own frequency
            # in the data is the stable estimate (and a crowded address counts for less).
            cll.ExactMatchLevel("postcode").configure(tf_adjustment_column="postcode"),
            cll.ExactMatchLevel("pc_sector"),
            cll.ExactMatchLevel("pc_outward"),
            cll.ExactMatchLevel("pc_area"),
            cll.ElseLevel(),
        ],
    )


def _middle_names_comparison() -> Any:
    """Middle names, where both records hold some (a record without them is neutral).

    A namesake born the same day has middle names of their own; the person has theirs, as
    far as the file recorded them: all, only the first, only the initial, or misspelt.
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="middle_names",
        comparison_description="middle names: all, the first, the initial, a typo",
        comparison_levels=[
            cll.NullLevel("middle_names"),
            # Term-frequency adjusted: a rare middle name is stronger evidence than "John",
            # and an initial agreeing with an initial is weaker still.
            cll.ExactMatchLevel("middle_names").configure(tf_adjustment_column="middle_names"),
            cll.CustomLevel(
                "middle_first_l = middle_first_r and length(middle_first_l) > 1",
                label_for_charts="first middle name exact, others not held",
            ),
            cll.CustomLevel(
                "(length(middle_first_l) = 1 or length(middle_first_r) = 1)"
                " and middle_initial_l = middle_initial_r",
                label_for_charts="middle initial agrees",
            ),
            cll.JaroWinklerLevel("middle_first", 0.92).configure(
                label_for_charts="first middle name within Jaro-Winkler 0.92"
            ),
            # Another romanisation (Karim / Kareem, Jamal / Gamal), as for the forename.
            cll.CustomLevel(
                "middle_first_ph_l = middle_first_ph_r",
                label_for_charts="first middle name sounds the same",
            ),
            cll.ElseLevel(),
        ],
    )


def blocking_rules() -> list[Any]:
    from splink.blocking_rule_library import CustomRule

    return [CustomRule(sql) for _, sql in BLOCKING_RULES]


def settings(
    *,
    plain: bool = False,
    backend: str = "duckdb",
    household: float = 0.0,
    middle_names: bool = False,
) -> Any:
    """Splink settings for a watch list ⨝ partner link; ``plain`` uses Splink's default comparisons.

    ``household`` is the household correction's weight (``household_weight`` on the partner
    file being matched; 0 leaves pairs as they were). ``middle_names`` adds their comparison:
    only when both inputs hold some (a comparison missing on every pair has nothing to train).

    The plain model is the benchmark's baseline: the same prepared columns and blocking,
    Splink's out-of-the-box ``NameComparison``, ``DateOfBirthComparison`` and
    ``PostcodeComparison``.
    """
    import splink.comparison_library as cl
    from splink import SettingsCreator

    comparisons: list[Any]
    if plain:
        comparisons = [
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
        ]
    else:
        comparisons = [
            _name_comparison("first_name", "surname", backend),
            *([_middle_names_comparison()] if middle_names else []),
            _name_comparison("surname", "first_name", backend),
            _name_pair_comparison(),
            _dob_comparison(backend),
            _postcode_comparison(),
            _household_comparison(household),
        ]
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
    )
