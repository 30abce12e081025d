"""The import summary's counting: each record once, new stays new, a later change makes an unchanged one updated."""

from __future__ import annotations

import random

from bot.imports.tally import Counts, Identities, Tally


def test_identities_hold_exactly_what_a_set_holds():
    """Integer ids (in the bitmap) and codes (in a set) answer membership and size as a Python set would."""
    rng = random.Random(7)
    values = [rng.randrange(0, 5000, 2) for _ in range(3000)] + [f"C{rng.randrange(100)}" for _ in range(300)]
    values += [0, 8, 1 << 20, -2, ""]
    identities = Identities()
    for value in values:
        identities.add(value)
    assert len(identities) == len(set(values))
    assert all(value in identities for value in values)
    assert not any(value in identities for value in (5001, 7, 9, "C100", -1, 1 << 21))


def test_a_record_is_counted_once_with_its_strongest_standing():
    """New beats updated beats unchanged, whatever the order the batches bring them in."""
    tally = Tally()
    tally.note("customers", new=[1, 2], unchanged=[3, 4, 5])
    tally.note("customers", updated=[1, 3], unchanged=[2, 4])  # 1 was created by this import: still new
    tally.note("customers", unchanged=[3, 5, 6])  # 3 stays updated
    tally.added("consent_events", 4)
    assert tally.counts() == {"customers": Counts(2, 1, 3), "consent_events": Counts(4, 0, 0)}
    assert tally.lines() == ["customers: 2 new, 1 updated, 3 unchanged", "consent history: 4 new"]
