"""A synthetic tenant: call records in Graph's exact JSON shape, with planted problems.

``callgraph generate`` and ``callgraph demo`` use it to show the saved queries off, and the
tests use it to check that every saved query finds what was planted. Every choice comes from
one ``random.Random(seed)``; the clock only picks the days: the calls fill the ``days`` days
(7) before ``as_of``, by default the day it runs (UTC), so they end the day before. Same seed
and same ``as_of``, same data (the same seed on another day gives the same calls, moved).

What a tenant holds: Teams peer-to-peer calls, meetings through a conferencing server, PSTN
calls through the Teams media processor to Direct Routing SBCs (two segments; one with media
bypass; an inbound one the user transfers to a phone number has three: SBC -> media processor,
media processor -> user until the transfer, media processor -> SBC to the number), auto
attendant -> call queue -> agent transfers (the repeated session ids Graph documents; the first
that reaches an agent has the id ``transfer_call_id(seed)``, for the README's call-path example), users on wired and Wi-Fi subnets at two offices and at home, media relays
shared by many calls, and failures at call setup and mid-call. Planted for the queries:

- a bad media relay (``BAD_RELAY``): most audio through it is poor, and it is the busiest;
- a failing SBC (``FAILING_SBC``): a large share of its calls fail at call setup;
- a poor Wi-Fi subnet (``POOR_SUBNET``): most audio sent from it is poor.

The tenant's CQD building data file (``BUILDING_FILE``; ``callgraph demo`` loads it) maps the
offices: Lisbon (``BAD_BUILDING``, whose Wi-Fi is the poor subnet) is the bad building, Seattle's
wired floors are one supernet, and one busy Seattle Wi-Fi subnet (``UNMAPPED_SUBNET``) is missing
from it. A call that fails at setup keeps its audio line (networks, no streams), so that the
failure is placed in a building.

Meetings carry a video line too (``main-video``), and some a screen-sharing line
(``applicationsharing-video``, video-based screen sharing): their video is poor by frame rate
more often through the bad relay. Some audio streams are poor only by the older five-metric
rule (``cqd-legacy``): a muted listener's (at most 500 packets, so CQD's current rule does not
judge it poor) and some with network MOS degradation or concealed samples alone; so
``callgraph classify --rule cqd-legacy`` changes the numbers. Those come from a random
generator of their own (``seed`` + 1): the rest of the tenant is what it was without them.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

TENANT_ID = "6b7c2f1e-5a4d-4c3b-9e8f-0a1b2c3d4e5f"
DOMAIN = "contoso.com"
DAYS = 7  # the days the calls fill, ending at the start of as_of


def window_start(as_of: date | None = None, days: int = DAYS) -> datetime:
    """The first midnight (UTC) of the generated calls: ``days`` days before ``as_of`` (default today, UTC)."""
    end = as_of or datetime.now(timezone.utc).date()
    return datetime(end.year, end.month, end.day, tzinfo=timezone.utc) - timedelta(days=days)


def transfer_call_id(seed: int) -> str:
    """The id of a tenant's first auto attendant -> call queue -> agent call: stable, and the
    seed in its last digits (``...-000000000001`` for seed 1), so two tenants never share it."""
    return f"0de00000-0000-4000-8000-{seed % 16**12:012x}"

BAD_RELAY = "52.114.188.32"
RELAYS = [BAD_RELAY] + [f"52.114.{a}.{b}" for a, b in
                        ((188, 40), (188, 102), (189, 11), (189, 77), (190, 5), (190, 140), (191, 23))]
POOR_SUBNET = "10.30.5.0"

# site -> (subnets with their connection type)
SITES = {
    "Seattle HQ": [("10.10.20.0", "wired"), ("10.10.21.0", "wired"), ("10.20.1.0", "wifi"), ("10.20.2.0", "wifi")],
    "Lisbon office": [("10.30.4.0", "wired"), (POOR_SUBNET, "wifi")],
    "home": [("192.168.1.0", "wifi"), ("192.168.0.0", "wifi"), ("192.168.178.0", "wired")],
}

# The tenant's CQD building data file (no header; CQD's 15 columns: NetworkIP, NetworkName,
# NetworkRange, BuildingName, OwnershipType, BuildingType, BuildingOfficeType, City, ZipCode,
# Country, State, Region, InsideCorp, ExpressRoute, VPN). Planted: Seattle's wired floors as one
# supernet (10.10.20.0/23 holds 10.10.20.0 and 10.10.21.0), a building name with a comma, the bad
# building (Lisbon, whose Wi-Fi is POOR_SUBNET), a VPN range nobody uses, and UNMAPPED_SUBNET, a
# busy Seattle Wi-Fi subnet the file forgot (so `missing-subnets` lists it, with the homes).
BAD_BUILDING = "Lisbon Office"
UNMAPPED_SUBNET = "10.20.2.0"
BUILDING_FILE = """\
10.10.20.0,SEA-HQ-WIRED,23,"Seattle HQ, Building 2",Contoso,Office,Headquarters,Seattle,98101,US,WA,North America,1,1,0
10.20.1.0,SEA-HQ-WIFI-1,24,"Seattle HQ, Building 2",Contoso,Office,Headquarters,Seattle,98101,US,WA,North America,1,1,0
10.30.4.0,LIS-WIRED,24,Lisbon Office,Contoso,Office,Regional office,Lisboa,1250-096,PT,Lisboa,EMEA,1,0,0
10.30.5.0,LIS-WIFI,24,Lisbon Office,Contoso,Office,Regional office,Lisboa,1250-096,PT,Lisboa,EMEA,1,0,0
10.8.0.0,CONTOSO-VPN,16,Contoso VPN,Contoso,VPN,,Seattle,98101,US,WA,North America,1,0,1
"""

SBCS = {  # FQDN -> (user agent the SBC sends, media IP)
    "sbc1.contoso.com": ("AudioCodes/Mediant SW/v.7.40A.250.001", "198.51.100.20"),
    "sbc2.contoso.com": ("Ribbon SBC SWe/9.2.3 build 112", "198.51.100.36"),
    "sbc-eu.contoso.com": ("AudioCodes/Mediant SW/v.7.20A.258.005", "203.0.113.50"),
}
FAILING_SBC = "sbc2.contoso.com"

MEDIA_PROCESSOR = ("mediationServer", "Microsoft.Teams.MediaProcessor/2024.10.1.15", "52.112.0.10")
CONFERENCING = ("skypeForBusinessAudioVideoMcu", "Microsoft.Teams.Conferencing.MCU/2024.10.2.7", "52.113.0.5")
AUTO_ATTENDANT = ("skypeForBusinessAutoAttendant", "Microsoft.Teams.AutoAttendant/2024.9.3", "52.112.4.20")
CALL_QUEUE = ("skypeForBusinessCallQueues", "Microsoft.Teams.CallQueue/2024.9.3", "52.112.4.21")

CLIENTS = [  # (platform, header value, application version)
    ("windows", "RTCC/2024.41.01.1 (Teams; Windows 11 Enterprise)", "24295.605.3225.8804"),
    ("windows", "RTCC/2024.38.01.3 (Teams; Windows 10 Enterprise)", "24277.3502.3161.3007"),
    ("macOS", "RTCC/2024.40.1.2 (Teams; Mac OS X 14.6)", "24292.1103.3212.9561"),
    ("iOS", "RTCC/2024.39.0.4 (Teams; iOS 17.6)", "6.21.1"),
    ("android", "RTCC/2024.39.0.2 (Teams; Android 14)", "1416/1.0.0.2024193402"),
]

FIRST = ["Abbie", "Owen", "Carla", "Deepak", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kofi", "Lena",
         "Mateo", "Nadia", "Oscar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yara"]
LAST = ["Wilkins", "Franklin", "Ruiz", "Patel", "Novak", "Haddad", "Kim", "Tanaka", "Costa", "Berg", "Mensah",
        "Vogel", "Silva", "Karimi", "Olsen", "Rao", "Murphy", "Lopez", "Lund", "Aziz"]


@dataclass(frozen=True)
class User:
    id: str
    name: str
    upn: str
    site: str
    subnet: str
    connection: str
    client: tuple
    machine: str


class Tenant:
    """The people and places of one synthetic tenant, and a generator of its calls."""

    def __init__(self, seed: int, users: int, start: datetime, days: int = DAYS):
        self.rng = random.Random(seed)
        self.extra = random.Random(seed + 1)  # video, sharing and the streams the two audio rules tell apart
        self.start, self.days = start, days
        self.transfer_id = transfer_call_id(seed)
        self.transfer_named = False  # whether a call has been given that id yet
        self.users = [self._user(i) for i in range(users)]
        # resource accounts behind the auto attendant and the call queue
        self.aa_account = {"id": self._uuid(), "displayName": "Contoso Main Line"}
        self.cq_account = {"id": self._uuid(), "displayName": "Contoso Support Queue"}

    # -- identities ----------------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _user(self, i: int) -> User:
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7 + i // len(FIRST)) % len(LAST)]
        name = f"{first} {last}" if i < len(FIRST) else f"{first} {last} {i // len(FIRST) + 1}"
        site = self.rng.choices(list(SITES), weights=[55, 25, 20])[0]
        subnet, connection = self.rng.choice(SITES[site])
        upn = f"{first}.{last}{'' if i < len(FIRST) else i // len(FIRST) + 1}@{DOMAIN}".lower()
        return User(self._uuid(), name, upn, site, subnet, connection, self.rng.choice(CLIENTS),
                    f"{first[:3].upper()}-{self.rng.randint(1000, 9999)}")

    def _phone(self) -> str:
        return f"+1{self.rng.choice(['206', '425', '312', '646'])}555{self.rng.randint(1000, 9999)}"

    # -- endpoints and media -------------------------------------------------------------------

    def client_endpoint(self, user: User) -> dict:
        platform, header, version = user.client
        return {"@odata.type": "#microsoft.graph.callRecords.participantEndpoint", "name": user.machine,
                "cpuName": "Intel(R) Core(TM) i7-1265U", "cpuCoresCount": 10, "cpuProcessorSpeedInMhz": 2688,
                "userAgent": {"@odata.type": "#microsoft.graph.callRecords.clientUserAgent", "headerValue": header,
                              "applicationVersion": version, "platform": platform, "productFamily": "teams"},
                "associatedIdentity": {"id": user.id, "displayName": user.name, "tenantId": TENANT_ID,
                                       "userPrincipalName": user.upn}}

    @staticmethod
    def service_endpoint(role: str, header: str) -> dict:
        return {"@odata.type": "#microsoft.graph.callRecords.serviceEndpoint",
                "userAgent": {"@odata.type": "#microsoft.graph.callRecords.serviceUserAgent",
                              "headerValue": header, "role": role}}

    @staticmethod
    def phone_endpoint(number: str) -> dict:
        return {"@odata.type": "#microsoft.graph.callRecords.participantEndpoint",
                "identity": {"phone": {"id": number, "displayName": None}}}

    def resource_endpoint(self, account: dict, role_service: tuple) -> dict:
        role, header, _ = role_service
        return {"@odata.type": "#microsoft.graph.callRecords.participantEndpoint",
                "userAgent": {"@odata.type": "#microsoft.graph.callRecords.serviceUserAgent",
                              "headerValue": header, "role": role},
                "identity": {"applicationInstance": {"id": account["id"], "displayName": account["displayName"],
                                                     "tenantId": TENANT_ID}}}

    def client_network(self, user: User) -> tuple[dict, str | None]:
        host = self.rng.randint(2, 250)
        base = user.subnet.rsplit(".", 1)[0]
        network = {"ipAddress": f"{base}.{host}", "subnet": user.subnet, "port": self.rng.randint(50000, 50059),
                   "connectionType": user.connection, "networkTransportProtocol": "udp",
                   "reflexiveIPAddress": "203.0.113.10" if user.site != "home" else f"198.18.{host}.{self.rng.randint(1, 250)}",
                   "linkSpeed": 1_000_000_000 if user.connection == "wired" else 433_300_000,
                   "macAddress": "00-00-00-00-00-00", "sentQualityEventRatio": 0, "receivedQualityEventRatio": 0,
                   "delayEventRatio": 0, "bandwidthLowEventRatio": 0}
        if user.connection == "wifi":
            network.update(wifiBand="frequency50GHz", wifiChannel=self.rng.choice([36, 44, 149]),
                           wifiRadioType="wifi80211ax", wifiSignalStrength=self.rng.randint(35, 95),
                           basicServiceSetIdentifier=f"00:1a:2b:{self.rng.randint(16, 99)}:{self.rng.randint(10, 99)}:01")
        relay = None
        # Remote and Wi-Fi clients reach Teams through a relay more often; the bad relay is the
        # one most of them are given (it serves the region), which makes it the busiest too.
        if self.rng.random() < (0.85 if user.site == "home" or user.connection == "wifi" else 0.5):
            relay = self.rng.choices(RELAYS, weights=[30] + [10] * (len(RELAYS) - 1))[0]
            network.update(relayIPAddress=relay, relayPort=self.rng.randint(50000, 59999))
        return network, relay

    @staticmethod
    def service_network(ip: str) -> dict:
        return {"ipAddress": ip, "subnet": ip.rsplit(".", 1)[0] + ".0", "port": 3478, "connectionType": "wired",
                "networkTransportProtocol": "udp", "linkSpeed": 10_000_000_000}

    def streams(self, caller_poor: bool, callee_poor: bool, bypassed: bool = False) -> list[dict]:
        """Two audio streams; a poor one crosses the Call Quality Dashboard thresholds."""
        out = []
        for direction, poor in (("callerToCallee", caller_poor), ("calleeToCaller", callee_poor)):
            rng = self.rng
            packets = None
            if poor:
                jitter, loss, rtt = rng.uniform(35, 90), rng.uniform(0.11, 0.25), rng.uniform(150, 600)
                degradation, concealed = rng.uniform(1.2, 2.6), rng.uniform(0.08, 0.2)
            else:
                jitter, loss, rtt = rng.uniform(2, 18), rng.uniform(0, 0.02), rng.uniform(20, 140)
                degradation, concealed = rng.uniform(0, 0.6), rng.uniform(0, 0.03)
                odd = self.extra.random()
                if odd < 0.05:  # a muted listener: bad numbers over a few packets, poor by the old rule only
                    jitter, loss, packets = self.extra.uniform(31, 60), self.extra.uniform(0.11, 0.2), self.extra.randint(40, 500)
                elif odd < 0.09:  # audio degradation or concealment alone: poor by the old rule only
                    degradation, concealed = self.extra.uniform(1.05, 1.8), self.extra.uniform(0.075, 0.12)
            stream_id, bandwidth = str(rng.randint(10**8, 10**9)), rng.randint(2_000_000, 20_000_000)
            # always drawn from rng (then replaced for a muted listener), so that rng's sequence, and with
            # it the rest of the tenant, is what it was before the extra streams; over 500, CQD's packet gate
            drawn_packets = max(501, rng.randint(500, 40_000))
            out.append({
                "streamId": stream_id, "streamDirection": direction, "audioCodec": "satin",
                "averageJitter": f"PT{jitter / 1000:.3f}S", "maxJitter": f"PT{jitter * 1.6 / 1000:.3f}S",
                "averagePacketLossRate": round(loss, 4), "maxPacketLossRate": round(min(loss * 2, 1), 4),
                "averageRoundTripTime": f"PT{rtt / 1000:.3f}S", "maxRoundTripTime": f"PT{rtt * 1.4 / 1000:.3f}S",
                "averageAudioDegradation": round(degradation, 3), "averageRatioOfConcealedSamples": round(concealed, 4),
                "averageBandwidthEstimate": bandwidth,
                "packetUtilization": drawn_packets if packets is None else packets,
                "wasMediaBypassed": bypassed,
                "isAudioForwardErrorCorrectionUsed": poor})
        return out

    def media(self, caller_net: dict, callee_net: dict, caller_poor: bool, callee_poor: bool,
              bypassed: bool = False) -> dict:
        return {"label": "main-audio", "callerNetwork": caller_net, "calleeNetwork": callee_net,
                "callerDevice": {"captureDeviceName": "Microphone (Jabra Evolve2 65)",
                                 "renderDeviceName": "Speakers (Jabra Evolve2 65)", "micGlitchRate": 0,
                                 "speakerGlitchRate": 0},
                "calleeDevice": {"captureDeviceName": "Default input device",
                                 "renderDeviceName": "Default output device"},
                "streams": self.streams(caller_poor, callee_poor, bypassed)}

    def video(self, audio: dict, label: str, relay: str | None) -> dict:
        """A video line beside an audio one (same networks): two streams, one per direction. A
        poor one has a low frame rate (CQD's second step; frame loss is not measured), more
        often through the bad relay; some sent ones carry only post-FEC loss (the third step)."""
        floor = 7.0 if label == "main-video" else 2.0
        streams = []
        for direction in ("callerToCallee", "calleeToCaller"):
            poor = self.extra.random() < (0.5 if relay == BAD_RELAY else 0.04)
            stream = {"streamId": str(self.extra.randint(10**8, 10**9)), "streamDirection": direction,
                      "videoCodec": "h264" if label == "main-video" else "h264s",
                      "averageBandwidthEstimate": self.extra.randint(500_000, 4_000_000),
                      "packetUtilization": self.extra.randint(2_000, 90_000)}
            if self.extra.random() < 0.2:
                stream["postForwardErrorCorrectionPacketLossRate"] = round(
                    self.extra.uniform(0.16, 0.3) if poor else self.extra.uniform(0, 0.05), 4)
            else:
                stream["averageVideoFrameRate"] = round(
                    self.extra.uniform(0.5, floor - 0.2) if poor else self.extra.uniform(floor + 2, 30), 2)
            streams.append(stream)
        return {"label": label, "callerNetwork": audio["callerNetwork"], "calleeNetwork": audio["calleeNetwork"],
                "streams": streams}

    def _poor(self, user: User | None, relay: str | None) -> bool:
        """Whether audio sent from this side is poor: the planted problems, else rarely."""
        chance = 0.03
        if relay == BAD_RELAY:
            chance = 0.75
        elif user is not None and user.subnet == POOR_SUBNET:
            chance = 0.65
        return self.rng.random() < chance

    # -- calls ---------------------------------------------------------------------------------

    def calls(self, count: int) -> Iterator[dict]:
        kinds = ["peerToPeer", "meeting", "pstn", "queue"]
        for i in range(count):
            when = self.start + timedelta(seconds=self.rng.randint(0, self.days * 86400 - 7200))
            kind = self.rng.choices(kinds, weights=[45, 25, 20, 10])[0]
            yield getattr(self, f"_{kind}")(when)

    def _record(self, rid: str, kind: str, start: datetime, end: datetime, organizer: dict,
                participants: list[dict], sessions: list[dict], modalities=("audio",)) -> dict:
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#communications/callRecords(sessions(segments()))/$entity",
            "id": rid, "version": 1 + (self.rng.random() < 0.3), "type": kind, "modalities": list(modalities),
            "lastModifiedDateTime": _iso(end + timedelta(minutes=self.rng.randint(20, 140))),
            "startDateTime": _iso(start), "endDateTime": _iso(end), "joinWebUrl": None,
            "organizer_v2": organizer, "participants_v2": participants, "sessions": sessions}

    @staticmethod
    def _party(user: User | None = None, phone: str | None = None) -> dict:
        if user:
            return {"id": user.id, "identity": {"user": {"id": user.id, "displayName": user.name,
                                                         "tenantId": TENANT_ID, "userPrincipalName": user.upn}}}
        return {"id": phone, "identity": {"phone": {"id": phone, "displayName": None}}}

    @staticmethod
    def _session(sid: str, caller: dict, callee: dict, segments: list[dict], failure: dict | None = None,
                 modalities=("audio",)) -> dict:
        session = {"id": sid, "startDateTime": segments[0]["startDateTime"],
                   "endDateTime": max(s["endDateTime"] for s in segments), "modalities": list(modalities),
                   "isTest": False, "caller": caller, "callee": callee, "segments": segments}
        if failure:
            session["failureInfo"] = failure
        return session

    @staticmethod
    def _segment(sid: str, start: datetime, end: datetime, caller: dict, callee: dict, media: list[dict],
                 failure: dict | None = None) -> dict:
        segment = {"id": sid, "startDateTime": _iso(start), "endDateTime": _iso(end), "caller": caller,
                   "callee": callee, "media": media}
        if failure:
            segment["failureInfo"] = failure
        return segment

    def _client_leg(self, user: User, service_ip: str, user_is_caller: bool, start, end, sid, other: dict,
                    failure=None) -> dict:
        """A segment between a client and a service endpoint, one audio media line."""
        net, relay = self.client_network(user)
        poor_client, poor_service = self._poor(user, relay), self._poor(None, relay)
        me = self.client_endpoint(user)
        if user_is_caller:
            media = self.media(net, self.service_network(service_ip), poor_client, poor_service)
            return self._segment(sid, start, end, me, other, [] if failure else [media], failure)
        media = self.media(self.service_network(service_ip), net, poor_service, poor_client)
        return self._segment(sid, start, end, other, me, [] if failure else [media], failure)

    def _peerToPeer(self, start: datetime) -> dict:
        a, b = self.rng.sample(self.users, 2)
        rid = self._uuid()
        end = start + timedelta(seconds=self.rng.randint(30, 2400))
        net_a, relay_a = self.client_network(a)
        net_b, relay_b = self.client_network(b)
        failure = None
        if self.rng.random() < 0.03:
            failure = {"stage": "callSetup", "reason": "Callee did not answer (timeout)"}
            end = start + timedelta(seconds=25)
        elif self.rng.random() < 0.02:
            failure = {"stage": "midcall", "reason": "Media connectivity lost"}
        # A call that never set up still has its media line, with both ends' networks and no
        # streams: that is what places a setup failure in a building.
        media = [{"label": "main-audio", "callerNetwork": net_a, "calleeNetwork": net_b, "streams": []}] \
            if failure and failure["stage"] == "callSetup" else [self.media(
            net_a, net_b, self._poor(a, relay_a) or relay_b == BAD_RELAY and self._poor(None, relay_b),
            self._poor(b, relay_b) or relay_a == BAD_RELAY and self._poor(None, relay_a))]
        segment = self._segment(rid, start, end, self.client_endpoint(a), self.client_endpoint(b), media, failure)
        if self.rng.random() < 0.15:
            segment["callee"]["feedback"] = {"rating": self.rng.choice(["poor", "bad", "good", "excellent"]),
                                             "tokens": {"NoSound": False, "Echo": self.rng.random() < 0.3,
                                                        "Noisy": self.rng.random() < 0.3}}
        session = self._session(rid, self.client_endpoint(a), self.client_endpoint(b), [segment], failure)
        return self._record(rid, "peerToPeer", start, end, self._party(a), [self._party(a), self._party(b)], [session])

    def _meeting(self, start: datetime) -> dict:
        people = self.rng.sample(self.users, self.rng.randint(3, min(8, len(self.users))))
        rid = self._uuid()
        role, header, ip = CONFERENCING
        end = start + timedelta(minutes=self.rng.randint(15, 60))
        sessions = []
        for person in people:
            joined = start + timedelta(seconds=self.rng.randint(0, 300))
            left = end - timedelta(seconds=self.rng.randint(0, 300))
            sid = self._uuid()
            mcu = self.service_endpoint(role, header)
            segment = self._client_leg(person, ip, True, joined, left, sid, mcu)
            audio = segment["media"][0]
            relay = audio["callerNetwork"].get("relayIPAddress")
            segment["media"].append(self.video(audio, "main-video", relay))
            if self.extra.random() < 0.3:
                segment["media"].append(self.video(audio, "applicationsharing-video", relay))
            sessions.append(self._session(sid, self.client_endpoint(person), self.service_endpoint(role, header),
                                          [segment], modalities=("audio", "video")))
        return self._record(rid, "groupCall", start, end, self._party(people[0]), [self._party(p) for p in people],
                            sessions, modalities=("audio", "video", "screenSharing"))

    def _pstn_legs(self, user: User | None, fqdn: str, outbound: bool, start: datetime, end: datetime, sid: str,
                   failed: bool, bypass: bool, far_end: dict | None = None) -> list[dict]:
        """The segments of a PSTN session: client <-> media processor <-> SBC (or client <-> SBC)."""
        sbc_header, sbc_ip = SBCS[fqdn]
        gateway = self.service_endpoint("gateway", sbc_header)
        failure = {"stage": "callSetup", "reason": f"Gateway {fqdn} returned SIP 503 Service Unavailable"} if failed else None
        if bypass and user:
            return [self._client_leg(user, sbc_ip, outbound, start, end, sid, gateway, failure)]
        mp_role, mp_header, mp_ip = MEDIA_PROCESSOR
        mp = lambda: self.service_endpoint(mp_role, mp_header)  # noqa: E731
        if user is None:  # the far end is a Teams service (auto attendant, call queue)
            near = self._segment(sid, start + timedelta(seconds=1), end, mp(), far_end, [self.media(
                self.service_network(mp_ip), self.service_network(AUTO_ATTENDANT[2]), False, False)])
        elif outbound:
            near = self._client_leg(user, mp_ip, True, start, end, sid, mp())
        else:
            near = self._client_leg(user, mp_ip, False, start + timedelta(seconds=1), end, sid, mp())
        mp_net, sbc_net = self.service_network(mp_ip), self.service_network(sbc_ip)
        if outbound:
            far_media = [] if failed else [self.media(mp_net, sbc_net, self._poor(None, None), self._poor(None, None))]
            far = self._segment(sid, start + timedelta(seconds=1), end, mp(), gateway, far_media, failure)
            return [near, far]
        far_media = [] if failed else [self.media(sbc_net, mp_net, self._poor(None, None), self._poor(None, None))]
        far = self._segment(sid, start, end, gateway, mp(), far_media, failure)
        return [far, near]

    def _sbc(self) -> tuple[str, bool]:
        fqdn = self.rng.choices(list(SBCS), weights=[45, 30, 25])[0]
        failed = self.rng.random() < (0.45 if fqdn == FAILING_SBC else 0.02)
        return fqdn, failed

    def _transferred_out(self, user: User, fqdn: str, start: datetime, handed_over: datetime, end: datetime,
                         sid: str) -> list[dict]:
        """An inbound PSTN call the user answers and transfers to a phone number, in one session
        of three segments: SBC -> media processor for the whole call, media processor -> user
        until the transfer, then media processor -> SBC out to the number."""
        sbc_header, sbc_ip = SBCS[fqdn]
        mp_role, mp_header, mp_ip = MEDIA_PROCESSOR
        mp = lambda: self.service_endpoint(mp_role, mp_header)  # noqa: E731
        mp_net, sbc_net = self.service_network(mp_ip), self.service_network(sbc_ip)
        inbound = self._segment(sid, start, end, self.service_endpoint("gateway", sbc_header), mp(), [self.media(
            sbc_net, mp_net, self._poor(None, None), self._poor(None, None))])
        answered = self._client_leg(user, mp_ip, False, start + timedelta(seconds=1), handed_over, sid, mp())
        outbound = self._segment(sid, handed_over, end, mp(), self.service_endpoint("gateway", sbc_header), [self.media(
            self.service_network(mp_ip), self.service_network(sbc_ip), self._poor(None, None), self._poor(None, None))])
        return [inbound, answered, outbound]

    def _pstn(self, start: datetime) -> dict:
        user = self.rng.choice(self.users)
        number = self._phone()
        outbound = self.rng.random() < 0.6
        fqdn, failed = self._sbc()
        bypass = not failed and self.rng.random() < 0.15
        rid = self._uuid()
        end = start + timedelta(seconds=8 if failed else self.rng.randint(40, 1800))
        me, phone = self.client_endpoint(user), self.phone_endpoint(number)
        participants = [self._party(user), self._party(phone=number)]
        if not (outbound or failed or bypass) and self.rng.random() < 0.3:  # handed on to a colleague's phone
            handed_over = start + timedelta(seconds=self.rng.randint(15, 120))
            end = handed_over + timedelta(seconds=self.rng.randint(40, 900))
            legs = self._transferred_out(user, fqdn, start, handed_over, end, rid)
            participants.append(self._party(phone=self._phone()))
        else:
            legs = self._pstn_legs(user, fqdn, outbound, start, end, rid, failed, bypass)
        failure = legs[-1].get("failureInfo") or legs[0].get("failureInfo")
        session = self._session(rid, me if outbound else phone, phone if outbound else me, legs, failure)
        organizer = self._party(user) if outbound else self._party(phone=number)
        return self._record(rid, "peerToPeer", start, end, organizer, participants, [session])

    def _queue(self, start: datetime) -> dict:
        """Inbound PSTN -> auto attendant -> call queue -> agent: one session per service identity,
        and Graph repeats the session id for the virtual transfer (the FAQ's example)."""
        number, agent = self._phone(), self.rng.choice(self.users)
        fqdn, failed = self._sbc()
        rid, transfer_id = self._uuid(), self._uuid()
        if not failed and not self.transfer_named:
            rid, self.transfer_named = self.transfer_id, True
        phone = self.phone_endpoint(number)
        t1 = start + timedelta(seconds=self.rng.randint(10, 40))
        t2 = t1 + timedelta(seconds=self.rng.randint(5, 120))
        end = t2 + timedelta(seconds=self.rng.randint(60, 900))
        aa = self.resource_endpoint(self.aa_account, AUTO_ATTENDANT)
        cq = self.resource_endpoint(self.cq_account, CALL_QUEUE)
        sessions = [self._session(transfer_id, phone, aa, self._pstn_legs(None, fqdn, False, start, t1, transfer_id,
                                                                           failed, False, far_end=aa))]
        if not failed:
            sessions.append(self._session(transfer_id, phone, cq,
                                          self._pstn_legs(None, fqdn, False, t1, t2, transfer_id, False, False,
                                                          far_end=cq)))
            agent_sid = self._uuid()
            sessions.append(self._session(agent_sid, phone, self.client_endpoint(agent),
                                          self._pstn_legs(agent, fqdn, False, t2, end, agent_sid, False, False)))
        else:
            sessions[0]["failureInfo"] = sessions[0]["segments"][0]["failureInfo"]
            end = t1
        participants = [self._party(phone=number), {"id": self.aa_account["id"], "identity": {"applicationInstance": {
            **self.aa_account, "tenantId": TENANT_ID}}}]
        if not failed:
            participants.append(self._party(agent))
        return self._record(rid, "groupCall", start, end, self._party(phone=number), participants, sessions)


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def generate(calls: int, seed: int = 1, users: int | None = None, as_of: date | None = None,
             days: int = DAYS) -> Iterator[dict]:
    """``calls`` call records of one synthetic tenant, in Graph's JSON shape, starting in the
    ``days`` days before ``as_of`` (default today, UTC) and ending before it."""
    tenant = Tenant(seed, users or max(12, min(2000, calls // 8)), window_start(as_of, days), days)
    yield from tenant.calls(calls)
