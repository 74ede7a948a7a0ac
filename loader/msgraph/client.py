"""Talking to Microsoft Graph: app-only tokens (msal), one httpx client, rate limits, retries.

Everything that decides how a request is sent lives here, so the orchestration in
:mod:`loader.msgraph.fetch` only says *what* to get. The rules come from the reference
(graph-callrecords-api.md section 9, lessons section 8):

- every request passes a client-side rate limiter first, so callgraph stays under Graph's
  documented limits instead of learning them from 429s (requests made while throttled
  still count against the limit);
- 429 waits ``Retry-After`` (and pauses every worker, since the limit is shared); 503/504,
  dropped connections and timeouts back off exponentially with jitter; attempts are
  bounded, then the caller gets :class:`RequestFailed` naming the URL, never hanging;
- a 401 drops the cached token and retries once with a new one;
- next links are followed exactly as Graph returns them;
- secrets and tokens never reach a message: errors are built from status codes and
  Entra's AADSTS codes, not from echoed request data.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import ssl
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import quote, quote_plus, urlsplit

import httpx

from ..errors import GraphError

PERMISSION = "CallRecords.Read.All"

# --cloud: (authority host, Graph base). Call records exist in the global cloud and US Gov
# L4/L5 only (reference section 3), so only those are offered.
CLOUDS = {
    "global": ("https://login.microsoftonline.com", "https://graph.microsoft.com/v1.0"),
    "usgov": ("https://login.microsoftonline.us", "https://graph.microsoft.us/v1.0"),
    "dod": ("https://login.microsoftonline.us", "https://dod-graph.microsoft.us/v1.0"),
}

# Graph's documented limits (reference section 9): (requests, seconds) per bucket kind.
# "tenant" applies to every call-records request of this app in this tenant, "list" to
# the List callRecords pages, "record" to each call record, "pstn" to the log functions.
DEFAULT_LIMITS = {"tenant": (1500, 20.0), "list": (40, 20.0), "record": (40, 20.0), "pstn": (200, 60.0)}


class NotFound(Exception):
    """Graph answered 404 for this URL."""


class RequestFailed(GraphError):
    """A request still failed after the allowed attempts; the message says how."""


# --- settings ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """Where to authenticate and what to call. Secrets are excluded from repr."""

    tenant_id: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    certificate_path: str | None = None
    certificate_password: str | None = field(default=None, repr=False)
    authority_host: str = CLOUDS["global"][0]
    graph_url: str = CLOUDS["global"][1]

    @property
    def graph_root(self) -> str:
        """https://host[:port] of the Graph base, for the token scope."""
        parts = urlsplit(self.graph_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.client_secret, self.certificate_password) if s)


def ca_bundle() -> str | None:
    """The CA bundle the user points at (SSL_CERT_FILE, else REQUESTS_CA_BUNDLE), if any.

    Both msal (requests) and httpx get the same file, so one variable lets a service with
    its own CA (a proxy, a test server) stand in for Microsoft's without ever turning
    verification off.
    """
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if os.environ.get(name):
            if not os.path.isfile(os.environ[name]):
                raise GraphError(f"{name} names {os.environ[name]}, which is no file: point it at a file of CA "
                                 "certificates (PEM), or unset it to trust the usual ones")
            return os.environ[name]
    return None


def tls_context() -> ssl.SSLContext:
    """Verification always on: the system's defaults, or the CA bundle the user points at."""
    cafile = ca_bundle()
    if cafile:
        try:
            return ssl.create_default_context(cafile=cafile)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise GraphError(f"cannot use the CA bundle {cafile} ({exc.__class__.__name__}: {str(exc)[:100]}): point "
                             "SSL_CERT_FILE at a file of PEM certificates") from None
    import certifi  # httpx's own default

    return ssl.create_default_context(cafile=certifi.where())


# --- rate limiting -------------------------------------------------------------------------

class RateLimiter:
    """Sliding-window limits per bucket, shared by all worker threads.

    A request names its buckets (``("tenant",)``, ``("record", id)``, ...); it starts only
    when, in every one of them, fewer than N requests started in the last window. A small
    margin on the window absorbs the jitter between our clock and the server's arrival
    times, so the server never counts more than N in any window.
    """

    MARGIN, SLACK = 0.01, 0.05  # the window is stretched by 1 % plus 50 ms

    def __init__(self, limits: dict[str, tuple[int, float]] | None = None):
        self.limits = dict(DEFAULT_LIMITS, **(limits or {}))
        self._starts: dict[tuple, deque] = {}
        self._paused_until = 0.0
        self._cond = threading.Condition()

    def _window(self, kind: str) -> float:
        return self.limits[kind][1] * (1 + self.MARGIN) + self.SLACK

    def acquire(self, buckets: list[tuple]) -> float:
        """Block until a request may start in all ``buckets``; returns the seconds waited."""
        began = time.monotonic()
        with self._cond:
            while True:
                now = time.monotonic()
                wait = self._paused_until - now
                for bucket in buckets:
                    limit, _ = self.limits[bucket[0]]
                    starts = self._starts.setdefault(bucket, deque())
                    window = self._window(bucket[0])
                    while starts and starts[0] <= now - window:
                        starts.popleft()
                    if len(starts) >= limit:
                        wait = max(wait, starts[0] + window - now)
                if wait <= 0:
                    for bucket in buckets:
                        self._starts[bucket].append(now)
                    self._forget_idle(now)
                    return now - began
                self._cond.wait(wait)

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` (a 429 applies to all of this app's requests)."""
        with self._cond:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _forget_idle(self, now: float) -> None:
        """Per-record buckets come and go; drop the empty ones so memory stays flat."""
        if len(self._starts) > 1000:
            for bucket in [b for b, s in self._starts.items()
                           if not s or s[-1] <= now - self._window(b[0])]:
                del self._starts[bucket]


def parse_limit(text: str) -> tuple[str, tuple[int, float]]:
    """``list=40/20`` -> ("list", (40, 20.0)); for the --rate-limit option."""
    m = re.fullmatch(r"\s*(\w+)\s*=\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*", text)
    if not m or m.group(1) not in DEFAULT_LIMITS or int(m.group(2)) < 1 or float(m.group(3)) <= 0:
        raise ValueError(f"expected NAME=REQUESTS/SECONDS with NAME one of {', '.join(DEFAULT_LIMITS)}, "
                         f"e.g. list=40/20; got {text!r}")
    return m.group(1), (int(m.group(2)), float(m.group(3)))


# --- retries -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # per request, the first one included
    backoff: float = 1.0  # seconds before the second attempt; doubles, with full jitter
    max_backoff: float = 60.0
    timeout: float = 60.0  # per request (connect, read, write, pool)

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter for the ``attempt``-th retry (1-based)."""
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


# --- tokens --------------------------------------------------------------------------------

class Tokens:
    """App-only tokens from msal, cached by msal and renewed before expiry.

    msal keeps the token in its cache and asks Entra for a new one when less than five
    minutes remain (or at its ``refresh_in``). :meth:`drop` removes it, for the one retry
    after a 401 (a token revoked or expired early on the service side).
    """

    def __init__(self, settings: Settings, http: "SignInHttp"):
        self.settings = settings
        # msal's own requests session would let REQUESTS_CA_BUNDLE override its `verify`; an httpx
        # client with the same explicit TLS context as Graph's keeps one CA setting for both.
        self.http = http
        self._lock = threading.Lock()
        import msal  # here, not at the top: `callgraph load` never signs in, and msal takes 70 ms to import

        self._app: msal.ConfidentialClientApplication | None = None
        self.cache = msal.TokenCache()
        self.checked_roles = False

    def _credential(self):
        s = self.settings
        if s.certificate_path:
            return certificate_credential(s.certificate_path, s.certificate_password)
        if s.client_secret:
            return s.client_secret
        raise GraphError("no credential: set AZURE_CLIENT_SECRET, or AZURE_CLIENT_CERTIFICATE_PATH for a certificate")

    def _client_app(self) -> msal.ConfidentialClientApplication:
        import msal

        if self._app is None:
            s = self.settings
            authority = f"{s.authority_host.rstrip('/')}/{s.tenant_id}"
            try:
                self._app = msal.ConfidentialClientApplication(
                    s.client_id, client_credential=self._credential(), authority=authority,
                    token_cache=self.cache, http_client=self.http,
                    # the authority is given, not discovered: no lookup at login.microsoftonline.com
                    instance_discovery=False)
            except GraphError:
                raise
            except ValueError as exc:
                if s.certificate_path and _certificate_unreadable(exc):
                    raise GraphError(f"cannot read the certificate {s.certificate_path}: the password is wrong "
                                     "(AZURE_CLIENT_CERTIFICATE_PASSWORD), or the file holds no private key") from None
                raise GraphError(_authority_problem(authority, exc)) from None
            except Exception as exc:  # connection and TLS errors
                raise GraphError(f"cannot reach the sign-in service at {authority}: {_no_secrets(str(exc), s)}") from None
        return self._app

    def get(self) -> str:
        with self._lock:
            app = self._client_app()
            try:
                result = app.acquire_token_for_client(scopes=[f"{self.settings.graph_root}/.default"])
            except ValueError:  # msal reads the answer as JSON
                raise GraphError(f"cannot get a token from {self.settings.authority_host}: its answer is not a sign-in "
                                 "service's (not JSON): check --authority-host (or AZURE_AUTHORITY_HOST) and any proxy "
                                 "in between") from None
            except Exception as exc:
                raise GraphError(f"cannot get a token from {self.settings.authority_host}: "
                                 f"{_no_secrets(type(exc).__name__ + ': ' + str(exc), self.settings)}") from None
            if "access_token" not in result:
                raise GraphError(token_problem(result, self.settings))
            token = result["access_token"]
            if not self.checked_roles:
                check_roles(token)
                self.checked_roles = True
            return token

    def drop(self, token: str) -> None:
        """Forget ``token`` so the next :meth:`get` fetches a fresh one."""
        import msal

        with self._lock:
            for item in list(self.cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                if item.get("secret") == token:
                    self.cache.remove_at(item)


class SignInHttp:
    """msal's ``http_client`` (its documented hook: requests-like ``get``/``post``) over httpx.

    msal's default requests session lets REQUESTS_CA_BUNDLE override its ``verify``; this keeps
    one explicit TLS context for sign-in and Graph. Form values msal passes as bytes (a signed
    client assertion) are decoded, as requests would; httpx would send their repr.
    """

    def __init__(self, client: httpx.Client):
        self.client = client

    def get(self, url, params=None, headers=None, **_requests_options):
        return self.client.get(url, params=params, headers=headers)

    def post(self, url, params=None, data=None, headers=None, **_requests_options):
        if isinstance(data, dict):
            data = {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items()}
            return self.client.post(url, params=params, data=data, headers=headers)
        return self.client.post(url, params=params, content=data, headers=headers)

    def close(self) -> None:
        self.client.close()


def certificate_credential(path: str, password: str | None) -> dict:
    """msal's credential for a PFX/PKCS#12 file, or a PEM holding the key and the certificate."""
    if not os.path.isfile(path):
        raise GraphError(f"AZURE_CLIENT_CERTIFICATE_PATH: no such file {path}")
    if path.lower().endswith((".pfx", ".p12")):
        credential = {"private_key_pfx_path": path}
    else:
        with open(path) as f:
            pem = f.read()
        key = re.search(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----.+?-----END (?:[A-Z]+ )?PRIVATE KEY-----", pem, re.S)
        cert = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)
        if not key or not cert:
            raise GraphError(f"{path}: expected a PEM file with the private key and the certificate, "
                             "or a .pfx/.p12 file")
        credential = {"private_key": key.group(0), "public_certificate": cert.group(0)}
    if password:
        credential["passphrase"] = password
    return credential


def _certificate_unreadable(exc: Exception) -> bool:
    """msal's (cryptography's) error for a key it could not decrypt or find."""
    text = str(exc).lower()
    return any(word in text for word in ("password", "pkcs12", "deserialize", "private key", "decrypt", "pem"))


def _authority_problem(authority: str, exc: Exception) -> str:
    text = str(exc)
    if "OIDC Discovery failed" in text or "Unable to get authority configuration" in text:
        return (f"the sign-in service does not know tenant {authority.rsplit('/', 1)[-1]!r} at {authority}: "
                "check AZURE_TENANT_ID (and --cloud or AZURE_AUTHORITY_HOST)")
    if not authority.lower().startswith("https://"):
        return (f"bad authority {authority}: the sign-in service is reached over https; give --authority-host "
                "(or AZURE_AUTHORITY_HOST) as https://host")
    return f"bad authority {authority}: {text.splitlines()[0][:200]}"


def token_problem(result: dict, settings: Settings) -> str:
    """One line from an msal error result, saying what to change in the app registration."""
    error = result.get("error", "")
    codes = set(re.findall(r"AADSTS(\d+)", result.get("error_description", "")))
    app = f"app {settings.client_id} in tenant {settings.tenant_id}"
    if codes & {"7000215", "7000222"} or error == "invalid_client" and settings.client_secret and not settings.certificate_path:
        return (f"Microsoft Entra ID refused the client secret of {app} (invalid or expired): create a new secret "
                "under Certificates & secrets in the app registration and set AZURE_CLIENT_SECRET")
    if codes & {"700027", "700024", "7000274"} or error == "invalid_client":
        return (f"Microsoft Entra ID refused the certificate of {app}: upload its public certificate under "
                "Certificates & secrets in the app registration, or check AZURE_CLIENT_CERTIFICATE_PATH")
    if codes & {"700016"} or error == "unauthorized_client":
        return (f"Microsoft Entra ID does not know {app}: check AZURE_CLIENT_ID and AZURE_TENANT_ID, and that the "
                "app registration exists in that tenant")
    if codes & {"90002", "900023"} or error == "invalid_tenant":
        return f"Microsoft Entra ID does not know tenant {settings.tenant_id!r}: check AZURE_TENANT_ID"
    if codes & {"7000112"}:
        return f"{app} is disabled in Microsoft Entra ID: enable it"
    if error == "invalid_scope" or codes & {"1002012", "70011"}:
        return (f"Microsoft Entra ID refused the scope {settings.graph_root}/.default for {app}: check --cloud "
                "or --graph-url")
    # Anything else: the error code and the description's first sentence, never more. A sign-in
    # service (or a proxy in its place) may echo the request, client secret included, after it.
    word = re.match(r"[A-Za-z_]{1,60}", error)
    said = re.match(r"[^\r\n]*?(\.(\s|$)|$)", result.get("error_description") or "")
    sentence = _no_secrets(said.group(0).strip()[:200], settings) if said else ""
    return (f"Microsoft Entra ID refused a token for {app}: {word.group(0) if word else 'no token'}"
            + (f": {sentence}" if sentence else ""))


# a form member that carries a credential, as an echoed request would show it
_CREDENTIAL_MEMBER = re.compile(r"(client_secret|client_assertion|password|passphrase|assertion)=[^&\s]*", re.I)


def _no_secrets(text: str, settings: Settings) -> str:
    """``text``'s first line without the settings' secrets, as written, URL-encoded or JSON-escaped,
    and without any credential member of a form."""
    for secret in settings.secrets:
        for form in {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}:
            text = text.replace(form, "***")
    text = _CREDENTIAL_MEMBER.sub(r"\1=***", text)
    return text.splitlines()[0][:300] if text else text


def check_roles(token: str) -> None:
    """Fail fast, before any Graph call, when the token lacks CallRecords.Read.All.

    An app-only token is a JWT whose ``roles`` claim lists the admin-consented application
    permissions. Tokens that are not JWTs (some proxies) are left to Graph's 403.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return
    roles = claims.get("roles") if isinstance(claims, dict) else None
    if isinstance(roles, list) and PERMISSION not in roles:
        raise GraphError(missing_permission())


def missing_permission() -> str:
    return (f"the app has no {PERMISSION} permission: in the app registration add the Microsoft Graph "
            f"application permission {PERMISSION} (API permissions) and grant admin consent")


# --- the client ----------------------------------------------------------------------------

@dataclass
class Stats:
    """What happened on the wire, for the summary (thread-safe counters)."""

    counts: Counter = field(default_factory=Counter)  # requests, throttled, retried, token_refreshes
    waited: float = 0.0  # seconds spent waiting for the rate limiter
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n

    def add_wait(self, seconds: float) -> None:
        with self._lock:
            self.waited += seconds


class GraphClient:
    """GET JSON from Graph under the rate limits, with retries; thread-safe."""

    def __init__(self, settings: Settings, limiter: RateLimiter | None = None,
                 retry: RetryPolicy | None = None, max_connections: int = 16):
        self.settings = settings
        self.base = settings.graph_url.rstrip("/")
        self.limiter = limiter or RateLimiter()
        self.retry = retry or RetryPolicy()
        self.stats = Stats()
        self.http = httpx.Client(
            verify=tls_context(),
            timeout=self.retry.timeout,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"Prefer": "include-unknown-enum-members", "Accept": "application/json",
                     "User-Agent": "callgraph"},
            follow_redirects=False)
        self.sign_in_http = SignInHttp(httpx.Client(verify=tls_context(), timeout=self.retry.timeout))
        self.tokens = Tokens(settings, self.sign_in_http)

    def close(self) -> None:
        self.http.close()
        self.sign_in_http.close()

    def __enter__(self) -> "GraphClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def url(self, path: str) -> str:
        return self.base + path

    def get(self, url: str, buckets: list[tuple], params: dict | None = None) -> dict:
        """The JSON body of a GET; ``url`` is absolute (a next link is used exactly as given)."""
        buckets = [("tenant",)] + [b for b in buckets if b != ("tenant",)]
        refreshed = False
        failures = 0
        while True:
            token = self.tokens.get()  # first: a token request must not delay a request already counted
            self.stats.add_wait(self.limiter.acquire(buckets))
            self.stats.add("requests")
            try:
                response = self.http.get(url, params=params, headers={"Authorization": f"Bearer {token}"})
            except httpx.TransportError as exc:  # reset, dropped connection, timeout, refused
                failures += 1
                self._give_up_or_wait(failures, url, _transport_reason(exc), None)
                continue
            status = response.status_code
            if status == 200:
                try:
                    return response.json()
                except ValueError:
                    failures += 1
                    self._give_up_or_wait(failures, url, "a body that is not JSON", None)
                    continue
            if status == 401 and not refreshed:
                refreshed = True  # expired or revoked early: one fresh token, then it is an error
                self.tokens.drop(token)
                self.stats.add("token_refreshes")
                continue
            if status == 401:
                raise GraphError(f"Graph refused a fresh token (401) for {_short(url)}: check that the app "
                                 f"registration is in tenant {self.settings.tenant_id} and --graph-url matches --cloud")
            if status == 403:
                raise GraphError(missing_permission() + f" (403 from {_short(url)})")
            if status == 404:
                raise NotFound(url)
            if status == 429:
                self.stats.add("throttled")
                failures += 1
                wait = retry_after(response)
                if wait is not None:
                    self.limiter.pause(wait)
                self._give_up_or_wait(failures, url, "429 Too Many Requests", wait if wait is not None else None,
                                      paused=wait is not None)
                continue
            if status in (500, 502, 503, 504):
                failures += 1
                self._give_up_or_wait(failures, url, f"{status} {response.reason_phrase}", retry_after(response))
                continue
            raise RequestFailed(f"{status} {response.reason_phrase} from {_short(url)}{_graph_error(response)}")

    def _give_up_or_wait(self, failures: int, url: str, reason: str, wait: float | None, paused: bool = False) -> None:
        if failures >= self.retry.attempts:
            raise RequestFailed(f"{reason} from {_short(url)}, {failures} attempts")
        self.stats.add("retried")
        if paused:
            return  # the limiter holds every request (this one included) until Retry-After has passed
        time.sleep(wait if wait is not None else self.retry.delay(failures))

    def pages(self, url: str, buckets: list[tuple], params: dict | None = None):
        """Every page of a collection: the first from ``url`` (+ params), then each @odata.nextLink verbatim."""
        page = self.get(url, buckets, params)
        yield page
        while page.get("@odata.nextLink"):
            page = self.get(page["@odata.nextLink"], buckets)
            yield page


def _transport_reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "a timeout"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "a dropped connection"
    if isinstance(exc, httpx.ConnectError):
        return "a connection failure"
    return f"a network error ({type(exc).__name__})"


def _short(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query[:80] if parts.query else "")


def _graph_error(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return f": {error.get('code', '')} {error.get('message', '')[:200]}".rstrip()
    except (ValueError, AttributeError):
        return ""
