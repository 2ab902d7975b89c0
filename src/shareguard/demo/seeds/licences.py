"""The driving-licence agency's year of licence records: one Parquet file a month.

Each monthly file holds the month's licence applications and renewals: copies of pool
members who hold a licence (with the mess real records have: typos, swapped names, a
day/month slip, a moved or missing postcode) among many more people who are not on any list.
Together the files hold ``plan.licence_rows`` rows (1,000,000 at seed scale). Which row is
whose copy is the synthetic world's known truth, kept in a file beside each month's.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shareguard.demo.seeds.people import PoolPerson, postcode
from shareguard.demo.seeds.plan import Plan
from shareguard.status.synthetic import Generator

COLUMNS = ["record_id", "first_name", "surname", "date_of_birth", "postcode"]


def month_file(folder: Path, plan: Plan, m: int) -> Path:
    return folder / f"dvla-licences-{plan.label(m)}.parquet"


def truth_file(folder: Path, plan: Plan, m: int) -> Path:
    return folder / f"dvla-licences-{plan.label(m)}.truth.parquet"


def typo(rng: random.Random, word: str) -> str:
    """One slip of the keyboard: two letters swapped, one dropped or one changed."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(3)
    if op == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + rng.choice("aeiourstnl") + word[i + 1 :]


def noisy(rng: random.Random, p: PoolPerson) -> tuple[str, str, str, str | None]:
    given, family, dob, post = p.given, p.family, p.date_of_birth, p.postcode
    r = rng.random()
    if r < 0.08:
        given = typo(rng, given)
    elif r < 0.12:
        family = typo(rng, family)
    elif r < 0.15:
        given, family = family, given
    if rng.random() < 0.02 and dob.day <= 12 and dob.day != dob.month:
        dob = dob.replace(month=dob.day, day=dob.month)
    post_out: str | None = post
    r = rng.random()
    if r < 0.25:
        post_out = None
    elif r < 0.35:
        post_out = postcode(rng)
    return given, family, dob.isoformat(), post_out


def write_files(folder: Path, plan: Plan, pool: list[PoolPerson]) -> int:
    """Write every month's file and its truth; returns the rows written (all months)."""
    folder.mkdir(parents=True, exist_ok=True)
    gen = Generator(plan.seed + 2)
    firsts, lasts = [], []
    for person in gen.people(max(200, min(8_000, plan.licence_rows // 50))):
        g, f, _kind, _script = person.names[0]
        firsts.append(g)
        lasts.append(f)
    events = sum(len(p.licence_months) for p in pool)
    others = max(0, plan.licence_rows - events)
    total = 0
    for m in range(plan.months):
        rng = random.Random(f"{plan.seed}:licences:{m}")
        # An implausible register entry (born 1899) has no licence: the agency's file would
        # be refused whole for its date of birth.
        listed = [p for p in pool if m in p.licence_months and p.issue != "implausible"]
        n_other = others // plan.months + (1 if m < others % plan.months else 0)
        ids, first, last, dobs, posts, truth_ids, truth_people = [], [], [], [], [], [], []
        for i, p in enumerate(listed):
            rid = f"DVLA-{m:02d}-L{i:07d}"
            g, f, d, post = noisy(rng, p)
            ids.append(rid)
            first.append(g)
            last.append(f)
            dobs.append(d)
            posts.append(post)
            truth_ids.append(rid)
            truth_people.append(str(p.person_id))
        base = date(1940, 1, 1)
        span = (date(2006, 12, 31) - base).days
        first += rng.choices(firsts, k=n_other)
        last += rng.choices(lasts, k=n_other)
        dobs += [(base + timedelta(days=rng.randrange(span))).isoformat() for _ in range(n_other)]
        posts += [postcode(rng) if rng.random() < 0.9 else None for _ in range(n_other)]
        ids += [f"DVLA-{m:02d}-O{i:07d}" for i in range(n_other)]
        # Shuffle so copies are not all at the top of the file.
        order = list(range(len(ids)))
        rng.shuffle(order)
        table = pa.table(
            {
                "record_id": [ids[i] for i in order],
                "first_name": [first[i] for i in order],
                "surname": [last[i] for i in order],
                "date_of_birth": [dobs[i] for i in order],
                "postcode": pa.array([posts[i] for i in order], pa.string()),
            }
        )
        pq.write_table(table, month_file(folder, plan, m))
        pq.write_table(
            pa.table({"record_id": truth_ids, "person_id": truth_people}),
            truth_file(folder, plan, m),
        )
        total += len(ids)
    return total


def read_truth(folder: Path, plan: Plan, m: int) -> dict[str, str]:
    """record id → person id for the month's copies of pool members (the known truth)."""
    table = pq.read_table(truth_file(folder, plan, m))
    return dict(zip(table["record_id"].to_pylist(), table["person_id"].to_pylist(), strict=True))
