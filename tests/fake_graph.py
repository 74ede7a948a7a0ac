"""A fake Microsoft Graph (and Entra token endpoint) on 127.0.0.1, over HTTPS with a test CA.

Real sockets, real TLS, real HTTP/1.1: callgraph's msal and httpx code talk to it exactly as
to Microsoft, configured only by the documented settings (AZURE_AUTHORITY_HOST,
CALLGRAPH_GRAPH_URL, SSL_CERT_FILE). It serves what the call-records API serves and
misbehaves the ways the reference says Graph does, on request:

- list paging (60 per page, an opaque $skiptoken in @odata.nextLink);
- records with more than 60 sessions: ``sessions@odata.nextLink`` inside the record, and a
  400 if the client adds its own query options to that link (msgraph-sdk-java #1938);
- participants_v2 paged by 130;
- getPstnCalls / getDirectRoutingCalls with unquoted parameters, 406 over 90 days, 1,000 rows a page;
- per-record scripted faults: 429 with Retry-After, 503, dropped connections, 404 at first;
- tokens that stop working after N requests (expired mid-run), a wrong secret, a missing role;
- optional latency and enforced rate limits (429 when exceeded, as Graph counts them).

Every request is logged with its arrival time and buckets, so tests can check what the
client did on the wire, e.g. that it never exceeded a rate.
"""

from __future__ import annotations

import json
import math
import random
import re
import ssl
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
import pytest
import trustme
from cryptography import x509

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
ROLE = "CallRecords.Read.All"
SECRET = "s3cret-value-never-shown-42"  # the tests' client secret: it must never show anywhere
SESSIONS_PAGE, PARTICIPANTS_PAGE, LIST_PAGE, PSTN_PAGE = 60, 130, 60, 1000


# --- test data --------------------------------------------------------------------------------

def user(n: int) -> dict:
    return {"id": f"00000000-0000-0000-0000-{n:012d}", "displayName": f"User {n}", "tenantId": TENANT,
            "userPrincipalName": f"user{n}@contoso.example"}


def record_id(n: int) -> str:
    return str(uuid.UUID(int=0x5EED << 96 | n))


def make_record(n: int, start: datetime, sessions: int = 1, version: int = 1, minutes: int = 5) -> dict:
    """A complete callRecord shaped like the docs' expanded example, between users n%20 and (n+1)%20."""
    end = start + timedelta(minutes=minutes)
    a, b = user(n % 20), user((n + 1) % 20)
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    rid = record_id(n)

    def endpoint(who: dict, platform: str) -> dict:
        return {"@odata.type": "#microsoft.graph.callRecords.participantEndpoint", "name": f"pc-{who['id'][-4:]}",
                "userAgent": {"@odata.type": "#microsoft.graph.callRecords.clientUserAgent",
                              "headerValue": "Teams/1.0", "platform": platform, "productFamily": "teams"},
                "associatedIdentity": who}

    def session(i: int) -> dict:
        s = start + timedelta(seconds=i)
        return {"id": rid, "modalities": ["audio"], "startDateTime": stamp(s), "endDateTime": stamp(end),
                "isTest": False, "caller": endpoint(a, "windows"), "callee": endpoint(b, "macOS"),
                "segments": [{"id": rid, "startDateTime": stamp(s), "endDateTime": stamp(end),
                              "caller": endpoint(a, "windows"), "callee": endpoint(b, "macOS"),
                              "media": [{"label": "main-audio",
                                         "callerNetwork": {"ipAddress": "10.0.0.1", "relayIPAddress": "52.114.188.32"},
                                         "streams": [{"streamId": f"{i}1", "streamDirection": "callerToCallee",
                                                      "averageJitter": "PT0.016S", "averagePacketLossRate": 0.01},
                                                     {"streamId": f"{i}2", "streamDirection": "calleeToCaller",
                                                      "averageJitter": "PT0.041S", "averagePacketLossRate": 0}]}]}]}

    return {"id": rid, "version": version, "type": "groupCall" if sessions > 1 else "peerToPeer",
            "modalities": ["audio"], "lastModifiedDateTime": stamp(end + timedelta(minutes=20 + version)),
            "startDateTime": stamp(start), "endDateTime": stamp(end), "joinWebUrl": None,
            "organizer_v2": {"id": a["id"], "identity": {"user": a}},
            "participants_v2": [{"id": who["id"], "identity": {"user": who}} for who in (a, b)],
            "sessions": [session(i) for i in range(sessions)]}


def make_records(count: int, start: datetime, every: timedelta = timedelta(minutes=3), big: dict | None = None) -> list:
    """``count`` records starting ``every`` apart; ``big`` maps an index to its number of sessions."""
    big = big or {}
    return [make_record(n, start + n * every, sessions=big.get(n, 1)) for n in range(count)]


def pstn_row(n: int, rec: dict | None = None, at: datetime | None = None, who: dict | None = None) -> dict:
    """A getPstnCalls row; with ``rec``, for its organizer a few seconds after it started."""
    who = who or (rec["organizer_v2"]["identity"]["user"] if rec else user(n % 20))
    start = at or (datetime.fromisoformat(rec["startDateTime"].replace("Z", "+00:00")) + timedelta(seconds=5))
    return {"id": str(uuid.UUID(int=0xA << 120 | n)), "callId": f"{n}_1@61.221.3.176", "userId": who["id"],
            "userPrincipalName": who["userPrincipalName"], "userDisplayName": who["displayName"],
            "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "endDateTime": (start + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "duration": 120, "charge": 0.0, "callType": "user_out", "currency": "USD",
            "calleeNumber": "+15550100", "callerNumber": "+15550199", "destinationContext": "Domestic",
            "licenseCapability": "MCOPSTNU", "operator": "Microsoft", "callDurationSource": "microsoft"}


def direct_routing_row(n: int, at: datetime, who: dict, fqdn: str = "sbc1.contoso.example", row_id: str | None = None) -> dict:
    return {"id": row_id or str(uuid.UUID(int=0xB << 120 | n)), "correlationId": str(uuid.UUID(int=0xC << 120 | n)),
            "userId": who["id"], "userPrincipalName": who["userPrincipalName"], "userDisplayName": who["displayName"],
            "startDateTime": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "inviteDateTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "failureDateTime": "0001-01-01T00:00:00Z",
            "endDateTime": (at + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ"), "duration": 30,
            "callType": "ByotIn", "successfulCall": True, "callerNumber": "+12345678***", "calleeNumber": "+01234567***",
            "mediaPathLocation": "USWE", "signalingLocation": "EUNO", "finalSipCode": 0, "callEndSubReason": 540000,
            "finalSipCodePhrase": "BYE", "trunkFullyQualifiedDomainName": fqdn, "mediaBypassEnabled": False}


# --- the service ------------------------------------------------------------------------------

@dataclass
class Hit:
    at: float  # time.monotonic() on arrival
    method: str
    path: str
    query: str
    buckets: tuple
    status: int = 0
    prefer: str = ""


@dataclass
class FakeGraph:
    """Configure, start(), point callgraph at ``env()``, stop()."""

    records: list = field(default_factory=list)
    pstn: list = field(default_factory=list)
    direct_routing: list = field(default_factory=list)
    secret: str | None = None
    certificate_pem: bytes | None = None  # the client certificate whose key signs assertions
    roles: tuple = (ROLE,)
    token_uses: int | None = None  # a token stops working after this many Graph requests (expiry mid-run)
    expires_in: int = 3600
    latency: float = 0.0  # seconds added to every Graph answer (uniform +-50 %)
    limits: dict = field(default_factory=dict)  # enforced: bucket kind -> (requests, seconds)
    retry_after: str = "0.2"  # Retry-After of scripted and enforced 429s
    faults: dict = field(default_factory=dict)  # record id -> ["429", "503", "drop", "404", ...] for its GETs
    list_faults: list = field(default_factory=list)  # the same for list pages, in order
    # a token endpoint that echoes the request (secret included) in its refusals: "json" in the
    # error_description (and error) of its JSON answer, "text" as a plain-text body
    echo_request: str | None = None

    def __post_init__(self):
        self.by_id = {r["id"]: r for r in self.records}
        self.hits: list[Hit] = []
        self.token_requests: list[dict] = []
        self.tokens: dict[str, int] = {}  # token -> uses left (or -1: unlimited)
        self._lock = threading.Lock()
        self._windows: dict = defaultdict(deque)
        self._key = uuid.uuid4().hex
        self.ca = trustme.CA()
        self._server: ThreadingHTTPServer | None = None

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> "FakeGraph":
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        fake = self

        class Handler(_Handler):
            graph = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                  do_handshake_on_connect=False)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> "FakeGraph":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def root(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def write_ca(self, path) -> str:
        self.ca.cert_pem.write_to_path(str(path))
        return str(path)

    def env(self, ca_file: str) -> dict:
        """The settings a user would give to point callgraph here (secret or certificate added by the test)."""
        return {"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT, "AZURE_AUTHORITY_HOST": self.root,
                "CALLGRAPH_GRAPH_URL": f"{self.root}/v1.0", "SSL_CERT_FILE": ca_file}

    # what happened -----------------------------------------------------------------------------

    def api_hits(self, prefix: str = "") -> list[Hit]:
        return [h for h in self.hits if h.path.startswith("/v1.0" + prefix)]

    def max_in_window(self, kind: str, seconds: float) -> int:
        """The most requests of a bucket kind that arrived within any ``seconds``-long window."""
        times_by_bucket = defaultdict(list)
        for h in self.api_hits():
            for b in h.buckets:
                if b[0] == kind:
                    times_by_bucket[b].append(h.at)
        most = 0
        for times in times_by_bucket.values():
            times.sort()
            j = 0
            for i, t in enumerate(times):
                while t - times[j] >= seconds:
                    j += 1
                most = max(most, i - j + 1)
        return most

    # the handlers' logic --------------------------------------------------------------------------

    def issue_token(self, form: dict) -> tuple[int, dict]:
        self.token_requests.append({k: v for k, v in form.items()})
        if form.get("client_id") != CLIENT:
            return 400, {"error": "unauthorized_client", "error_description": f"AADSTS700016: Application with "
                         f"identifier '{form.get('client_id')}' was not found in the directory."}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if "client_assertion" in form:
            if not self._assertion_ok(form["client_assertion"]):
                return 401, {"error": "invalid_client", "error_description": "AADSTS700027: Client assertion "
                             "contains an invalid signature."}
        elif self.secret is None or form.get("client_secret") != self.secret:
            return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret "
                         "provided. Ensure the secret being sent in the request is the client secret value."}
        now = int(time.time())
        token = jwt.encode({"aud": "https://graph.microsoft.com", "iss": f"{self.root}/{TENANT}/", "tid": TENANT,
                            "appid": CLIENT, "roles": list(self.roles), "iat": now, "exp": now + self.expires_in,
                            "jti": uuid.uuid4().hex}, self._key, algorithm="HS256")
        with self._lock:
            self.tokens[token] = self.token_uses if self.token_uses is not None else -1
        return 200, {"token_type": "Bearer", "expires_in": self.expires_in, "ext_expires_in": self.expires_in,
                     "access_token": token}

    def _assertion_ok(self, assertion: str) -> bool:
        if not self.certificate_pem:
            return False
        key = x509.load_pem_x509_certificate(self.certificate_pem).public_key()
        try:
            jwt.decode(assertion, key, algorithms=["RS256", "PS256"],
                       audience=f"{self.root}/{TENANT}/oauth2/v2.0/token")
            return True
        except jwt.PyJWTError:
            return False

    def authorize(self, header: str) -> bool:
        token = header[7:] if header.startswith("Bearer ") else ""
        with self._lock:
            left = self.tokens.get(token)
            if left is None or left == 0:
                return False
            if left > 0:
                self.tokens[token] = left - 1
            return True

    def throttled(self, buckets: tuple) -> float | None:
        """Seconds until a slot frees when a bucket is over its enforced limit (the request still counts)."""
        now = time.monotonic()
        wait = None
        with self._lock:
            for bucket in buckets:
                if bucket[0] not in self.limits:
                    continue
                limit, window = self.limits[bucket[0]]
                times = self._windows[bucket]
                while times and times[0] <= now - window:
                    times.popleft()
                if len(times) >= limit:
                    wait = max(wait or 0.0, times[0] + window - now)
                times.append(now)
        return wait

    def fault(self, key) -> str | None:
        with self._lock:
            queue = self.list_faults if key == "list" else self.faults.get(key)
            return queue.pop(0) if queue else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    graph: FakeGraph

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
        data = json.dumps(body if body is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        self._send(status, {"error": {"code": code, "message": message}}, headers)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        if self.path.split("?")[0] == f"/{TENANT}/oauth2/v2.0/token":
            status, answer = self.graph.issue_token(form)
            if status != 200 and self.graph.echo_request == "json":  # an error callgraph has no words for
                answer = {"error": f"invalid_request for {body}", "error_codes": [900144],
                          "error_description": f"AADSTS900144: The request is odd; client_secret="
                                              f"{form.get('client_secret')}. The request was: {body}\r\n"
                                              f"Trace ID: 0000 {form.get('client_secret')}"}
            if status != 200 and self.graph.echo_request == "text":
                data = f"Bad request. You sent: {body}; client_secret={form.get('client_secret')}".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self._send(status, answer)
        else:
            self._error(404, "NotFound", "no such endpoint")

    def do_GET(self) -> None:
        g = self.graph
        url = urlsplit(self.path)
        path = unquote(url.path)
        if path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            base = f"{g.root}/{TENANT}"
            return self._send(200, {"token_endpoint": f"{base}/oauth2/v2.0/token", "issuer": f"{base}/v2.0",
                                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize"})
        if path.endswith("/.well-known/openid-configuration"):
            return self._send(400, {"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."})
        if not path.startswith("/v1.0/communications/callRecords"):
            return self._error(404, "NotFound", "no such endpoint")
        query = parse_qs(url.query, keep_blank_values=True)
        route = path[len("/v1.0/communications/callRecords"):]
        buckets = _buckets(route)
        hit = Hit(time.monotonic(), "GET", path, url.query, buckets, prefer=self.headers.get("Prefer", ""))
        with g._lock:
            g.hits.append(hit)
        if g.latency:
            time.sleep(random.uniform(0.5, 1.5) * g.latency)
        status = self._answer(g, route, query, buckets, hit)
        hit.status = status

    def _answer(self, g: FakeGraph, route: str, query: dict, buckets: tuple, hit: Hit) -> int:
        if not g.authorize(self.headers.get("Authorization", "")):
            self._error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.",
                        {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return 401
        if "include-unknown-enum-members" not in hit.prefer:
            self._error(400, "BadRequest", "test service: send Prefer: include-unknown-enum-members")
            return 400
        wait = g.throttled(buckets)
        if wait is not None:
            self._error(429, "TooManyRequests", "Too many requests",
                        {"Retry-After": str(max(1, math.ceil(wait))) if g.retry_after == "ceil" else g.retry_after})
            return 429
        fault = g.fault(buckets[1][1] if buckets[1][0] == "record" else "list" if buckets[1][0] == "list" else None)
        if fault == "429":
            self._error(429, "TooManyRequests", "Too many requests", {"Retry-After": g.retry_after})
            return 429
        if fault == "503":
            self._error(503, "ServiceUnavailable", "try later")
            return 503
        if fault == "drop":
            self.close_connection = True
            return 0
        if fault == "404":
            self._error(404, "NotFound", "Could not find the requested call record.")
            return 404
        m = re.fullmatch(r"/(get(?:PstnCalls|DirectRoutingCalls))\((.*)\)", route)
        if m:
            return self._pstn(g, m.group(1), m.group(2), query)
        if route == "":
            return self._list(g, query)
        m = re.fullmatch(r"/([^/]+)(/sessions|/participants_v2)?", route)
        record = g.by_id.get(m.group(1)) if m else None
        if record is None:
            self._error(404, "NotFound", "Could not find the requested call record.")
            return 404
        if m.group(2) == "/sessions":
            return self._sessions(record, query)
        if m.group(2) == "/participants_v2":
            return self._participants(g, record, query)
        return self._record(g, record, query)

    def _list(self, g: FakeGraph, query: dict) -> int:
        f = (query.get("$filter") or [""])[0]
        m = re.fullmatch(r"startDateTime ge (\S+) and startDateTime lt (\S+)", f)
        if not m:
            self._error(400, "BadRequest", f"test service: unexpected $filter {f!r}")
            return 400
        since, until = (_parse(m.group(1)), _parse(m.group(2)))
        chosen = [r for r in g.records if since <= _parse(r["startDateTime"]) < until]
        skip = int((query.get("$skiptoken") or ["0"])[0] or 0)
        page = [{k: v for k, v in r.items() if k not in ("sessions", "participants_v2")}
                for r in chosen[skip:skip + LIST_PAGE]]
        body = {"@odata.context": f"{g.root}/v1.0/$metadata#communications/callRecords", "value": page}
        if skip + LIST_PAGE < len(chosen):
            body["@odata.nextLink"] = (f"{g.root}/v1.0/communications/callRecords?$filter={f.replace(' ', '%20')}"
                                       f"&$skiptoken={skip + LIST_PAGE}")
        self._send(200, body)
        return 200

    def _record(self, g: FakeGraph, record: dict, query: dict) -> int:
        if query.get("$expand") != ["sessions($expand=segments)"]:
            self._error(400, "BadRequest", f"test service: expected $expand=sessions($expand=segments), got {query}")
            return 400
        body = {k: v for k, v in record.items() if k not in ("sessions", "participants_v2")}
        body["sessions"] = record["sessions"][:SESSIONS_PAGE]
        if len(record["sessions"]) > SESSIONS_PAGE:
            body["sessions@odata.nextLink"] = (f"{g.root}/v1.0/communications/callRecords/{record['id']}/sessions"
                                               f"?$expand=segments&$skiptoken={SESSIONS_PAGE}")
        self._send(200, body)
        return 200

    def _sessions(self, record: dict, query: dict) -> int:
        if query.get("$expand") != ["segments"] or set(query) != {"$expand", "$skiptoken"}:
            self._error(400, "BadRequest", "Parsing OData Select and Expand failed: the next link was changed")
            return 400
        skip = int(query["$skiptoken"][0])
        body = {"value": record["sessions"][skip:skip + SESSIONS_PAGE]}
        if skip + SESSIONS_PAGE < len(record["sessions"]):
            body["@odata.nextLink"] = (f"{self.graph.root}/v1.0/communications/callRecords/{record['id']}/sessions"
                                       f"?$expand=segments&$skiptoken={skip + SESSIONS_PAGE}")
        self._send(200, body)
        return 200

    def _participants(self, g: FakeGraph, record: dict, query: dict) -> int:
        skip = int((query.get("$skiptoken") or ["0"])[0])
        everyone = record.get("participants_v2", [])
        body = {"value": everyone[skip:skip + PARTICIPANTS_PAGE]}
        if skip + PARTICIPANTS_PAGE < len(everyone):
            body["@odata.nextLink"] = (f"{g.root}/v1.0/communications/callRecords/{record['id']}/participants_v2"
                                       f"?$skiptoken={skip + PARTICIPANTS_PAGE}")
        self._send(200, body)
        return 200

    def _pstn(self, g: FakeGraph, function: str, args: str, query: dict) -> int:
        m = re.fullmatch(r"fromDateTime=([^,'\"]+),toDateTime=([^,'\"]+)", args)
        if not m:
            self._error(400, "BadRequest", f"Expression expected at position 13 in '{args}'")
            return 400
        since, until = _parse(m.group(1)), _parse(m.group(2))
        if until - since > timedelta(days=90):
            self._error(406, "NotAcceptable", "the range may not exceed 90 days")
            return 406
        rows = g.pstn if function == "getPstnCalls" else g.direct_routing
        inclusive = function == "getPstnCalls"  # getDirectRoutingCalls: toDateTime is exclusive
        chosen = [r for r in rows if since <= _parse(r["startDateTime"]) and
                  (_parse(r["startDateTime"]) <= until if inclusive else _parse(r["startDateTime"]) < until)]
        skip = int((query.get("$skip") or ["0"])[0])
        body = {"@odata.count": len(chosen[skip:skip + PSTN_PAGE]), "value": chosen[skip:skip + PSTN_PAGE]}
        if skip + PSTN_PAGE < len(chosen):
            body["@odata.nextLink"] = f"{g.root}/v1.0/communications/callRecords/{function}({args})?$skip={skip + PSTN_PAGE}"
        self._send(200, body)
        return 200


def _buckets(route: str) -> tuple:
    """Graph's throttling buckets for a request (reference section 9)."""
    if route.startswith("/get"):
        return (("tenant",), ("pstn",))
    if route == "":
        return (("tenant",), ("list",))
    return (("tenant",), ("record", route.split("/")[1]))


def _parse(text: str) -> datetime:
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def client_certificate(ca: trustme.CA, tmp_path) -> tuple[str, bytes]:
    """A client certificate for certificate sign-in: (PEM file with key and cert, the cert PEM)."""
    leaf = ca.issue_cert("callgraph-test-app", key_type=trustme.KeyType.RSA)  # Entra takes RSA keys
    key_pem = leaf.private_key_pem.bytes()
    cert_pem = leaf.cert_chain_pems[0].bytes()
    path = tmp_path / "app.pem"
    path.write_bytes(key_pem + cert_pem)
    return str(path), cert_pem


def pfx_certificate(ca: trustme.CA, tmp_path, password: str) -> tuple[str, bytes]:
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, load_pem_private_key, pkcs12

    leaf = ca.issue_cert("callgraph-test-app", key_type=trustme.KeyType.RSA)
    key = load_pem_private_key(leaf.private_key_pem.bytes(), None)
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    path = tmp_path / "app.pfx"
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"app", key, cert, None,
                                                           BestAvailableEncryption(password.encode())))
    return str(path), leaf.cert_chain_pems[0].bytes()




@pytest.fixture
def graph_service(tmp_path, monkeypatch):
    """Start a fake Graph and set the variables a user would set to reach it."""
    started = []

    def start(**config) -> FakeGraph:
        config.setdefault("secret", SECRET)
        fake = FakeGraph(**config).start()
        started.append(fake)
        for name in ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PASSWORD",
                     "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.delenv(name, raising=False)
        for name, value in fake.env(fake.write_ca(tmp_path / "test-ca.pem")).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AZURE_CLIENT_SECRET", SECRET)
        return fake

    yield start
    for fake in started:
        fake.stop()


