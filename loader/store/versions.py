"""Versions: the one rule that decides what a record does to the one stored (or kept) before it.

Graph re-issues a record with a higher ``version`` as late telemetry arrives. A newer
record replaces the stored one's whole subtree, an older one is skipped, the same one is
left alone, and the same version with parts the stored copy lacks (sessions or
participants: a list page gives the record without them) is completed. ``load`` and
``sync`` decide in the transaction that writes; ``export`` decides against the records it
has kept so far. Both call :func:`decide`.
"""

from __future__ import annotations

from dataclasses import dataclass

# outcomes of one record
NEW, REPLACED, COMPLETED, UNCHANGED, OLDER = "loaded", "replaced", "completed", "unchanged", "older"
OUTCOMES = (NEW, REPLACED, COMPLETED, UNCHANGED, OLDER)
# the parts of a record's tree (loader.ingest.tree): a completion adds sessions or participants
PARTS = ("record", "organizer", "participants", "sessions")


@dataclass(frozen=True)
class Held:
    """What is known of a record's version: its number, lastModifiedDateTime (a Timestamp or
    None) and which optional parts it carries."""

    version: int
    modified: object
    has_sessions: bool
    has_participants: bool


def decide(incoming: Held, stored: Held | None) -> tuple[str, list[str]]:
    """(outcome, parts of the incoming record to write) against what is held."""
    if stored is None:
        return NEW, list(PARTS)
    mine = (incoming.version or 0, incoming.modified)
    theirs = (stored.version or 0, stored.modified)
    if is_later(mine, theirs):
        return REPLACED, list(PARTS)
    if is_later(theirs, mine):
        return OLDER, []
    parts = []
    if incoming.has_sessions and not stored.has_sessions:
        parts.append("sessions")
    if incoming.has_participants and not stored.has_participants:
        parts.append("participants")
    return (COMPLETED, ["record"] + parts) if parts else (UNCHANGED, [])


def after(outcome: str, incoming: Held, stored: Held | None) -> Held | None:
    """What is held once the outcome is applied: the incoming record, or the stored one
    with the parts a completion added."""
    if outcome in (NEW, REPLACED):
        return incoming
    if outcome == COMPLETED:
        return Held(stored.version, stored.modified, stored.has_sessions or incoming.has_sessions,
                    stored.has_participants or incoming.has_participants)
    return stored


def is_later(a: tuple, b: tuple) -> bool:
    if a[0] != b[0]:
        return a[0] > b[0]
    if a[1] is None or b[1] is None:
        return a[1] is not None and b[1] is None
    return a[1] > b[1]

