"""Classify: judge every stream in the graph again by a rule, and rebuild what counts verdicts.

The rule in force is one node, ``(:QualityRule {id: 'all'})`` (absent: ``cqd``). Loads and
syncs read it when they start and judge new records by it (:func:`rule_in_force`);
:func:`classify` sets it and re-judges every stored stream from its stored metrics, with the
transform's own verdict and rollup functions (:func:`loader.ingest.transform.judge_line`,
:func:`loader.ingest.transform.relay_counts`), so the logic exists once. It reads the records'
media lines in batches, judges them in Python, and writes back in one transaction per batch:
each stream's ``modality``, ``quality`` and ``poorReasons``, each media line's and relay
edge's counts, each segment end's and session's audio counts. The summaries are stale from
the first write (as after a load) and rebuilt at the end when they existed.

While it runs the node says ``complete: false``: an interrupted classify is finished by
running it again. Run it while no load writes: a load that started before it judges its
records by the rule it read then.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from ..errors import ParameterError
from ..ingest.transform import VERDICT_PLANS, judge_line, relay_counts
from ..model import DEFAULT_QUALITY_RULE, QUALITY_RULE_BY_NAME, QUALITY_RULES, modality_of
from .connection import Graph

RECORDS_PER_BATCH = 500

# Every stored metric some rule reads: what a stream is judged from.
METRICS = sorted({t.name for rule in QUALITY_RULES for m in rule.modalities
                  for t in m.metrics + ((m.gate,) if m.gate else ())})

_RULE = "OPTIONAL MATCH (q:QualityRule {id: 'all'}) RETURN q.name AS name, q.complete AS complete"
_START = "MERGE (q:QualityRule {id: 'all'}) SET q.name = $rule, q.complete = false"
_FINISH = ("MATCH (q:QualityRule {id: 'all'}) "
           "SET q.complete = true, q.classifiedAt = datetime(), q.streams = $streams")
_IDS = "MATCH (c:CallRecord) RETURN c.id AS id"
_READ = (
    "UNWIND $ids AS id MATCH (:CallRecord {id: id})-[:CONTAINS]->(s:Session)-[:CONTAINS]->(g:Segment)"
    "-[:CONTAINS]->(m:Media) "
    "RETURN s.key AS session, s.modalities AS modalities, g.key AS segment, m.key AS media, m.ordinal AS ordinal, "
    "m.label AS label, m.callerNetworkRelayIPAddress AS callerNetworkRelayIPAddress, "
    "m.calleeNetworkRelayIPAddress AS calleeNetworkRelayIPAddress, "
    "[(m)-[:CONTAINS]->(st:Stream) | st {.key, .streamDirection, " + ", ".join(f".{name}" for name in METRICS)
    + "}] AS streams"
)
_WRITES = (
    ("streams", "UNWIND $rows AS row MATCH (st:Stream {key: row.key}) "
                "SET st.modality = row.modality, st.quality = row.quality, st.poorReasons = row.poorReasons"),
    ("media", "UNWIND $rows AS row MATCH (m:Media {key: row.key}) SET m.modality = row.modality, "
              "m.callerRatedStreams = row.callerRatedStreams, m.callerPoorStreams = row.callerPoorStreams, "
              "m.calleeRatedStreams = row.calleeRatedStreams, m.calleePoorStreams = row.calleePoorStreams"),
    ("relays", "UNWIND $rows AS row MATCH (:Segment {key: row.segment})-[u:USED_RELAY]->() "
               "WHERE u.mediaOrdinal = row.ordinal AND u.side = row.side "
               "SET u.modality = row.modality, u.ratedStreams = row.rated, u.poorStreams = row.poor"),
    ("ends", "UNWIND $rows AS row MATCH (:Segment {key: row.segment})-[e:CALLER|CALLEE]->() "
             "WHERE type(e) = row.type SET e.sentRatedStreams = row.rated, e.sentPoorStreams = row.poor"),
    ("sessions", "UNWIND $rows AS row MATCH (s:Session {key: row.key}) "
                 "SET s.ratedStreams = row.rated, s.poorStreams = row.poor"),
)


@dataclass(frozen=True)
class RuleState:
    name: str
    complete: bool  # every stream follows it (false while, or after an interrupted, classify)


def rule_in_force(graph: Graph) -> RuleState:
    """The rule the graph's verdicts follow: ``cqd`` until a classify chose another."""
    with graph.session(read=True) as session:
        row = session.run(_RULE).single()
    return RuleState(row["name"] or DEFAULT_QUALITY_RULE, row["complete"] is not False)


def check_rule(name: str) -> str:
    if name not in QUALITY_RULE_BY_NAME:
        raise ParameterError(f"--rule {name!r}: expected one of {', '.join(QUALITY_RULE_BY_NAME)}")
    return name


@dataclass
class Result:
    rule: str
    records: int = 0
    streams: int = 0
    poor: int = 0
    good: int = 0
    seconds: float = 0.0
    summarized: bool = False


def classify(graph: Graph, rule: str, on_batch: Callable[[Result, int], None] | None = None,
             batch_size: int = RECORDS_PER_BATCH) -> Result:
    """Judge every stream by ``rule`` and rebuild the counts of verdicts and the summaries."""
    from ..queries.summaries import mark_calls_changed, state, summarize

    check_rule(rule)
    started = time.monotonic()
    result = Result(rule)
    plan = VERDICT_PLANS[rule]
    with graph.session() as session:
        session.execute_write(lambda tx: tx.run(_START, rule=rule).consume())
        ids = [row["id"] for row in session.run(_IDS)]
    had_summaries = state(graph).exists
    mark_calls_changed(graph)
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        with graph.session() as session:
            lines = session.execute_read(lambda tx: [row.data() for row in tx.run(_READ, ids=chunk)])
            writes = judge_lines(plan, lines, result)
            session.execute_write(lambda tx: _write(tx, writes))
        result.records += len(chunk)
        if on_batch:
            on_batch(result, len(ids))
    with graph.session() as session:
        session.execute_write(lambda tx: tx.run(_FINISH, streams=result.streams).consume())
    mark_calls_changed(graph)
    if had_summaries:
        summarize(graph)
        result.summarized = True
    result.seconds = time.monotonic() - started
    return result


def judge_lines(plan: dict, lines: list[dict], result: Result) -> dict[str, list]:
    """The rows to write for a batch of media lines read back (see ``_READ``)."""
    writes: dict[str, list] = {name: [] for name, _ in _WRITES}
    ends: dict[str, list] = {}  # segment key -> [caller rated, caller poor, callee rated, callee poor]
    sessions: dict[str, list] = {}  # session key -> [rated, poor]
    for line in lines:
        modality = modality_of(line["label"], line["modalities"])
        streams = [{k: v for k, v in stream.items() if v is not None} for stream in line["streams"]]
        sent = judge_line(plan, modality, streams)
        for stream in streams:
            writes["streams"].append({"key": stream["key"], "modality": modality, "quality": stream["quality"],
                                      "poorReasons": stream.get("poorReasons")})
            result.poor += stream["quality"] == "poor"
            result.good += stream["quality"] == "good"
        result.streams += len(streams)
        writes["media"].append({"key": line["media"], "modality": modality, **sent})
        for side, (_, rated, poor) in relay_counts(line, sent).items():
            writes["relays"].append({"segment": line["segment"], "ordinal": line["ordinal"], "side": side,
                                     "modality": modality, "rated": rated, "poor": poor})
        end = ends.setdefault(line["segment"], [0, 0, 0, 0])
        session = sessions.setdefault(line["session"], [0, 0])
        if modality == "audio":  # the segment ends and the session count audio (see loader.model)
            counts = (sent["callerRatedStreams"], sent["callerPoorStreams"],
                      sent["calleeRatedStreams"], sent["calleePoorStreams"])
            end[:] = [a + b for a, b in zip(end, counts)]
            session[0] += counts[0] + counts[2]
            session[1] += counts[1] + counts[3]
    for segment, (caller_rated, caller_poor, callee_rated, callee_poor) in ends.items():
        writes["ends"] += [{"segment": segment, "type": "CALLER", "rated": caller_rated, "poor": caller_poor},
                           {"segment": segment, "type": "CALLEE", "rated": callee_rated, "poor": callee_poor}]
    writes["sessions"] = [{"key": key, "rated": rated, "poor": poor} for key, (rated, poor) in sessions.items()]
    return writes


def _write(tx, writes: dict[str, list]) -> None:
    for name, statement in _WRITES:
        if writes[name]:
            tx.run(statement, rows=writes[name]).consume()
