"""The version rule (loader.store.versions.decide) on its own, case by case: what a record
does to the copy held before it. No database: load, sync and export all call this rule."""

import pytest

from loader.ingest.values import to_timestamp
from loader.store.versions import COMPLETED, NEW, OLDER, PARTS, REPLACED, UNCHANGED, Held, after, decide

EARLY = to_timestamp("2026-11-02T10:00:00Z", "")
LATE = to_timestamp("2026-11-02T10:00:00.000000001Z", "")
LATE_WITH_OFFSET = to_timestamp("2026-11-02T11:00:00.000000001+01:00", "")  # the same moment as LATE
ALL = list(PARTS)


def held(version=1, modified=EARLY, sessions=True, participants=True) -> Held:
    return Held(version, modified, sessions, participants)


CASES = {
    # nothing held: everything the record has is written
    "nothing stored": (held(), None, NEW, ALL),
    "nothing stored, a list-page copy": (held(sessions=False, participants=False), None, NEW, ALL),
    # the version decides first, whatever lastModifiedDateTime says
    "newer version": (held(version=2), held(version=1), REPLACED, ALL),
    "newer version, modified earlier": (held(version=2, modified=EARLY), held(version=1, modified=LATE), REPLACED, ALL),
    "newer version, without sessions": (held(version=2, sessions=False), held(version=1), REPLACED, ALL),
    "older version": (held(version=1), held(version=2), OLDER, []),
    "older version, modified later": (held(version=1, modified=LATE), held(version=2, modified=EARLY), OLDER, []),
    "older version, with parts the stored lacks": (held(version=1), held(version=2, sessions=False, participants=False),
                                                   OLDER, []),
    "no version is version 0": (held(version=None), held(version=0), UNCHANGED, []),
    # the same version: lastModifiedDateTime next
    "same version, modified later": (held(modified=LATE), held(modified=EARLY), REPLACED, ALL),
    "same version, modified earlier": (held(modified=EARLY), held(modified=LATE), OLDER, []),
    "same version, same moment in another zone": (held(modified=LATE_WITH_OFFSET), held(modified=LATE), UNCHANGED, []),
    "same version, incoming modified unknown": (held(modified=None), held(modified=EARLY), OLDER, []),
    "same version, stored modified unknown": (held(modified=EARLY), held(modified=None), REPLACED, ALL),
    "newer version, incoming modified unknown": (held(version=2, modified=None), held(version=1), REPLACED, ALL),
    # the same version and moment: only parts the stored copy lacks are written
    "the same copy again": (held(), held(), UNCHANGED, []),
    "stored lacks sessions": (held(), held(sessions=False), COMPLETED, ["record", "sessions"]),
    "stored lacks participants": (held(), held(participants=False), COMPLETED, ["record", "participants"]),
    "stored lacks both": (held(), held(sessions=False, participants=False), COMPLETED,
                          ["record", "sessions", "participants"]),
    "incoming lacks sessions": (held(sessions=False), held(), UNCHANGED, []),
    "incoming lacks participants": (held(participants=False), held(), UNCHANGED, []),
    "incoming lacks both": (held(sessions=False, participants=False), held(), UNCHANGED, []),
    "both lack sessions": (held(sessions=False), held(sessions=False), UNCHANGED, []),
    "each lacks what the other has": (held(participants=False), held(sessions=False), COMPLETED,
                                      ["record", "sessions"]),
    "modified unknown on both, stored lacks sessions": (held(modified=None), held(modified=None, sessions=False),
                                                        COMPLETED, ["record", "sessions"]),
    "modified unknown on both": (held(modified=None), held(modified=None), UNCHANGED, []),
}


@pytest.mark.parametrize("incoming, stored, outcome, parts", CASES.values(), ids=CASES.keys())
def test_decide(incoming, stored, outcome, parts):
    assert decide(incoming, stored) == (outcome, parts)


def test_what_is_held_after_each_outcome():
    stored, incoming = held(sessions=False), held(participants=False)
    assert after(COMPLETED, incoming, stored) == held()  # the parts of both
    assert after(REPLACED, incoming, stored) is incoming
    assert after(NEW, incoming, None) is incoming
    assert after(UNCHANGED, incoming, stored) is stored
    assert after(OLDER, incoming, stored) is stored
