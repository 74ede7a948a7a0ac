"""The graph model: every label, key, property and relationship callgraph writes.

This module is the one home of the model. The transform converts Graph JSON by these
tables, the writer builds its Cypher and the schema (constraints, indexes) from them, and
``docs/graph-model.md`` is generated from them (``python -m loader.model``), so the three
cannot drift apart.

A call record becomes a tree owned by that record, plus links to nodes shared by all calls::

    (:CallRecord)-[:CONTAINS]->(:Session)-[:CONTAINS]->(:Segment)-[:CONTAINS]->(:Media)-[:CONTAINS]->(:Stream)
         |                        |  \\                     |  \\
         |                   [:CALLER] [:CALLEE]       [:CALLER] [:CALLEE]      (:Segment)-[:USED_RELAY]->(:Relay)
         |                        v      v                  v      v
         +-[:ORGANIZED_BY|PARTICIPANT]->(:Endpoint)  <- shared: one node per user, phone number,
         ^                                              application, guest or service
         |                                                  ^
    [:PART_OF {matchedBy}]                              [:FOR_USER]
         |                                                  |
    (:PstnCall|DirectRoutingCall) --------------------------+      (:DirectRoutingCall)-[:VIA_SBC]->(:Sbc)

    (:SyncState)  <- one per tenant: where `callgraph sync` continues
    (:Summaries), (:SummaryRow)  <- the saved aggregates' whole results, kept by `callgraph summarize`
    (:QualityRule)  <- the rule the streams' verdicts follow, set by `callgraph classify`

The admin's own map, from CQD's building data file (`callgraph buildings`), and where each
client end of each media line was (see Buildings and networks):

    (:Building)<-[:IN_BUILDING]-(:Network)<-[:CALLER_AT|CALLEE_AT]-(:Media)
    (:BuildingMap)  <- one node: the file in force, its version, whether every line is placed
    (:Device)  <- CQD's endpoint data file (`callgraph endpoints`): joined on the machine name
                  that Segment-[:CALLER|CALLEE]->Endpoint edges carry (`name`)

Owned nodes are replaced as a whole when a newer version of the record arrives; shared
nodes (Endpoint, Relay) are merged by key and never carry what varies per call: device,
user agent, network and feedback sit on the CALLER/CALLEE edges and on Media.

PSTN and Direct Routing log rows (getPstnCalls, getDirectRoutingCalls) are their own
nodes: their ids are not call record ids, so a row is linked to a record only where the
evidence allows, and the edge says how it was matched.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prop:
    """One documented member of a Graph object and how it is stored.

    ``kind`` names a converter in :mod:`loader.ingest.values`. Durations are stored in
    milliseconds under the member name plus ``Ms``.
    """

    source: str
    kind: str
    doc: str = ""

    @property
    def name(self) -> str:
        return self.source + "Ms" if self.kind == "duration" else self.source


@dataclass(frozen=True)
class Group:
    """A nested Graph object flattened onto its parent with a name prefix.

    ``failureInfo.stage`` on a session becomes the property ``failureStage``; the
    media's ``callerNetwork.relayIPAddress`` becomes ``callerNetworkRelayIPAddress``.
    """

    source: str
    prefix: str
    props: tuple
    doc: str = ""
    handled: tuple = ()  # members the transform converts by hand (see its comments)


def flat_name(prefix: str, name: str) -> str:
    return prefix + name[:1].upper() + name[1:] if prefix else name


# --- what the transform takes, and what it does with values that make no sense ---------------

MAX_DEPTH = 64  # levels of objects and lists in a record; Graph's deepest is about 10
MAX_MEMBERS = 1000  # members of one object; Graph's largest has about 60
# A Graph member named like a property the model gives that node or edge (a documented member's
# stored name, or what callgraph derives: poor, sessionCount, durationMs, ...) is stored under
# this prefix, so that no input can overwrite what callgraph derives.
GRAPH_PREFIX = "graph_"


# --- Graph types (reference: graph-callrecords-api.md, section 5) -------------------------

FAILURE_INFO = (
    Prop("stage", "enum", "failureStage: unknown, callSetup, midcall, ..."),
    Prop("reason", "string", "why it failed, as Graph words it"),
)

NETWORK_INFO = (
    Prop("ipAddress", "string", "the endpoint's (usually private) media IP"),
    Prop("port", "int"),
    Prop("subnet", "string"),
    Prop("reflexiveIPAddress", "string", "the endpoint as seen by the relay: its public NAT address"),
    Prop("relayIPAddress", "string", "media relay (TURN) used; also a :Relay node"),
    Prop("relayPort", "int"),
    Prop("connectionType", "enum", "wired, wifi, mobile, tunnel, ..."),
    Prop("networkTransportProtocol", "enum", "udp, tcp"),
    Prop("linkSpeed", "int", "bit/s"),
    Prop("macAddress", "string"),
    Prop("dnsSuffix", "string"),
    Prop("basicServiceSetIdentifier", "string", "Wi-Fi BSSID"),
    Prop("wifiBand", "enum"),
    Prop("wifiChannel", "int"),
    Prop("wifiRadioType", "enum"),
    Prop("wifiSignalStrength", "int", "percent"),
    Prop("wifiBatteryCharge", "int", "percent"),
    Prop("wifiMicrosoftDriver", "string"),
    Prop("wifiMicrosoftDriverVersion", "string"),
    Prop("wifiVendorDriver", "string"),
    Prop("wifiVendorDriverVersion", "string"),
    Prop("sentQualityEventRatio", "float"),
    Prop("receivedQualityEventRatio", "float"),
    Prop("delayEventRatio", "float"),
    Prop("bandwidthLowEventRatio", "float"),
)

# traceRouteHops is a list of objects, which a Neo4j property cannot hold: it is stored as
# three parallel lists, one entry per hop in the order received.
TRACE_ROUTE_HOP = (
    Prop("hopCount", "int"),
    Prop("ipAddress", "string"),
    Prop("roundTripTime", "duration"),
)

DEVICE_INFO = (
    Prop("captureDeviceName", "string"),
    Prop("captureDeviceDriver", "string"),
    Prop("renderDeviceName", "string"),
    Prop("renderDeviceDriver", "string"),
    Prop("receivedSignalLevel", "int"),
    Prop("receivedNoiseLevel", "int"),
    Prop("sentSignalLevel", "int"),
    Prop("sentNoiseLevel", "int"),
    Prop("howlingEventCount", "int"),
    Prop("initialSignalLevelRootMeanSquare", "float"),
    Prop("micGlitchRate", "float", "per 5 minutes"),
    Prop("speakerGlitchRate", "float", "per 5 minutes"),
    Prop("captureNotFunctioningEventRatio", "float"),
    Prop("renderNotFunctioningEventRatio", "float"),
    Prop("cpuInsufficentEventRatio", "float", "(sic, Graph's spelling)"),
    Prop("deviceClippingEventRatio", "float"),
    Prop("deviceGlitchEventRatio", "float"),
    Prop("lowSpeechLevelEventRatio", "float"),
    Prop("lowSpeechToNoiseEventRatio", "float"),
    Prop("renderMuteEventRatio", "float"),
    Prop("renderZeroVolumeEventRatio", "float"),
)

MEDIA_STREAM = (
    Prop("streamId", "string"),
    Prop("streamDirection", "enum", "callerToCallee or calleeToCaller"),
    Prop("startDateTime", "datetime"),
    Prop("endDateTime", "datetime"),
    Prop("audioCodec", "enum"),
    Prop("videoCodec", "enum"),
    Prop("averageJitter", "duration"),
    Prop("maxJitter", "duration"),
    Prop("averageAudioNetworkJitter", "duration"),
    Prop("maxAudioNetworkJitter", "duration"),
    Prop("averageRoundTripTime", "duration"),
    Prop("maxRoundTripTime", "duration"),
    Prop("averagePacketLossRate", "float"),
    Prop("maxPacketLossRate", "float"),
    Prop("averageRatioOfConcealedSamples", "float"),
    Prop("maxRatioOfConcealedSamples", "float"),
    Prop("averageAudioDegradation", "float", "network MOS degradation"),
    Prop("averageBandwidthEstimate", "int", "bit/s"),
    Prop("packetUtilization", "int", "packets"),
    Prop("wasMediaBypassed", "bool"),
    Prop("isAudioForwardErrorCorrectionUsed", "bool"),
    Prop("averageVideoFrameRate", "float"),
    Prop("averageReceivedFrameRate", "float"),
    Prop("averageVideoFrameLossPercentage", "float"),
    Prop("averageVideoPacketLossRate", "float"),
    Prop("lowFrameRateRatio", "float"),
    Prop("lowVideoProcessingCapabilityRatio", "float"),
    Prop("postForwardErrorCorrectionPacketLossRate", "float"),
    Prop("averageFreezeDuration", "duration"),
    Prop("rmsFreezeDuration", "duration"),
)

USER_AGENT = (
    Prop("headerValue", "string", "raw user-agent header"),
    Prop("applicationVersion", "string"),
    Prop("platform", "enum", "client: windows, macOS, iOS, android, web, ..."),
    Prop("productFamily", "enum", "client: teams, skypeForBusiness, lync, azureCommunicationServices, ..."),
    Prop("azureADAppId", "string", "client"),
    Prop("communicationServiceId", "string", "client (ACS)"),
    Prop("role", "enum", "service: gateway, mediationServer, skypeForBusinessCallQueues, ..."),
)

USER_FEEDBACK = (
    Prop("rating", "enum", "notRated, bad, poor, fair, good, excellent, ..."),
    Prop("text", "string"),
)

CALL_RECORD = (
    Prop("id", "string", "Graph's record id (the key)"),
    Prop("version", "int", "rises each time Graph re-issues the record with more data"),
    Prop("type", "enum", "groupCall, peerToPeer, unknown, ..."),
    Prop("modalities", "enum[]", "audio, video, screenSharing, ..."),
    Prop("startDateTime", "datetime"),
    Prop("endDateTime", "datetime"),
    Prop("lastModifiedDateTime", "datetime"),
    Prop("joinWebUrl", "string"),
)

SESSION = (
    Prop("id", "string", "Graph's session id: NOT unique inside a record"),
    Prop("startDateTime", "datetime"),
    Prop("endDateTime", "datetime"),
    Prop("modalities", "enum[]"),
    Prop("isTest", "bool"),
)

SEGMENT = (
    Prop("id", "string", "Graph's segment id: NOT unique inside a record"),
    Prop("startDateTime", "datetime"),
    Prop("endDateTime", "datetime"),
)

MEDIA = (Prop("label", "string", "as negotiated, e.g. main-audio, main-video, applicationsharing-video"),)

ENDPOINT_APPEARANCE = (
    Prop("name", "string", "device or machine name"),
    Prop("cpuName", "string"),
    Prop("cpuCoresCount", "int"),
    Prop("cpuProcessorSpeedInMhz", "int"),
)

# PSTN and Direct Routing log rows (reference sections 5.14, 5.15). Beta-only members and
# members Graph adds later are kept under their own names like any unknown member.
LOG_ROW_USER = (
    Prop("userId", "string", "Entra object id of the Teams user (or bot/resource account)"),
    Prop("userPrincipalName", "string"),
    Prop("userDisplayName", "string"),
)

PSTN_CALL_ROW = (
    Prop("id", "string", "row id (the key): NOT a call record id"),
    Prop("callId", "string", "call identifier, not guaranteed unique"),
    *LOG_ROW_USER,
    Prop("startDateTime", "datetime"),
    Prop("endDateTime", "datetime"),
    Prop("duration", "int", "connected seconds"),
    Prop("callType", "string", "user_in, user_out, ucap_in, conference types, ..."),
    Prop("callerNumber", "string"),
    Prop("calleeNumber", "string"),
    Prop("charge", "float"),
    Prop("connectionCharge", "float"),
    Prop("currency", "string", "ISO 4217"),
    Prop("destinationContext", "string", "Domestic or International"),
    Prop("destinationName", "string"),
    Prop("usageCountryCode", "string"),
    Prop("tenantCountryCode", "string"),
    Prop("conferenceId", "string"),
    Prop("licenseCapability", "string"),
    Prop("inventoryType", "string"),
    Prop("operator", "string", "Microsoft or the Operator Connect carrier"),
    Prop("callDurationSource", "enum", "microsoft or operator"),
)

DIRECT_ROUTING_ROW = (
    Prop("id", "string", "row id (the key): NOT a call record id"),
    Prop("correlationId", "string", "GUID to quote to Microsoft support"),
    *LOG_ROW_USER,
    Prop("startDateTime", "datetime"),
    Prop("inviteDateTime", "datetime"),
    Prop("failureDateTime", "datetime", "failed calls only"),
    Prop("endDateTime", "datetime", "established calls only"),
    Prop("duration", "int", "seconds"),
    Prop("callType", "string", "ByotIn, ByotOut, ..."),
    Prop("successfulCall", "bool"),
    Prop("callerNumber", "string", "as the SBC sent it: may be masked or not E.164"),
    Prop("calleeNumber", "string", "as the SBC sent it: may be masked or not E.164"),
    Prop("mediaPathLocation", "string", "Microsoft datacenter code"),
    Prop("signalingLocation", "string", "Microsoft datacenter code"),
    Prop("finalSipCode", "int"),
    Prop("callEndSubReason", "int"),
    Prop("finalSipCodePhrase", "string"),
    Prop("trunkFullyQualifiedDomainName", "string", "the SBC; also an :Sbc node"),
    Prop("mediaBypassEnabled", "bool"),
)

# --- Nodes and relationships -------------------------------------------------------------

DROPPED_DOC = ("the values Graph sent that make no sense and were left out, by stored name: a negative "
               "duration (`-PT5S`); absent when there were none")


@dataclass(frozen=True)
class NodeType:
    label: str
    key: str
    owned: bool  # part of one record's subtree (replaced with it) rather than shared by calls
    doc: str
    props: tuple = ()
    groups: tuple = ()
    derived: tuple = ()  # (name, description) of properties callgraph adds
    indexes: tuple = ()  # properties the saved queries start from, a tuple of them for a composite index
    # (each index slows every write)
    by_file: bool = False  # written from the admin's own files (buildings, endpoints), never by a load

    def index_columns(self) -> list[tuple]:
        """Each index as the tuple of its properties (one for a single-property index)."""
        return [entry if isinstance(entry, tuple) else (entry,) for entry in self.indexes]


@dataclass(frozen=True)
class RelType:
    type: str
    start: str
    end: str
    doc: str
    props: tuple = ()
    groups: tuple = ()
    derived: tuple = ()


CALL_RECORD_NODE = NodeType(
    "CallRecord", "id", True,
    "One call or meeting, as Graph's callRecord.",
    props=CALL_RECORD,
    derived=(
        ("tenantId", "tenant the record came from: `--tenant-id`, else the organizer's, else the participants' user tenant"),
        ("durationMs", "endDateTime - startDateTime"),
        ("sessionsIncomplete", "true when Graph said more sessions exist (sessions@odata.nextLink) and the input did not include them"),
        ("participantsIncomplete", "the same for participants_v2@odata.nextLink"),
        ("sessionCount", "number of sessions loaded; absent when the input carried no sessions (a list page)"),
        ("participantCount", "number of distinct participants loaded; absent when the input carried none"),
        ("source", "file the record was loaded from"),
        ("dropped", DROPPED_DOC + "; `durationMs` when the end is before the start"),
        ("writeInProgress", "set while a big record's sessions are written in several transactions (see "
                            "\"What the database can hold\"); absent once they are all in. A record that keeps it "
                            "was interrupted: the next load of it writes it again"),
    ),
    indexes=("tenantId", "startDateTime"),
)
SESSION_NODE = NodeType(
    "Session", "key", True,
    "One participant's leg of the call (peer-to-peer: the whole call).",
    props=SESSION,
    groups=(Group("failureInfo", "failure", FAILURE_INFO),),
    derived=(
        ("key", "`<callRecordId>:<session ordinal>`"),
        ("callRecordId", "the owning record"),
        ("ordinal", "position in the record, from 0"),
        ("segmentCount", "number of segments"),
        ("ratedStreams", "classified (good or poor) audio streams of the session with a known direction, "
                         "summed from its audio Media"),
        ("poorStreams", "those of them that are poor; 0 when none is"),
        ("dropped", DROPPED_DOC),
    ),
)
SEGMENT_NODE = NodeType(
    "Segment", "key", True,
    "One media link between two endpoints; PSTN sessions chain several.",
    props=SEGMENT,
    groups=(Group("failureInfo", "failure", FAILURE_INFO),),
    derived=(
        ("key", "`<callRecordId>:<session>:<segment>`"),
        ("callRecordId", "the owning record"),
        ("ordinal", "position in the session, from 0"),
        ("dropped", DROPPED_DOC),
    ),
)
MEDIA_NODE = NodeType(
    "Media", "key", True,
    "One media line of a segment (audio, video, sharing), with both sides' network and device.",
    props=MEDIA,
    groups=(
        Group("callerNetwork", "callerNetwork", NETWORK_INFO, "the caller side's networkInfo", ("traceRouteHops",)),
        Group("calleeNetwork", "calleeNetwork", NETWORK_INFO, "the callee side's networkInfo", ("traceRouteHops",)),
        Group("callerDevice", "callerDevice", DEVICE_INFO, "the caller side's deviceInfo"),
        Group("calleeDevice", "calleeDevice", DEVICE_INFO, "the callee side's deviceInfo"),
    ),
    derived=(
        ("key", "`<segment key>:<media ordinal>`"),
        ("callRecordId", "the owning record"),
        ("ordinal", "position in the segment, from 0"),
        ("callerNetworkTraceRouteHopCount, callerNetworkTraceRouteHopIpAddress, "
         "callerNetworkTraceRouteHopRoundTripTimeMs", "callerNetwork.traceRouteHops as parallel lists"),
        ("calleeNetworkTraceRouteHopCount, calleeNetworkTraceRouteHopIpAddress, "
         "calleeNetworkTraceRouteHopRoundTripTimeMs", "the same for calleeNetwork"),
        ("modality", "audio, video, vbss, appSharing or data: from the label, else the session's one modality "
                     "(see Stream verdicts); absent when neither tells"),
        ("callerRatedStreams", "classified (good or poor) streams the caller side sent (`callerToCallee`) on this "
                               "line, of its modality"),
        ("callerPoorStreams", "those of them that are poor"),
        ("calleeRatedStreams", "the same for the callee side (`calleeToCaller`)"),
        ("calleePoorStreams", "those of them that are poor"),
        ("callerClient", "true when the caller end is a client (see Buildings and networks): only a client end is "
                         "placed in a building, counted in `missing-subnets` and `reliability`"),
        ("calleeClient", "the same for the callee end"),
        ("dropped", DROPPED_DOC),
    ),
)
STREAM_NODE = NodeType(
    "Stream", "key", True,
    "One direction of one media line, with its quality metrics.",
    props=MEDIA_STREAM,
    derived=(
        ("key", "`<media key>:<stream ordinal>`"),
        ("callRecordId", "the owning record"),
        ("ordinal", "position in the media, from 0"),
        ("modality", "its media line's modality (absent when unknown)"),
        ("quality", "`good`, `poor` or `unclassified`, by the rule in force (see Stream verdicts below)"),
        ("poorReasons", "poor streams only: the Graph members that crossed their threshold, in the rule's order, "
                        "e.g. `['averagePacketLossRate', 'averageJitter']`"),
        ("dropped", DROPPED_DOC),
    ),
)
ENDPOINT_NODE = NodeType(
    "Endpoint", "key", False,
    "A party: the same node across calls for the same user, phone number, application, "
    "resource account, guest, or service (by role and user agent).",
    derived=(
        ("key", "`<kind>:<id>`, e.g. `user:<Entra object id>`, `phone:+15550100`, "
                "`service:<role>:<user agent>`; an endpoint without identity gets a per-appearance key "
                "`anonymous:<segment or session key>:<caller|callee>`"),
        ("kind", "user, phone, application, applicationInstance, guest, acsUser, ..., service, anonymous"),
        ("id", "the identity's id"),
        ("displayName", "as last loaded"),
        ("tenantId", "the identity's tenant, when Graph gives one"),
        ("userPrincipalName", "when Graph gives one"),
        ("role", "service endpoints: serviceUserAgent.role"),
        ("userAgent", "service endpoints: the user-agent header that identifies them"),
    ),
    indexes=("kind", "id", "displayName", "userPrincipalName", "role"),
)
RELAY_NODE = NodeType(
    "Relay", "ip", False,
    "A media relay (TURN server) by IP address.",
    derived=(("ip", "relayIPAddress"),),
)

PSTN_CALL_NODE = NodeType(
    "PstnCall", "id", False,
    "One row of getPstnCalls (Calling Plan, Operator Connect): a PSTN leg of a user's call.",
    props=PSTN_CALL_ROW,
    derived=(("source", "where the row came from: `graph:getPstnCalls`"),),
    indexes=("startDateTime", "userId"),
)
DIRECT_ROUTING_CALL_NODE = NodeType(
    "DirectRoutingCall", "id", False,
    "One row of getDirectRoutingCalls: a call through the tenant's own SBC.",
    props=DIRECT_ROUTING_ROW,
    derived=(("source", "where the row came from: `graph:getDirectRoutingCalls`"),),
    indexes=("startDateTime", "userId"),
)
SBC_NODE = NodeType(
    "Sbc", "fqdn", False,
    "A Direct Routing session border controller, by its trunk FQDN.",
    derived=(("fqdn", "trunkFullyQualifiedDomainName"),),
)
SYNC_STATE_NODE = NodeType(
    "SyncState", "tenantId", False,
    "Where `callgraph sync` continues for one tenant.",
    derived=(
        ("tenantId", "the tenant synced (the key)"),
        ("watermark", "records that started before this were listed completely; the next sync re-scans "
                      "from here minus the overlap"),
        ("pendingIds", "records that answered 404 or failed; the next sync asks for them again"),
        ("pendingSince", "when each pending id was first seen missing (parallel list)"),
        ("lastSyncAt", "when the last sync ended"),
        ("lastSince, lastUntil", "the window the last sync covered"),
    ),
)

SUMMARIES_NODE = NodeType(
    "Summaries", "id", False,
    "Whether the SummaryRow nodes still describe the calls (see `callgraph summarize`).",
    derived=(
        ("id", "always `all`: there is one such node, made by the first `callgraph summarize`"),
        ("dataVersion", "raised by every load that writes call records, when it starts writing and when it ends"),
        ("builtFor", "the dataVersion the summary rows were built for; the saved queries read them while the "
                     "two are equal (absent while a build runs)"),
        ("builtAt", "when the last build ended"),
        ("callRecords", "how many call records the last build read"),
    ),
)
QUALITY_RULE_NODE = NodeType(
    "QualityRule", "id", False,
    "The rule the streams' verdicts follow (see Stream verdicts); absent until the first `callgraph classify`, "
    "which means `cqd`.",
    derived=(
        ("id", "always `all`: one such node"),
        ("name", "the rule: `cqd` or `cqd-legacy`; loads and syncs judge new records by it"),
        ("complete", "false while a `callgraph classify` re-judges the streams, true when every stream follows "
                     "`name`"),
        ("classifiedAt", "when the last classify ended"),
        ("streams", "how many streams it judged"),
    ),
)
SUMMARY_ROW_NODE = NodeType(
    "SummaryRow", "key", False,
    "One row of a summarized saved query's whole result: every row it returns without a window, in its order, "
    "with the parameters that keep every row (the query's `summary:` header line).",
    derived=(
        ("key", "query and rank, as `who-calls-whom:1`"),
        ("query", "the saved query's name"),
        ("rank", "the row's position in the query's whole result, from 1"),
        ("(columns)", "the query's result columns under their own names; a null is left out"),
    ),
    indexes=(("query", "rank"),),
)

# --- The admin's own map: CQD's building data file and endpoint data file --------------------
#
# Column order of CQD's building data file (no header; the 15th column is optional), and the
# property each becomes: (column, node, property, kind). Kinds: string, address, prefix, bool.
BUILDING_FILE_COLUMNS = (
    ("NetworkIP", "Network", "address", "address"),
    ("NetworkName", "Network", "name", "string"),
    ("NetworkRange", "Network", "prefixLength", "prefix"),
    ("BuildingName", "Building", "name", "string"),
    ("OwnershipType", "Building", "ownershipType", "string"),
    ("BuildingType", "Building", "buildingType", "string"),
    ("BuildingOfficeType", "Building", "officeType", "string"),
    ("City", "Building", "city", "string"),
    ("ZipCode", "Building", "zipCode", "string"),
    ("Country", "Building", "country", "string"),
    ("State", "Building", "state", "string"),
    ("Region", "Building", "region", "string"),
    ("InsideCorp", "Network", "insideCorp", "bool"),
    ("ExpressRoute", "Network", "expressRoute", "bool"),
    ("VPN", "Network", "vpn", "bool"),
)
# CQD's endpoint data file: six strings, no header -> (:Device) properties.
ENDPOINT_FILE_COLUMNS = (("EndpointName", "name"), ("EndpointModel", "model"), ("EndpointType", "type"),
                         ("EndpointLabel1", "label1"), ("EndpointLabel2", "label2"), ("EndpointLabel3", "label3"))
# What CQD takes in one upload, and so do we.
PLACE_FILE_MAX_BYTES = 50 * 1024 * 1024
PLACE_FILE_MAX_ROWS = 1_000_000

BUILDING_NODE = NodeType(
    "Building", "name", False,
    "A building of the admin's map (CQD's building data file, `callgraph buildings`): the file's BuildingName and "
    "the details of the first row that names it.",
    derived=tuple((prop, f"`{column}`") for column, node, prop, _ in BUILDING_FILE_COLUMNS if node == "Building"),
    by_file=True,
)
NETWORK_NODE = NodeType(
    "Network", "key", False,
    "One row of the building data file: a network range (a subnet or a supernet) in a building. Ranges never "
    "overlap (a file with overlapping rows is refused), so an address lies in one Network at most.",
    derived=(
        ("key", "`<NetworkIP>/<NetworkRange>` normalised: `10.51.4.0/24`, IPv6 compressed (`2001:db8::/48`)"),
        ("address", "`NetworkIP`: the range's network address, normalised"),
        ("prefixLength", "`NetworkRange` (int): the prefix length"),
        ("name", "`NetworkName`"),
        ("insideCorp", "`InsideCorp` (bool): on the corporate network"),
        ("expressRoute", "`ExpressRoute` (bool)"),
        ("vpn", "`VPN` (bool; false when the file has 14 columns): placed by each end's own `ipAddress`, since VPN "
                "clients report unreliable subnets"),
        ("line", "the line of the file the row was on"),
    ),
    by_file=True,
)
BUILDING_MAP_NODE = NodeType(
    "BuildingMap", "id", False,
    "The building data file in force; absent until the first `callgraph buildings`.",
    derived=(
        ("id", "always `all`: one such node"),
        ("file", "the file's name as given"),
        ("loadedAt", "when it was loaded"),
        ("networks", "rows (Network nodes)"),
        ("buildings", "Building nodes"),
        ("version", "raised by each file loaded"),
        ("complete", "false while the media lines already loaded are placed again; true when every client end "
                     "follows this map"),
        ("placedEnds", "client ends placed in a Network by the last re-placement (with the loads since, more)"),
    ),
    by_file=True,
)
DEVICE_NODE = NodeType(
    "Device", "name", False,
    "A machine of CQD's endpoint data file (`callgraph endpoints`), joined at query time on the machine name of "
    "a segment end: `(:Segment)-[e:CALLER|CALLEE]->() MATCH (d:Device {name: e.name})`.",
    derived=tuple((prop, f"`{column}`") for column, prop in ENDPOINT_FILE_COLUMNS),
    by_file=True,
)

# Where a client end is placed (docs/graph-model.md; loader.places.lookup implements it).
PLACEMENT_RULES = (
    "**Client ends only**: a media line's caller or callee end is placed when the segment's end on that side"
    " is a client: not a service endpoint (`endpointType` on `(:Segment)-[:CALLER|CALLEE]->()` is not"
    " `serviceEndpoint`) and without a service's user agent (no `userAgentRole`: an auto attendant's or call"
    " queue's resource account, a bot). For a server-client stream only the client end counts, as in CQD."
    " A conference server, gateway, voicemail or resource account is never placed. The media line keeps the"
    " answer (`callerClient`, `calleeClient`), which the saved queries read.",
    "**By subnet**: the end's `subnet` (`callerNetworkSubnet`, Graph's `networkInfo.subnet`) is looked up in"
    " the ranges of the rows without VPN; the row whose range contains it wins (a supernet `10.60.0.0/16`"
    " holds `10.60.7.0`). Ranges never overlap, so at most one row matches. IPv4 and IPv6 alike.",
    "**VPN rows by address**: a `VPN=1` row holds the ends whose own `ipAddress` (`callerNetworkIpAddress`)"
    " lies in its range, whatever their subnet says (VPN clients report unreliable subnets); that comes"
    " first, and a subnet alone never places an end in a VPN row.",
    "**Unplaced**: an end whose subnet no row contains (or that reports none) has no `CALLER_AT`/`CALLEE_AT`"
    " edge: the subnets the admin must add to the file.",
    "**Always the map in force**: a load places the records it writes by the map it read when it began;"
    " `callgraph buildings` places every media line already loaded again, in batches (`BuildingMap.complete`"
    " is false meanwhile), so loading calls before or after the file gives the same graph.",
)


@dataclass(frozen=True)
class LogRowKind:
    """One of Graph's call logs: the function that lists its rows, and the node a row becomes."""

    node: NodeType
    function: str  # the callRecords function that lists the rows, e.g. getPstnCalls
    odata_type: str  # the rows' type in microsoft.graph.callRecords, as their @odata.type names it

    @property
    def label(self) -> str:
        return self.node.label

    @property
    def source(self) -> str:
        """The row's ``source`` property: where it came from."""
        return f"graph:{self.function}"


LOG_ROW_KINDS = (
    LogRowKind(PSTN_CALL_NODE, "getPstnCalls", "pstnCallLogRow"),
    LogRowKind(DIRECT_ROUTING_CALL_NODE, "getDirectRoutingCalls", "directRoutingLogRow"),
)
LOG_ROW_KIND_BY_LABEL = {kind.label: kind for kind in LOG_ROW_KINDS}

NODES = (CALL_RECORD_NODE, SESSION_NODE, SEGMENT_NODE, MEDIA_NODE, STREAM_NODE, ENDPOINT_NODE, RELAY_NODE,
         PSTN_CALL_NODE, DIRECT_ROUTING_CALL_NODE, SBC_NODE, SYNC_STATE_NODE, SUMMARIES_NODE, SUMMARY_ROW_NODE,
         QUALITY_RULE_NODE, BUILDING_NODE, NETWORK_NODE, BUILDING_MAP_NODE, DEVICE_NODE)
NODE_BY_LABEL = {n.label: n for n in NODES}

APPEARANCE_GROUPS = (
    Group("userAgent", "userAgent", USER_AGENT, "this appearance's user agent"),
    Group("feedback", "feedback", USER_FEEDBACK, "this participant's rating of the call", ("tokens",)),
)
APPEARANCE_DERIVED = (
    ("feedbackTokens", "the feedback tokens set to true, e.g. ['Echo', 'Noisy']"),
    ("dropped", "(see Session)"),
    ("identity", "the identity as Graph sent it on this appearance, as JSON"),
    ("endpointType", "participantEndpoint or serviceEndpoint"),
)

# A segment's end sent audio: its counts, so that per-client queries need not visit every stream.
SEGMENT_END_DERIVED = APPEARANCE_DERIVED + (
    ("sentRatedStreams", "classified (good or poor) audio streams this end sent in the segment (the counts of "
                         "its side on the audio Media, summed)"),
    ("sentPoorStreams", "those of them that are poor"),
)

PART_OF_DERIVED = (
    ("matchedBy", "`id`: the row's id, callId or correlationId is the record's id; `userTimeWindow`: the "
                  "row's user took part in exactly one record whose time span holds the row's start "
                  "(within the tolerance)"),
    ("toleranceSeconds", "userTimeWindow only: the slack allowed around the record's start and end"),
    ("startOffsetSeconds", "userTimeWindow only: row start minus record start"),
)
# How far a log row's start may lie outside a record's [start, end] and still match it.
PART_OF_TOLERANCE_SECONDS = 60

# What the database can hold. Neo4j stores integers in 64 bits, and an index entry (every key,
# and every property in a node's ``indexes``) takes a string of at most about 8 KB ("Property
# value is too large to index"). The writer checks each record against both before writing it:
# a record with a value outside them is rejected by id, naming the property; the other records
# load. Free text that is not indexed (a feedback text, a user-agent header, a member Graph adds
# later) may be of any length.
INT64_RANGE = (-2**63, 2**63 - 1)
INDEXED_STRING_MAX_BYTES = 8000  # UTF-8; Neo4j 5's range index refuses from about 8,160
# A record's tree is written in one transaction up to this many nodes and relationships. A bigger
# one (a long meeting: thousands of sessions) is written in several, its sessions in chunks of about
# this size, all of one version, the record marked ``writeInProgress`` until the last one commits; so
# a meeting of any size fits a server's per-transaction memory limit (db.memory.transaction.max).
CHUNK_ELEMENTS = 10_000


def indexed_names(node: NodeType) -> frozenset:
    """The properties of ``node`` that an index or a key constraint holds."""
    return frozenset({node.key, *(p for props in node.index_columns() for p in props)})

RELS = (
    RelType("CONTAINS", "CallRecord", "Session", "record to its sessions"),
    RelType("CONTAINS", "Session", "Segment", "session to its segments"),
    RelType("CONTAINS", "Segment", "Media", "segment to its media"),
    RelType("CONTAINS", "Media", "Stream", "media to its streams"),
    RelType("CALLER", "Session", "Endpoint", "who initiated the session; carries this appearance's details",
            ENDPOINT_APPEARANCE, APPEARANCE_GROUPS, APPEARANCE_DERIVED),
    RelType("CALLEE", "Session", "Endpoint", "who answered the session; carries this appearance's details",
            ENDPOINT_APPEARANCE, APPEARANCE_GROUPS, APPEARANCE_DERIVED),
    RelType("CALLER", "Segment", "Endpoint", "the caller end of this media link",
            ENDPOINT_APPEARANCE, APPEARANCE_GROUPS, SEGMENT_END_DERIVED),
    RelType("CALLEE", "Segment", "Endpoint", "the callee end of this media link",
            ENDPOINT_APPEARANCE, APPEARANCE_GROUPS, SEGMENT_END_DERIVED),
    RelType("ORGANIZED_BY", "CallRecord", "Endpoint", "organizer_v2 (or the deprecated organizer)",
            derived=(("participantId", "organizer_v2.id"), ("administrativeUnitIds", "list"),
                     ("identity", "the identity as Graph sent it, as JSON"))),
    RelType("PARTICIPANT", "CallRecord", "Endpoint", "participants_v2 (or the deprecated participants)",
            derived=(("participantId", "participants_v2[].id"), ("administrativeUnitIds", "list"),
                     ("identity", "the identity as Graph sent it, as JSON"))),
    RelType("USED_RELAY", "Segment", "Relay", "a media line of the segment went through this relay",
            derived=(("side", "caller or callee"), ("mediaLabel", "media label"),
                     ("mediaOrdinal", "which media of the segment"), ("relayPort", "allocated port"),
                     ("modality", "the media line's modality"),
                     ("ratedStreams", "classified (good or poor) streams of that media line; 0 on the callee "
                                      "side's edge when the caller side used the same relay, so that sums "
                                      "count each stream once"),
                     ("poorStreams", "those of them that are poor (0 on that edge likewise)"))),
    RelType("FOR_USER", "PstnCall", "Endpoint", "the Teams user of the row (`user:<userId>`)"),
    RelType("FOR_USER", "DirectRoutingCall", "Endpoint", "the Teams user of the row (`user:<userId>`)"),
    RelType("VIA_SBC", "DirectRoutingCall", "Sbc", "the trunk the call went through"),
    RelType("PART_OF", "PstnCall", "CallRecord", "the call record this row belongs to, where the evidence allows",
            derived=PART_OF_DERIVED),
    RelType("PART_OF", "DirectRoutingCall", "CallRecord", "the same for a Direct Routing row",
            derived=PART_OF_DERIVED),
    RelType("IN_BUILDING", "Network", "Building", "the row's BuildingName"),
    RelType("CALLER_AT", "Media", "Network", "the caller end of this media line was in this network (client ends "
                                           "only; see Buildings and networks)"),
    RelType("CALLEE_AT", "Media", "Network", "the same for the callee end"),
)

# --- Stream verdicts: the Call Quality Dashboard's classification ---------------------------
#
# Every stream gets a quality: good, poor or unclassified, and a poor one the Graph members
# that crossed their threshold (poorReasons), by the rule in force (QualityRule node; `cqd`
# unless `callgraph classify --rule NAME` chose another). The rules are this one table: the
# transform, `callgraph classify` and docs/graph-model.md read it, and nothing else holds a
# threshold.

GOOD, POOR, UNCLASSIFIED = "good", "poor", "unclassified"
MODALITIES = ("audio", "video", "vbss", "appSharing", "data")


@dataclass(frozen=True)
class Threshold:
    """One metric of a rule: poor when the stream's value is above ``limit`` (``below=False``)
    or below it; ``cqd`` is the Call Quality Dashboard text it comes from."""

    member: str  # the Graph member of mediaStream, as poorReasons names it
    limit: float
    cqd: str
    below: bool = False

    @property
    def name(self) -> str:
        """The stored property (durations in ms under the member's name plus ``Ms``)."""
        return next(p.name for p in MEDIA_STREAM if p.source == self.member)

    def describe(self) -> str:
        unit = " ms" if self.name.endswith("Ms") else ""
        return f"`{self.member}` {'<' if self.below else '>'} {self.limit:g}{unit}"


@dataclass(frozen=True)
class ModalityRule:
    """How one modality is judged.

    ``any``: poor when at least one measured metric crosses (poorReasons: every one that
    did), good when some are measured and none crosses, unclassified when none is measured;
    with a ``gate``, a stream whose metrics cross is poor only when the gate crosses too
    (good when it does not, unclassified when the gate was not measured). ``first``: the
    first measured metric, in order, decides poor or good; none measured, unclassified.
    ``none``: always unclassified (``why`` says why).
    """

    modality: str
    how: str  # any, first or none
    metrics: tuple = ()
    gate: Threshold | None = None
    why: str = ""


@dataclass(frozen=True)
class QualityRule:
    name: str
    doc: str
    modalities: tuple  # ModalityRule, one per modality; a modality without one is unclassified


# CQD's video steps (older and current pages alike, bar the newer freeze score first, which
# Graph does not expose). The frame rate is the sent one, else the received one.
def _video_steps(frame_rate: float, where: str) -> tuple:
    return (
        Threshold("averageVideoFrameLossPercentage", 50.0,
                  f"{where} Video Frame Loss Percentage Avg > 50 %: poor, else good; not measured: next step"),
        Threshold("averageVideoFrameRate", frame_rate,
                  f"{where} Video Frame Rate Avg < {frame_rate:g} fps: poor, else good; not measured: next step",
                  below=True),
        Threshold("averageReceivedFrameRate", frame_rate,
                  f"the same frame rate step, from the received frame rate when the sent one is absent", below=True),
        Threshold("postForwardErrorCorrectionPacketLossRate", 0.15,
                  f"{where} Video Post FECPLR > 0.15: poor, else good; not measured: unclassified"),
    )


VIDEO_RULE = ModalityRule("video", "first", _video_steps(7.0, "Video:"))
VBSS_RULE = ModalityRule("vbss", "first", _video_steps(2.0, "VBSS:"),
                         why="CQD's older VBSS rule; a newer version judges received non-H264S streams with "
                             "< 1 fps, which Graph's stream does not let us tell apart")
APP_SHARING_RULE = ModalityRule("appSharing", "none", why=(
    "CQD judges application sharing by spoiled tile percentage, tile processing latency and relative "
    "one-way delay; Graph's mediaStream has no tile metrics, so these streams stay unclassified"))
DATA_RULE = ModalityRule("data", "none", why="CQD gives data streams no verdict")

QUALITY_RULES = (
    QualityRule("cqd", "the Call Quality Dashboard's current rules (the default)", (
        ModalityRule("audio", "any", (
            Threshold("averageRoundTripTime", 500.0, "Audio: Round Trip > 500 ms"),
            Threshold("averagePacketLossRate", 0.1, "Audio: Packet Loss Rate > 0.1 (10 %)"),
            Threshold("averageJitter", 30.0, "Audio: Jitter > 30 ms"),
        ), gate=Threshold("packetUtilization", 500.0, "Audio: Packet Utilization > 500 packets, to be judged at all")),
        VIDEO_RULE, VBSS_RULE, APP_SHARING_RULE, DATA_RULE)),
    QualityRule("cqd-legacy", "the older five-metric audio rule (older CQD pages; callgraph's only rule before "
                              "`classify`): no packet gate; video and VBSS as `cqd`", (
        ModalityRule("audio", "any", (
            Threshold("averageAudioDegradation", 1.0, "Audio: Degradation Avg > 1.0 (network MOS degradation)"),
            Threshold("averageRoundTripTime", 500.0, "Audio: Round Trip > 500 ms"),
            Threshold("averagePacketLossRate", 0.1, "Audio: Packet Loss Rate > 0.1"),
            Threshold("averageJitter", 30.0, "Audio: Jitter > 30 ms"),
            Threshold("averageRatioOfConcealedSamples", 0.07, "Audio: Ratio Concealed Samples Avg > 0.07"),
        )),
        VIDEO_RULE, VBSS_RULE, APP_SHARING_RULE, DATA_RULE)),
)
QUALITY_RULE_BY_NAME = {rule.name: rule for rule in QUALITY_RULES}
DEFAULT_QUALITY_RULE = "cqd"

# A media label -> modality: the first entry whose text the (lower-case) label contains.
MODALITY_BY_LABEL = (("audio", "audio"), ("vbss", "vbss"), ("applicationsharing-video", "vbss"),
                     ("applicationsharing", "appSharing"), ("video", "video"), ("data", "data"))
# A session's modalities (callRecords modality enum) -> ours: used when the label says nothing.
MODALITY_BY_SESSION = {"audio": "audio", "video": "video", "videoBasedScreenSharing": "vbss",
                       "screenSharing": "appSharing", "data": "data"}


def modality_of(label: str | None, session_modalities: list | None) -> str | None:
    """A media line's modality: by its label, else the session's one modality; None when neither tells."""
    if label:
        text = label.lower()
        for needle, modality in MODALITY_BY_LABEL:
            if needle in text:
                return modality
    known = {MODALITY_BY_SESSION[m] for m in session_modalities or () if m in MODALITY_BY_SESSION}
    return known.pop() if len(known) == 1 else None


def verdict_plan(rule: QualityRule) -> dict:
    """modality -> (how, metrics, gate), each metric ``(stored name, member, below, limit)``:
    the rule in the shape :func:`judge` reads, made once per rule."""
    def metric(t: Threshold) -> tuple:
        return (t.name, t.member, t.below, t.limit)

    return {m.modality: (m.how, tuple(metric(t) for t in m.metrics), metric(m.gate) if m.gate else None)
            for m in rule.modalities}


_UNCLASSIFIED = (UNCLASSIFIED, None)
_GOOD = (GOOD, None)


def judge(plan: dict, modality: str | None, stream: dict) -> tuple[str, list | None]:
    """(quality, poorReasons) of one stream's stored properties under a :func:`verdict_plan`;
    poorReasons is None unless poor. Pure: the same stream and rule, the same verdict."""
    how, metrics, gate = plan.get(modality) or ("none", (), None)
    if how == "first":
        for name, member, below, limit in metrics:
            value = stream.get(name)
            if value is not None:
                return (POOR, [member]) if (value < limit if below else value > limit) else _GOOD
        return _UNCLASSIFIED
    if how != "any":
        return _UNCLASSIFIED
    crossed, measured = None, False
    for name, member, below, limit in metrics:
        value = stream.get(name)
        if value is not None:
            measured = True
            if value < limit if below else value > limit:
                crossed = [member] if crossed is None else crossed + [member]
    if crossed is None:
        return _GOOD if measured else _UNCLASSIFIED
    if gate is not None:
        value = stream.get(gate[0])
        if value is None:
            return _UNCLASSIFIED
        if not (value < gate[3] if gate[2] else value > gate[3]):
            return _GOOD
    return POOR, crossed


def quality_markdown() -> list[str]:
    """The rules, for docs/graph-model.md."""
    out = ["## Stream verdicts", "",
           "Every stream gets `modality` (from its media line's `label`, else the session's one modality:"
           f" {', '.join(f'`{m}`' for m in MODALITIES)}), `quality` (`good`, `poor` or `unclassified`) and, when"
           " poor, `poorReasons`: the Graph members that crossed their threshold. Poor % is poor / (poor + good),"
           " as CQD computes it: unclassified streams count in neither. The rule in force is kept on the"
           " `(:QualityRule)` node; `callgraph classify --rule NAME` re-judges every stream by another, and loads"
           " use the one in force. The rules:", ""]
    for rule in QUALITY_RULES:
        out += [f"### `{rule.name}`: {rule.doc}", ""]
        for m in rule.modalities:
            if m.how == "none":
                out.append(f"- {m.modality}: unclassified. {m.why}.")
                continue
            if m.how == "first":
                out.append(f"- {m.modality}: the first measured of these decides (poor when it crosses, else good);"
                           " none measured: unclassified." + (f" {m.why}." if m.why else ""))
            else:
                gate = (f" Judged poor only with {m.gate.describe()} ({m.gate.cqd}): a stream at or under it is good,"
                        " one without it unclassified." if m.gate else "")
                out.append(f"- {m.modality}: poor when any of these crosses, good when some are measured and none"
                           f" does, unclassified when none is measured.{gate}")
            out += [f"  - {t.describe()}: {t.cqd}" for t in m.metrics]
        out.append("")
    return out


VALUE_RULES = (
    "**A member Graph names like a property callgraph stores** (a documented member's stored name such as"
    " `averageJitterMs`, or a derived one: `poor`, `sessionCount`, `durationMs`, `ratedStreams`, `key`, ...)"
    f" is stored as `{GRAPH_PREFIX}<name>`, as is a member whose name starts with `{GRAPH_PREFIX}`: what"
    " callgraph derives is never Graph's (a list page's `sessionCount` does not make a record look complete).",
    "**Negative durations** (`-PT5S`): left out; the node or edge names them in `dropped` (a negative"
    " trace-route round trip is -1, like a missing one).",
    "**An end before the start** of a call record: both times kept as sent, no `durationMs`, and `dropped`"
    " names `durationMs`.",
    "**Integers past 64 bits** (what Neo4j holds): in a documented integer member (a `port`, `linkSpeed`,"
    " `version`) the record is rejected naming the member; in a member the model does not know, kept as"
    " its digits (a string).",
    "**`NaN` and `Infinity`** (the OData strings, or JSON's non-standard literals): in a float member, `NaN`"
    " is absent and `INF`/`-INF` are infinities; in a string, integer, boolean or time member the record is"
    " rejected (an id of `-Infinity` names nobody).",
    "**Digits other than 0-9** (full-width `２０２０`, other scripts): not a time, not an integer; the record"
    " is rejected naming the member.",
    "**A lone surrogate** (`\\ud800` in the JSON: half of a UTF-16 pair, no character) in any text or member"
    " name: the record is rejected naming the member. In a member the model does not know and stores as"
    " JSON text, it is kept as its escape.",
    "**The same member twice in one JSON object** with different values: which one counts is not clear; the"
    " record is rejected (the same value twice, as in Microsoft's own examples, is fine).",
    f"**Nesting and size**: a member the model does not know nested more than {MAX_DEPTH} levels deep, or"
    f" an object with more than {MAX_MEMBERS} members, rejects the record with the member's path.",
    "**Identities**: a shared endpoint is named only by the identity kind that owns its key: an identity"
    " of a kind callgraph makes itself (`service`, `anonymous`) or with a colon in its kind names no party"
    " (the appearance keeps it in `identity`), so it cannot rename a service endpoint.",
)


def group_names(group: Group) -> list[str]:
    return [flat_name(group.prefix, p.name) for p in group.props]


def stored_names(entity: NodeType | RelType) -> list[str]:
    """Every property name the model gives a label or relationship type, in model order:
    documented members, flattened groups, then what callgraph derives (a derived entry may
    name several, comma-separated). Members Graph adds later are kept too, under their own
    names, but are not listed here."""
    names = [p.name for p in entity.props] + [n for g in entity.groups for n in group_names(g)]
    return names + [n.strip() for name, _ in entity.derived for n in name.split(",")]


def datetime_names(entity: NodeType | RelType) -> list[str]:
    """The properties stored as Neo4j datetimes (the transform hands them over as ISO strings)."""
    return [p.name for p in entity.props if p.kind == "datetime"] + [
        flat_name(g.prefix, p.name) for g in entity.groups for p in g.props if p.kind == "datetime"]


def prop_kinds(entity: NodeType | RelType) -> dict[str, str]:
    """Stored name -> kind (a converter of :mod:`loader.ingest.values`) of every documented
    member and flattened group member; what callgraph derives has no kind here."""
    return {p.name: p.kind for p in entity.props} | {
        flat_name(g.prefix, p.name): p.kind for g in entity.groups for p in g.props}


def tree_depth(label: str | None = None) -> int:
    """How many CONTAINS edges lead from a record down to ``label`` (0 for the record itself);
    without a label, down to the deepest owned node (a record's whole tree)."""
    parent = {r.end: r.start for r in RELS if r.type == "CONTAINS"}

    def depth(name: str) -> int:
        return 1 + depth(parent[name]) if name in parent else 0

    return depth(label) if label is not None else max(depth(n.label) for n in NODES if n.owned)


def markdown() -> str:
    """The graph model as Markdown, for docs/graph-model.md."""
    out = ["# Graph model", "",
           "Generated from `loader/model.py` by `python -m loader.model > docs/graph-model.md`;"
           " a test fails when the two differ.", "",
           "```", __doc__.split("::", 1)[1].split("\nOwned nodes")[0].strip("\n"), "```", "",
           "Owned nodes (CallRecord, Session, Segment, Media, Stream) belong to one record and are"
           " replaced as a whole when a newer version of it is loaded. Shared nodes (Endpoint, Relay)"
           " are merged by key across all calls; what varies per call sits on edges and on Media.", "",
           "Conventions: timestamps are Neo4j datetimes (Graph's `0001-01-01T00:00:00Z` is stored as"
           " absent); ISO 8601 durations are numbers of milliseconds under the member's name plus `Ms`"
           " (`averageJitter: PT0.016S` becomes `averageJitterMs: 16.0`); the OData float `NaN` is stored"
           " as absent and `INF`/`-INF` as infinities; enums are kept as the strings Graph sends, unknown"
           " values included. A nested object is flattened with its name as prefix (`failureInfo.stage`"
           " becomes `failureStage`). Members Graph adds that this model does not know are stored under"
           " their own (prefixed) name: scalars and lists of scalars as they come, objects as JSON text.",
           "",
           f"Limits: a record holding an integer outside 64 bits, or a key or indexed property over"
           f" {INDEXED_STRING_MAX_BYTES:,} bytes (UTF-8), is rejected by id with the property named; other text"
           f" may be of any length. A record of more than {CHUNK_ELEMENTS:,} nodes and relationships is written in"
           " several transactions (its sessions in chunks), marked `writeInProgress` until the last commits.",
           ""]
    for node in NODES:
        out += [f"## (:{node.label})", "", node.doc, "",
                f"Key: `{node.key}` (unique constraint)." + (" Owned by one record." if node.owned else
                                                             " From the admin's own file." if node.by_file else
                                                             " Shared across calls."), ""]
        if node.indexes:
            out += ["Indexed: " + ", ".join(f"`{', '.join(props)}`" + (" (one composite index)" if len(props) > 1 else "")
                                            for props in node.index_columns()) + ".", ""]
        out += _prop_table(node.props, node.groups, node.derived)
    out += ["## Relationships", "", "| from | type | to | meaning |", "|---|---|---|---|"]
    for rel in RELS:
        out.append(f"| {rel.start} | {rel.type} | {rel.end} | {rel.doc} |")
    out.append("")
    seen = set()
    for rel in RELS:
        if (rel.props or rel.groups or rel.derived) and (rel.type, rel.end) not in seen:
            seen.add((rel.type, rel.end))
            same = [r for r in RELS if r.type == rel.type and r.end == rel.end]
            starts = sorted({r.start for r in same})
            derived: dict = {}  # name -> (meaning, starts that have it), in model order
            for r in same:
                for name, meaning in r.derived:
                    derived.setdefault(name, (meaning, []))[1].append(r.start)
            derived_rows = tuple((name, meaning if len(has) == len(same) else f"{meaning} ({', '.join(has)} only)")
                                 for name, (meaning, has) in derived.items())
            out += [f"### [:{rel.type}] properties (from {', '.join(starts)})", ""]
            out += _prop_table(rel.props, rel.groups, derived_rows)
    out += quality_markdown()
    out += ["## Buildings and networks", "",
            "Each client end of each media line is placed in the admin's map (`callgraph buildings FILE`, CQD's"
            " building data file) by these rules; a Browser user walks"
            " `(:Building)<-[:IN_BUILDING]-(:Network)<-[:CALLER_AT|CALLEE_AT]-(:Media)<-[:CONTAINS]-(:Segment)`"
            " up to the call record:", ""]
    out += [f"- {rule}" for rule in PLACEMENT_RULES]
    out += ["", "## Values that make no sense", "",
            "What the loader does with input no well-behaved Graph sends; a rejected record is named by its"
            " file, place and id, and the records around it load:", ""]
    out += [f"- {rule}" for rule in VALUE_RULES]
    out.append("")
    return "\n".join(out)


def _prop_table(props, groups, derived) -> list[str]:
    rows = ["| property | type | from Graph | meaning |", "|---|---|---|---|"]
    for p in props:
        rows.append(f"| `{p.name}` | {_kind_doc(p.kind)} | `{p.source}` | {p.doc} |")
    for g in groups:
        for p in g.props:
            rows.append(f"| `{flat_name(g.prefix, p.name)}` | {_kind_doc(p.kind)} | `{g.source}.{p.source}` | {p.doc} |")
    for name, doc in derived:
        rows.append(f"| `{name}` | | (callgraph) | {doc} |")
    return rows + [""] if len(rows) > 2 else []


def _kind_doc(kind: str) -> str:
    return {"duration": "float (ms)", "enum": "string (enum)", "enum[]": "list of strings (enum)",
            "string[]": "list of strings"}.get(kind, kind)


if __name__ == "__main__":
    print(markdown(), end="")
