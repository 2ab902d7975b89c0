"""Likely duplicate persons in the register: Splink ``dedupe_only`` on a small DuckDB frame.

The register is one curated source, so rather than training by EM on each run (unstable on
small registers) the model's m and u probabilities are fixed here, documented and tested:
a run gives the same pairs for the same register. Names are prepared exactly as for
matching (``shareguard.matching.prepare``: transliterated, phonetic keys).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

#: Report pairs at or above this probability.
THRESHOLD = 0.95
#: Prior: the chance two random register entries are the same person.
PRIOR = 1e-4


def _settings() -> Any:
    # Splink loads only when duplicates are looked for (it takes seconds to import).
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    def name(col: str) -> Any:
        # levels (non-null): exact, JW >= 0.92, JW >= 0.80, else
        return cl.JaroWinklerAtThresholds(col, [0.92, 0.80]).configure(
            m_probabilities=[0.85, 0.08, 0.04, 0.03], u_probabilities=[0.005, 0.01, 0.03, 0.955]
        )

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=PRIOR,
        comparisons=[
            name("first_name"),
            name("surname"),
            cl.ExactMatch("dob").configure(
                m_probabilities=[0.93, 0.07], u_probabilities=[0.0005, 0.9995]
            ),
            cl.ExactMatch("postcode").configure(
                m_probabilities=[0.6, 0.4], u_probabilities=[0.001, 0.999]
            ),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("dob"),
            block_on("first_name_ph", "surname_ph"),
            block_on("surname_ph", "dob_year"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def likely_duplicates(
    persons: Sequence[dict[str, Any]], threshold: float = THRESHOLD
) -> list[tuple[str, str, float]]:
    """``(id_a, id_b, probability)`` for pairs at or above ``threshold``, highest first.

    ``persons`` rows carry ``unique_id, first_name, surname, date_of_birth, postcode``.
    """
    if len(persons) < 2:
        return []
    try:  # pandas and Splink load only when duplicates are looked for (seconds to import)
        import pandas as pd
        from splink import DuckDBAPI, Linker
    except ImportError as exc:  # pragma: no cover - splink is a core dependency
        raise RuntimeError("duplicate detection needs splink: pip install shareguard") from exc
    from shareguard.matching.prepare import prepare

    raw = pd.DataFrame(list(persons))
    # prepare() cannot derive postcode parts from an all-empty column: give it a
    # placeholder, then blank every postcode column again so nobody matches on it.
    has_postcode = bool(raw["postcode"].notna().any())
    if not has_postcode:
        raw["postcode"] = "ZZ1 1ZZ"
    frame = prepare(raw)
    if not has_postcode:
        for col in ("postcode", "pc_outward", "pc_sector", "pc_area"):
            frame[col] = None
    linker = Linker(DuckDBAPI().register(frame), _settings())
    logging.getLogger("splink").setLevel(logging.WARNING)  # the Linker turns timings on
    scored = linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
    out = [
        (str(r.unique_id_l), str(r.unique_id_r), float(r.match_probability))
        for r in scored.itertuples()
    ]
    return sorted(out, key=lambda t: (-t[2], t[0], t[1]))
