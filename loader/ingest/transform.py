"""Transform: one Graph callRecord (raw JSON) into flat node and relationship rows.

Pure functions, no database: everything here can be tested on JSON alone. The rows follow
:mod:`loader.model`; the writer turns them into UNWIND batches.

A record with a value of the wrong type raises :class:`RecordError` naming the member, so
it is rejected whole and never lands half-converted. Unknown members and unknown enum
values are not errors: they are stored as they come, under a name of their own when theirs is
one callgraph stores (see :data:`loader.model.GRAPH_PREFIX`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from ..errors import printable
from ..model import (
    APPEARANCE_GROUPS,
    CALL_RECORD,
    CALL_RECORD_NODE,
    ENDPOINT_APPEARANCE,
    GRAPH_PREFIX,
    MAX_MEMBERS,
    MEDIA,
    MEDIA_NODE,
    MEDIA_STREAM,
    DEFAULT_QUALITY_RULE,
    POOR,
    QUALITY_RULES,
    RELS,
    SEGMENT_NODE,
    SESSION_NODE,
    STREAM_NODE,
    TRACE_ROUTE_HOP,
    UNCLASSIFIED,
    flat_name,
    stored_names,
    judge,
    modality_of,
    verdict_plan,
)
from ..places.lookup import Lookup, client_end, placements
from .tree import RecordRows
from .values import CONVERTERS, DroppedValue, FieldError, show, check_nesting, in_int64, text, to_string


class RecordError(ValueError):
    """The record cannot be loaded; the message says which member and why."""


# --- generic conversion by the model's tables ---------------------------------------------

def _is_annotation(member: str) -> bool:
    return "@" in member  # @odata.type, sessions@odata.nextLink, ...


def store_raw(out: dict, name: str, value: object, path: str = "", reserved: frozenset = frozenset()) -> None:
    """Keep a member the model does not know, as close to how it came as Neo4j allows: scalars
    and lists of one kind of scalar as they are, an integer past 64 bits as its digits, the rest
    as JSON text (nested at most MAX_DEPTH deep). A name callgraph stores itself (``reserved``)
    gets GRAPH_PREFIX, as does one that has it already, so no two members share a name."""
    if value is None:
        return
    path = path or name
    name = text(name, path)
    if not name or "\x00" in name:
        raise FieldError(path or "record", f"a member named {show(name)}: no database stores a property of that name")
    if name in reserved or name.startswith(GRAPH_PREFIX):
        name = GRAPH_PREFIX + name
    if isinstance(value, str):
        out[name] = text(value, path)
    elif isinstance(value, int) and not isinstance(value, bool) and not in_int64(value):
        out[name] = str(value)
    elif isinstance(value, (bool, int, float)):
        out[name] = value
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        out[name] = [text(v, path) for v in value]
    elif (isinstance(value, list) and value
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
          and all(in_int64(v) for v in value if isinstance(v, int))):
        out[name] = value
    elif isinstance(value, list) and value and all(isinstance(v, bool) for v in value):
        out[name] = value
    else:
        check_nesting(value, path)
        out[name] = canonical_json(value)  # ASCII: a lone surrogate is kept as its escape


# json.dumps(value, sort_keys=True) builds an encoder on every call; this one is built once.
canonical_json = json.JSONEncoder(sort_keys=True).encode


@dataclass(frozen=True)
class Plan:
    """How to convert one kind of Graph object, worked out once from the model's tables.

    ``fields``: member -> (converter, stored name); ``groups``: member -> the plan of a nested
    object flattened onto this one; ``known``: every member the tables name, plus those the
    caller converts itself (``handled``: sessions, caller, ...); ``prefix``: for the names of
    members the model does not know; ``reserved``: the names the model gives the node or edge
    (an unknown member named so is stored apart).
    """

    fields: dict
    groups: dict
    known: frozenset
    prefix: str = ""
    reserved: frozenset = frozenset()


def make_plan(props: tuple, groups: tuple = (), handled: tuple = (), prefix: str = "",
              reserved: frozenset = frozenset()) -> Plan:
    fields = {p.source: (CONVERTERS[p.kind], flat_name(prefix, p.name)) for p in props}
    nested = {g.source: make_plan(g.props, (), g.handled, flat_name(prefix, g.prefix), reserved) for g in groups}
    return Plan(fields, nested, frozenset(fields) | frozenset(nested) | frozenset(handled), prefix, reserved)


def convert(obj: object, plan: Plan, path: str, out: dict) -> dict:
    """Convert ``obj``'s documented members into ``out``; keep unknown ones as they come.

    This runs for every object of every record, so it walks the members present (Graph
    objects are sparse) with a plan made once per table, and builds a member's path only for
    an error.
    """
    if not isinstance(obj, dict):
        raise FieldError(path or "record", f"expected an object, got {type(obj).__name__}")
    if len(obj) > MAX_MEMBERS:
        raise FieldError(path or "record", f"has {len(obj)} members; callgraph takes up to {MAX_MEMBERS}")
    fields, groups = plan.fields, plan.groups
    for member, raw in obj.items():
        if raw is None:
            continue
        field = fields.get(member)
        if field is not None:
            try:
                value = field[0](raw, member)
            except DroppedValue:
                out.setdefault("dropped", []).append(field[1])
                continue
            except FieldError as exc:
                raise FieldError(_join(path, member), exc.message) from None
            if value is not None:
                out[field[1]] = value
        elif member in groups:
            convert(raw, groups[member], _join(path, member), out)
        elif member not in plan.known and "@" not in member:
            store_raw(out, flat_name(plan.prefix, member), raw, _join(path, member), plan.reserved)
    return out


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def _list(obj: dict, member: str, path: str) -> list:
    value = obj.get(member)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(_join(path, member), f"expected a list, got {type(value).__name__}")
    return value


# --- identities and endpoints ----------------------------------------------------------------

# Which identity of an identity set names the party, most specific first: a resource
# account (applicationInstance) is more telling than the application behind it.
IDENTITY_PRIORITY = (
    "user", "applicationInstance", "application", "phone", "guest", "acsUser",
    "azureCommunicationServicesUser", "spoolUser", "acsApplicationInstance",
    "spoolApplicationInstance", "azureApplicationInstance", "encrypted", "onPremises",
    "assertedIdentity", "device",
)


def _identity_kind_from_type(odata_type: str) -> str:
    t = odata_type.lower()
    for needle, kind in (("phone", "phone"), ("guest", "guest"), ("applicationinstance", "applicationInstance"),
                         ("application", "application"), ("azurecommunicationservices", "acsUser"),
                         ("encrypted", "encrypted")):
        if needle in t:
            return kind
    return "user"


def primary_identity(identity_set: object, path: str) -> tuple[str, dict] | None:
    """The (kind, identity) that names the party, or None when nothing carries an id."""
    if identity_set is None:
        return None
    if not isinstance(identity_set, dict):
        raise FieldError(path, f"expected an identity object, got {type(identity_set).__name__}")
    found = {}
    for kind, ident in identity_set.items():
        if _is_annotation(kind) or ident is None:
            continue
        if not isinstance(ident, dict):
            if kind == "endpointType":
                continue
            raise FieldError(_join(path, kind), f"expected an identity object, got {type(ident).__name__}")
        if to_string(ident.get("id"), _join(path, f"{kind}.id")):
            found[kind] = ident
    for kind in IDENTITY_PRIORITY:
        if kind in found:
            return kind, found[kind]
    for kind in sorted(found):  # a kind Graph added later: still a party, unless named like a kind
        if kind not in DERIVED_KINDS and ":" not in kind:  # callgraph derives (see DERIVED_KINDS)
            return kind, found[kind]
    return None


# The endpoint kinds callgraph makes itself, whose nodes no identity may name: a service endpoint
# is keyed by role and user agent (``service:<role>:<header>``), and an identity of kind
# "service" (or one with a colon in its kind) would otherwise reach that very node and rename it.
DERIVED_KINDS = frozenset({"service", "anonymous"})


def _identity_node(kind: str, ident: dict, path: str) -> tuple[str, dict] | None:
    ident_id = to_string(ident.get("id"), _join(path, "id"))
    if not ident_id or (kind == "phone" and "*" in ident_id):
        return None  # masked numbers name nobody: keep them per appearance
    props = {"kind": kind, "id": ident_id}
    for member in ("displayName", "tenantId", "userPrincipalName"):
        value = to_string(ident.get(member), _join(path, member))
        if value:
            props[member] = value
    return f"{kind}:{ident_id}", props


def _is_service(endpoint: dict) -> bool:
    odata_type = str(endpoint.get("@odata.type", "")).lower()
    if "serviceendpoint" in odata_type:
        return True
    if "participantendpoint" in odata_type:
        return False
    # @odata.type is sometimes missing: a service endpoint has a role and no identity.
    ua = endpoint.get("userAgent")
    return (isinstance(ua, dict) and "role" in ua
            and not any(k in endpoint for k in ("identity", "associatedIdentity", "feedback", "name")))


def endpoint_rows(endpoint: object, path: str, anonymous_key: str) -> tuple[str, dict, dict]:
    """(endpoint key, shared node props, per-appearance edge props) of one caller/callee."""
    if not isinstance(endpoint, dict):
        raise FieldError(path, f"expected an endpoint object, got {type(endpoint).__name__}")
    edge = convert(endpoint, APPEARANCE_PLAN, path, {})
    feedback = endpoint.get("feedback")
    if isinstance(feedback, dict) and feedback.get("tokens") is not None:
        tokens = feedback["tokens"]
        if not isinstance(tokens, dict):
            raise FieldError(f"{path}.feedback.tokens", f"expected an object of flags, got {type(tokens).__name__}")
        edge["feedbackTokens"] = sorted(name for name, flag in tokens.items() if flag is True)

    if _is_service(endpoint):
        edge["endpointType"] = "serviceEndpoint"
        role = edge.get("userAgentRole") or "unknown"
        header = edge.get("userAgentHeaderValue") or ""
        node = {"kind": "service", "role": role}
        if header:
            node["userAgent"] = header
        return f"service:{role}:{header}", node, edge

    edge["endpointType"] = "participantEndpoint"
    named = None
    associated = endpoint.get("associatedIdentity")
    if associated is not None:
        if not isinstance(associated, dict):
            raise FieldError(f"{path}.associatedIdentity", f"expected an identity object, got {type(associated).__name__}")
        kind = _identity_kind_from_type(str(associated.get("@odata.type", "")))
        named = _identity_node(kind, associated, f"{path}.associatedIdentity")
        edge["identity"] = canonical_json(associated)
    if named is None and endpoint.get("identity") is not None:
        primary = primary_identity(endpoint["identity"], f"{path}.identity")
        if primary:
            named = _identity_node(primary[0], primary[1], f"{path}.identity.{primary[0]}")
        edge["identity"] = canonical_json(endpoint["identity"])
    if named is None:
        return anonymous_key, {"kind": "anonymous"}, edge
    return named[0], named[1], edge


def participant_rows(participant: object, path: str, anonymous_key: str, legacy: bool) -> tuple[str, dict, dict]:
    """An organizer/participant (participants_v2 entity, or a legacy identity set)."""
    if not isinstance(participant, dict):
        raise FieldError(path, f"expected an object, got {type(participant).__name__}")
    identity = participant if legacy else participant.get("identity")
    edge: dict = {}
    if not legacy:
        pid = to_string(participant.get("id"), f"{path}.id")
        if pid:
            edge["participantId"] = pid
        units = _list(participant, "administrativeUnitInfos", path)
        ids = [to_string(u.get("id"), f"{path}.administrativeUnitInfos[{i}].id") if isinstance(u, dict) else None
               for i, u in enumerate(units)]
        if any(ids):
            edge["administrativeUnitIds"] = [i for i in ids if i]
        for member, value in participant.items():
            if member not in ("id", "identity", "administrativeUnitInfos") and not _is_annotation(member):
                store_raw(edge, member, value, _join(path, member), PARTICIPANT_NAMES)
    if identity is not None:
        edge["identity"] = canonical_json(identity)
    primary = primary_identity(identity, path if legacy else f"{path}.identity")
    named = _identity_node(primary[0], primary[1], path) if primary else None
    if named is None and edge.get("participantId"):
        pid = edge["participantId"]
        kind = "phone" if pid.startswith("+") else "user"
        if not (kind == "phone" and "*" in pid):
            named = (f"{kind}:{pid}", {"kind": kind, "id": pid})
    if named is None:
        return anonymous_key, {"kind": "anonymous"}, edge
    return named[0], named[1], edge


# --- streams ---------------------------------------------------------------------------------

# Which side of a media line sent a stream, by its streamDirection.
SENDER = {"callerToCallee": "caller", "calleeToCaller": "callee"}


# Each rule of the model's table in the shape the verdict function reads, made once.
VERDICT_PLANS = {rule.name: verdict_plan(rule) for rule in QUALITY_RULES}
SENT_COUNTS = ("callerRatedStreams", "callerPoorStreams", "calleeRatedStreams", "calleePoorStreams")


def judge_line(plan: dict, modality: str | None, streams: list[dict]) -> dict:
    """Judge a media line's streams (their stored properties) in place: ``modality``,
    ``quality`` and, when poor, ``poorReasons``. Returns the classified and poor streams each
    side sent (``callerRatedStreams``, ...): what the line, its segment ends, its session and
    its relay edges count. A stream of no known direction is nobody's to count. The one home
    of the rollups: the transform and ``callgraph classify`` both call it."""
    caller_rated = caller_poor = callee_rated = callee_poor = 0
    for stream in streams:
        quality, reasons = judge(plan, modality, stream)
        stream["quality"] = quality
        if modality is not None:
            stream["modality"] = modality
        if reasons is not None:
            stream["poorReasons"] = reasons
        if quality is not UNCLASSIFIED:
            sender = SENDER.get(stream.get("streamDirection"))
            if sender == "caller":
                caller_rated += 1
                caller_poor += quality is POOR
            elif sender == "callee":
                callee_rated += 1
                callee_poor += quality is POOR
    return {"callerRatedStreams": caller_rated, "callerPoorStreams": caller_poor,
            "calleeRatedStreams": callee_rated, "calleePoorStreams": callee_poor}


def relay_counts(media: dict, sent: dict) -> dict:
    """side -> (relay, rated, poor) of a media line's USED_RELAY edges: its counts, on the
    caller side's edge only when both sides went through the same relay (sums count each
    stream once)."""
    rated = sent["callerRatedStreams"] + sent["calleeRatedStreams"]
    poor = sent["callerPoorStreams"] + sent["calleePoorStreams"]
    out, counted = {}, set()
    for side in ("caller", "callee"):
        relay = media.get(f"{side}NetworkRelayIPAddress")
        if relay:
            first = relay not in counted
            counted.add(relay)
            out[side] = (relay, rated if first else 0, poor if first else 0)
    return out


def _trace_route(network: object, path: str, prefix: str, out: dict) -> None:
    if not isinstance(network, dict):
        return
    hops = _list(network, "traceRouteHops", path)
    if not hops:
        return
    columns = {p.name: [] for p in TRACE_ROUTE_HOP}
    for i, hop in enumerate(hops):
        hop_path = f"{path}.traceRouteHops[{i}]"
        if not isinstance(hop, dict):
            raise FieldError(hop_path, f"expected an object, got {type(hop).__name__}")
        for p in TRACE_ROUTE_HOP:
            try:
                value = CONVERTERS[p.kind](hop.get(p.source), f"{hop_path}.{p.source}")
            except DroppedValue:  # a negative round trip: no value, like a missing one
                value = None
            columns[p.name].append(value)
    for name, values in columns.items():
        # Lists in Neo4j cannot hold nulls; a missing value in one hop becomes -1 / "" so the
        # lists stay aligned.
        filler = "" if name == "ipAddress" else -1
        column = "traceRouteHopCount" if name == "hopCount" else "traceRouteHop" + name[:1].upper() + name[1:]
        out[flat_name(prefix, column)] = [
            filler if v is None else v for v in values]


# --- the record ------------------------------------------------------------------------------

# One plan per kind of object; the members named last are converted by the functions below.
def _names(*entities) -> frozenset:
    return frozenset(name for entity in entities for name in stored_names(entity))


_APPEARANCES = [r for r in RELS if r.type in ("CALLER", "CALLEE")]
PARTICIPANT_NAMES = _names(*(r for r in RELS if r.type in ("ORGANIZED_BY", "PARTICIPANT")))
CALL_RECORD_PLAN = make_plan(CALL_RECORD, handled=("sessions", "organizer", "organizer_v2", "participants",
                                                   "participants_v2"), reserved=_names(CALL_RECORD_NODE))
SESSION_PLAN = make_plan(SESSION_NODE.props, SESSION_NODE.groups, handled=("caller", "callee", "segments"),
                         reserved=_names(SESSION_NODE))
SEGMENT_PLAN = make_plan(SEGMENT_NODE.props, SEGMENT_NODE.groups, handled=("caller", "callee", "media"),
                         reserved=_names(SEGMENT_NODE))
MEDIA_PLAN = make_plan(MEDIA, MEDIA_NODE.groups, handled=("streams",), reserved=_names(MEDIA_NODE))
STREAM_PLAN = make_plan(MEDIA_STREAM, reserved=_names(STREAM_NODE))
APPEARANCE_PLAN = make_plan(ENDPOINT_APPEARANCE, APPEARANCE_GROUPS, handled=("identity", "associatedIdentity"),
                            reserved=_names(*_APPEARANCES))


def record_id_of(record: object) -> str | None:
    """The record's id if it has a usable one (used to name the record in errors: shortened
    when it is long, and a lone surrogate in it escaped, so that the error line can be shown)."""
    if isinstance(record, dict) and isinstance(record.get("id"), str) and record["id"].strip():
        rid = record["id"]
        rid = rid if len(rid) <= 200 else rid[:197] + "..."
        return printable(rid.encode("utf-8", "backslashreplace").decode("utf-8"))
    return None


def transform_record(record: object, tenant_id: str | None = None, source: str | None = None,
                     rule: str = DEFAULT_QUALITY_RULE, places: Lookup | None = None) -> RecordRows:
    """All node and relationship rows of one Graph callRecord; streams are judged by ``rule``
    (a name of :data:`loader.model.QUALITY_RULES`); with ``places`` (the admin's map), each
    client end of each media line is placed in its network (CALLER_AT, CALLEE_AT)."""
    if not isinstance(record, dict):
        raise RecordError(f"expected a callRecord object, got {type(record).__name__}")
    if record_id_of(record) is None:
        raise RecordError("record has no id" if record.get("id") is None else
                          f"id: expected a non-empty string, got {show(record.get('id'))}")
    try:
        return _transform(record, record["id"], tenant_id, source, VERDICT_PLANS[rule], places)
    except FieldError as exc:
        raise RecordError(str(exc)) from None


def _transform(record: dict, rid: str, tenant_id: str | None, source: str | None, plan: dict,
               places: Lookup | None = None) -> RecordRows:
    props = convert(record, CALL_RECORD_PLAN, "", {})
    rows = RecordRows(rid, props.get("version") or 0, props.get("lastModifiedDateTime"))
    start, end = props.get("startDateTime"), props.get("endDateTime")
    if start is not None and end is not None:
        if end >= start:  # Timestamps: fixed-width UTC, so the strings compare as the moments do
            props["durationMs"] = round((end.to_native() - start.to_native()).total_seconds() * 1000, 3)
        else:  # an end before the start: both kept as Graph sent them, no duration
            props.setdefault("dropped", []).append("durationMs")
    if "sessions@odata.nextLink" in record:
        props["sessionsIncomplete"] = True
    if "participants_v2@odata.nextLink" in record:
        props["participantsIncomplete"] = True
    if source:
        props["source"] = source

    tenants: Counter = Counter()  # tenant id -> weight; the organizer outweighs everyone else
    _parties(record, rid, rows, tenants)
    sessions = _list(record, "sessions", "")
    if record.get("sessions") is not None:
        rows.has_sessions = True
        props["sessionCount"] = len(sessions)
    if rows.has_participants:
        props["participantCount"] = len(rows.rels("CallRecord", "PARTICIPANT", "Endpoint"))
    for i, session in enumerate(sessions):
        _session(session, f"sessions[{i}]", f"{rid}:{i}", i, rid, rows, tenants, plan, places)
    props["tenantId"] = tenant_id or (tenants.most_common(1)[0][0] if tenants else None)
    if props["tenantId"] is None:
        del props["tenantId"]
    rows.node("CallRecord", rid, props)
    return rows


def _parties(record: dict, rid: str, rows: RecordRows, tenants: Counter) -> None:
    """Organizer and participants; the organizer's tenant is the record's first guess."""
    organizer, legacy = record.get("organizer_v2"), False
    if organizer is None:
        organizer, legacy = record.get("organizer"), True
    if organizer is not None:
        path = "organizer" if legacy else "organizer_v2"
        key, node, edge = participant_rows(organizer, path, f"anonymous:{rid}:organizer", legacy)
        # its own part: completing a stored record at the same version must not repeat it
        rows.node("Endpoint", key, node, merge=True, part="organizer")
        rows.rel("CallRecord", "ORGANIZED_BY", "Endpoint", rid, key, edge, part="organizer")
        if node.get("tenantId"):
            tenants[node["tenantId"]] += 1000
    seen = set()
    rows.has_participants = record.get("participants_v2") is not None or record.get("participants") is not None
    for member, legacy in (("participants_v2", False), ("participants", True)):
        for i, participant in enumerate(_list(record, member, "")):
            key, node, edge = participant_rows(participant, f"{member}[{i}]", f"anonymous:{rid}:{member}:{i}", legacy)
            if key in seen:
                continue  # the deprecated list repeats the v2 one
            seen.add(key)
            rows.node("Endpoint", key, node, merge=True, part="participants")
            rows.rel("CallRecord", "PARTICIPANT", "Endpoint", rid, key, edge, part="participants")
            if node.get("tenantId"):
                tenants[node["tenantId"]] += 1


def _ends(obj: dict, path: str, owner: str, owner_key: str, rows: RecordRows, tenants: Counter) -> dict:
    """Write the caller and callee endpoints and their edges; returns the edges' props by side."""
    edges = {}
    for side, rel_type in (("caller", "CALLER"), ("callee", "CALLEE")):
        endpoint = obj.get(side)
        if endpoint is None:
            continue
        key, node, edge = endpoint_rows(endpoint, f"{path}.{side}", f"anonymous:{owner_key}:{side}")
        rows.node("Endpoint", key, node, merge=True, part="sessions")
        rows.rel(owner, rel_type, "Endpoint", owner_key, key, edge, part="sessions")
        edges[side] = edge
        if node.get("tenantId") and node.get("kind") == "user":
            tenants[node["tenantId"]] += 1
    return edges


def _session(session: object, path: str, key: str, ordinal: int, rid: str, rows: RecordRows, tenants,
             plan: dict, places: Lookup | None) -> None:
    props = convert(session, SESSION_PLAN, path, {})
    segments = _list(session, "segments", path)
    props.update(key=key, callRecordId=rid, ordinal=ordinal, segmentCount=len(segments))
    rows.node("Session", key, props, part="sessions")
    rows.rel("CallRecord", "CONTAINS", "Session", rid, key, part="sessions")
    _ends(session, path, "Session", key, rows, tenants)
    rated = poor = 0
    for j, segment in enumerate(segments):
        counts = _segment(segment, f"{path}.segments[{j}]", f"{key}:{j}", j, rid, key, rows, tenants, plan,
                          props.get("modalities"), places)
        rated, poor = rated + counts[0], poor + counts[1]
    props.update(ratedStreams=rated, poorStreams=poor)


def _segment(segment: object, path: str, key: str, ordinal: int, rid: str, session_key: str, rows,
             tenants, plan: dict, modalities: list | None, places: Lookup | None) -> tuple[int, int]:
    """Write one segment's rows; returns its (rated, poor) audio stream counts."""
    props = convert(segment, SEGMENT_PLAN, path, {})
    props.update(key=key, callRecordId=rid, ordinal=ordinal)
    rows.node("Segment", key, props, part="sessions")
    rows.rel("Session", "CONTAINS", "Segment", session_key, key, part="sessions")
    edges = _ends(segment, path, "Segment", key, rows, tenants)
    sent = Counter()  # "callerRatedStreams", ... summed over the segment's audio media lines
    for k, media in enumerate(_list(segment, "media", path)):
        modality, counts = _media(media, f"{path}.media[{k}]", f"{key}:{k}", k, rid, key, rows, plan, modalities)
        media_key = f"{key}:{k}"
        line = rows.part_nodes("sessions")["Media"][media_key]
        # which ends are clients, by the segment's ends (see loader.places.lookup)
        line["callerClient"], line["calleeClient"] = client_end(edges.get("caller")), client_end(edges.get("callee"))
        if places is not None:
            for edge, network in placements(places, line).items():
                rows.rel("Media", edge, "Network", media_key, network, part="sessions")
        if modality == "audio":
            sent.update(counts)
    for side, edge in edges.items():
        edge["sentRatedStreams"], edge["sentPoorStreams"] = sent[f"{side}RatedStreams"], sent[f"{side}PoorStreams"]
    return sent["callerRatedStreams"] + sent["calleeRatedStreams"], sent["callerPoorStreams"] + sent["calleePoorStreams"]


def _media(media: object, path: str, key: str, ordinal: int, rid: str, segment_key: str,
           rows: RecordRows, plan: dict, modalities: list | None) -> tuple[str | None, dict]:
    """Write one media line's rows; returns its modality and the classified and poor streams
    each side sent (``callerRatedStreams``, ...), which the media line carries, and its relay
    edges, segment and session too (audio lines only for those two), so that the saved
    queries need not visit every stream."""
    props = convert(media, MEDIA_PLAN, path, {})
    for side in ("callerNetwork", "calleeNetwork"):
        _trace_route(media.get(side), f"{path}.{side}", side, props)
    props.update(key=key, callRecordId=rid, ordinal=ordinal)
    label = props.get("label")
    modality = modality_of(label, modalities)
    if modality is not None:
        props["modality"] = modality
    rows.node("Media", key, props, part="sessions")
    rows.rel("Segment", "CONTAINS", "Media", segment_key, key, part="sessions")
    streams = []
    for s, stream in enumerate(_list(media, "streams", path)):
        sprops = convert(stream, STREAM_PLAN, f"{path}.streams[{s}]", {})
        sprops.update(key=f"{key}:{s}", callRecordId=rid, ordinal=s)
        streams.append(sprops)
    sent = judge_line(plan, modality, streams)
    for sprops in streams:
        rows.node("Stream", sprops["key"], sprops, part="sessions")
        rows.rel("Media", "CONTAINS", "Stream", key, sprops["key"], part="sessions")
    props.update(sent)
    for side, (relay, rated, poor) in relay_counts(props, sent).items():
        rows.node("Relay", relay, {"ip": relay}, merge=True, part="sessions")
        edge = {"side": side, "mediaOrdinal": ordinal, "ratedStreams": rated, "poorStreams": poor}
        if label:
            edge["mediaLabel"] = label
        if modality is not None:
            edge["modality"] = modality
        if props.get(f"{side}NetworkRelayPort") is not None:
            edge["relayPort"] = props[f"{side}NetworkRelayPort"]
        rows.rel("Segment", "USED_RELAY", "Relay", segment_key, relay, edge, part="sessions")
    return modality, sent
