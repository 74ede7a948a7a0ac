"""Every mistake a user can make, and every broken surrounding, ends in one line that says what
to do and the documented exit status (2 usage, 1 failure, 130 Ctrl-C), never a traceback.

Each case runs the installed ``callgraph`` console script as a user would.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, query

CALLGRAPH = str(Path(sys.executable).parent / "callgraph")
NO_RECORDS = ("give files of Graph call records (JSON or JSON Lines, or gzipped), or a directory holding "
              "*.json, *.jsonl or *.ndjson files")

# the one message of loader.times for a time that is none
ONE_TIME_MESSAGE = "expected a time such as 2026-11-01, 2026-11-01T08:00:00Z or an age such as 30s, 15m, 6h, 7d, 2w; got 'yesterdayish'"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**env) -> dict:
    """The user's environment without any Neo4j, Azure or callgraph settings, plus ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "AZURE_", "CALLGRAPH_"))}
    return {**base, **{k: str(v) for k, v in env.items()}}


def callgraph(*args, **env) -> subprocess.CompletedProcess:
    # a database nobody runs unless the case gives one: a case that must not connect proves it
    env = {"NEO4J_URI": f"neo4j://127.0.0.1:{closed_port()}", "NEO4J_PASSWORD": "x", **env}
    return subprocess.run([CALLGRAPH, *map(str, args)], capture_output=True, text=True, env=clean_env(**env),
                          timeout=120)


def assert_one_error(result: subprocess.CompletedProcess, exit_code: int, message: str) -> None:
    """Exactly one line on stderr, ``Error: <message>``, nothing on stdout, the exit status."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert (result.returncode, result.stdout, result.stderr) == (exit_code, "", f"Error: {message}\n")


# --- load: paths -----------------------------------------------------------------------------

def test_a_path_that_does_not_exist_is_a_usage_error_before_connecting(tmp_path):
    missing = tmp_path / "records" / "calls.jsonl"
    assert_one_error(callgraph("load", missing), 2, f"{missing}: no such file or directory")


def _unreadable(path: Path) -> Path:
    path.chmod(0)
    if os.access(path, os.R_OK):
        path.chmod(0o755)
        pytest.skip("running as root: chmod 000 does not stop root from reading, so the case cannot happen")
    return path


def test_an_unreadable_file_is_a_usage_error_naming_it(tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_text("{}\n")
    _unreadable(path)
    try:
        assert_one_error(callgraph("load", path), 2, f"{path}: permission denied: make it readable (chmod) or "
                                                     "leave it out")
    finally:
        path.chmod(0o644)


def test_an_unreadable_directory_is_a_usage_error_naming_it(tmp_path):
    directory = tmp_path / "records"
    directory.mkdir()
    (directory / "calls.jsonl").write_text("{}\n")
    _unreadable(directory)
    try:
        assert_one_error(callgraph("load", directory), 2, f"{directory}: cannot read this directory (Permission "
                                                          "denied): make it readable (chmod) or leave it out")
    finally:
        directory.chmod(0o755)


def test_a_directory_without_call_records_and_an_empty_file_say_no_records_found(neo4j_server, graph, tmp_path):
    directory = tmp_path / "exports"
    directory.mkdir()
    (directory / "notes.txt").write_text("not JSON, not looked at\n")
    empty = tmp_path / "calls.jsonl"
    empty.write_text("")

    assert_one_error(callgraph("load", directory, **neo4j_server.env()), 1,
                     f"no records found in {directory}: {NO_RECORDS}")
    assert_one_error(callgraph("load", empty, **neo4j_server.env()), 1, f"no records found in {empty}: {NO_RECORDS}")
    assert_one_error(callgraph("load", empty, directory, **neo4j_server.env()), 1,
                     f"no records found in {empty}, {directory}: {NO_RECORDS}")
    assert query(graph, "MATCH (c:CallRecord) RETURN count(c) AS n") == [{"n": 0}]


def test_load_documents_its_exit_statuses():
    result = callgraph("load", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert ("Exit status: 0 all loaded, 1 something was rejected, no records were found in PATH... at all, or the "
            "database failed; 2 usage error (a PATH that does not exist or cannot be read, a bad option); 130 "
            "interrupted (Ctrl-C: what was committed stays).") in text


# --- query: names and parameters -------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["query", "shared-relay"],
     "no saved query named 'shared-relay'. Did you mean shared-relays? `callgraph queries` lists them."),
    (["query", "no-such-query"], "no saved query named 'no-such-query'. `callgraph queries` lists them."),
    (["query", "shared-relays", "-p", "limit=abc"], "shared-relays: parameter limit must be an integer, got 'abc'"),
    (["query", "shared-relays", "-p", "since=yesterdayish"],
     "shared-relays: parameter since: " + ONE_TIME_MESSAGE),
    (["query", "shared-relays", "-p", "limit"], "-p 'limit': expected KEY=VALUE, e.g. -p limit=10"),
    (["query", "shared-relays", "-p", "=5"], "-p '=5': expected KEY=VALUE, e.g. -p limit=10"),
    (["query", "shared-relays", "-p", "limit=99999999999999999999"],
     "shared-relays: parameter limit is too large for Neo4j (64-bit integers), got 99999999999999999999"),
    (["query", "shared-relays", "-p", "limits=5"],
     "shared-relays: unknown parameter limits; it takes minCalls (int, default 2), modality (string, default audio), since (datetime, default null), "
     "until (datetime, default null), limit (int, default 100), fresh (bool, default false)"),
])
def test_a_bad_query_name_or_parameter_is_a_usage_error_before_connecting(args, message):
    assert_one_error(callgraph(*args), 2, message)


def test_a_parameter_value_neo4j_refuses_is_a_usage_error(neo4j_server, graph):
    assert_one_error(callgraph("query", "shared-relays", "-p", "limit=-1", **neo4j_server.env()), 2,
                     "shared-relays: Neo4j cannot use these parameter values: LIMIT: Invalid input. '-1' is not a "
                     "valid value. Must be a non-negative integer")


# --- saved query files of the user's own (CALLGRAPH_CYPHER_DIR) ------------------------------

@pytest.fixture
def own_queries(tmp_path) -> Path:
    directory = tmp_path / "my-cypher"
    shutil.copytree(REPO / "cypher", directory)
    return directory


def test_queries_help_documents_the_own_queries_directory():
    result = callgraph("queries", "--help")
    assert result.returncode == 0
    assert "To run your own edited copies, point CALLGRAPH_CYPHER_DIR at a directory of .cypher" in result.stdout


def test_an_edited_query_is_what_runs(neo4j_server, graph, own_queries):
    path = own_queries / "shared-relays.cypher"
    path.write_text(path.read_text().replace("// title: Media relays shared by calls, busiest and worst first",
                                             "// title: My relays"))
    result = callgraph("queries", "--format", "csv", CALLGRAPH_CYPHER_DIR=own_queries)
    assert result.returncode == 0, result.stderr
    assert "shared-relays,network,My relays," in result.stdout


def test_a_cypher_syntax_error_names_the_file_and_line(neo4j_server, graph, own_queries):
    path = own_queries / "shared-relays.cypher"
    lines = path.read_text().splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, start=1) if line.startswith("RETURN "))
    lines[number - 1] = lines[number - 1].replace("RETURN ", "RETRUN ", 1)
    path.write_text("".join(lines))

    result = callgraph("query", "shared-relays", CALLGRAPH_CYPHER_DIR=own_queries, **neo4j_server.env())

    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 2 and result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"Error: {path}:{number}: Neo4j cannot run this saved query: Invalid input "
                                    "'RETRUN': expected ")
    assert result.stderr.endswith(", ... (column 1)\n")


def test_a_header_that_does_not_parse_names_the_file_and_line(own_queries):
    path = own_queries / "shared-relays.cypher"
    lines = path.read_text().splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, start=1) if line.startswith("// param: limit "))
    lines[number - 1] = "// param: limit integer = 100 | most rows to return\n"
    path.write_text("".join(lines))

    for args in (["queries"], ["query", "gateway-health"], ["browser"]):
        assert_one_error(callgraph(*args, CALLGRAPH_CYPHER_DIR=own_queries), 2,
                         f"{path}:{number}: unknown type 'integer'; use one of int, float, string, bool, datetime, "
                         "string[]")


def test_a_missing_or_empty_own_queries_directory(tmp_path):
    assert_one_error(callgraph("queries", CALLGRAPH_CYPHER_DIR=tmp_path / "nope"), 2,
                     f"CALLGRAPH_CYPHER_DIR={tmp_path / 'nope'}: no such directory; point it at your copy of cypher/ "
                     "or unset it for the shipped queries")
    assert_one_error(callgraph("queries", CALLGRAPH_CYPHER_DIR=tmp_path), 2,
                     f"{tmp_path}: no saved queries (*.cypher files) here; point CALLGRAPH_CYPHER_DIR at a copy of "
                     "cypher/, or unset it")


# --- the database: where it is, how it is spoken to, who may use it --------------------------

def test_the_http_address_is_not_a_neo4j_uri(neo4j_server):
    http = os.environ.get("CALLGRAPH_TEST_HTTP_PORT", "17474")
    assert_one_error(callgraph("schema", NEO4J_URI=f"http://127.0.0.1:{http}"), 1,
                     f"bad Neo4j URI 'http://127.0.0.1:{http}' (that is the address of Neo4j Browser and the HTTP "
                     "API; callgraph speaks Bolt, usually on port 7687): use neo4j://host:7687 (or bolt://), or "
                     "neo4j+s:// for a server with TLS such as Aura")
    assert_one_error(callgraph("schema", NEO4J_URI=f"neo4j://127.0.0.1:{http}"), 1,
                     f"neo4j://127.0.0.1:{http} is Neo4j's HTTP port (Browser), not Bolt: point NEO4J_URI at the "
                     "Bolt port, usually 7687")


def test_tls_asked_of_a_server_without_it(neo4j_server):
    address = neo4j_server.uri.split("://", 1)[1]
    assert_one_error(callgraph("schema", **{**neo4j_server.env(), "NEO4J_URI": f"neo4j+s://{address}"}), 1,
                     f"Neo4j at neo4j+s://{address} does not answer TLS: neo4j+s:// asks for an encrypted "
                     "connection; use neo4j:// for a server without TLS (such as a local one), or enable TLS for "
                     "Bolt on the server")


def test_a_server_that_is_down():
    port = closed_port()
    assert_one_error(callgraph("load", REPO / "tests" / "fixtures" / "graph-docs" / "v1.0-get-callrecord.json",
                               NEO4J_URI=f"neo4j://127.0.0.1:{port}"), 1,
                     f"cannot reach Neo4j at neo4j://127.0.0.1:{port}: start it (scripts/neo4j start, or docker "
                     "compose up -d) or point NEO4J_URI at your server")


def test_a_wrong_password_is_never_printed(neo4j_server):
    secret = "wrong-secret-0815"
    for uri in (neo4j_server.uri, neo4j_server.uri.replace("://", f"://neo4j:{secret}@")):
        result = callgraph("query", "shared-relays", **{**neo4j_server.env(), "NEO4J_URI": uri,
                                                        "NEO4J_PASSWORD": secret})
        assert secret not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr and result.returncode == 1 and result.stderr.count("\n") == 1
    assert_one_error(callgraph("schema", **{**neo4j_server.env(), "NEO4J_PASSWORD": ""}), 1,
                     f"Neo4j at {neo4j_server.uri} refused user 'neo4j': check NEO4J_USERNAME and NEO4J_PASSWORD "
                     "(or --username/--password) (no password was given: set NEO4J_PASSWORD)")


# --- output files and Microsoft Graph --------------------------------------------------------

def test_generate_into_a_missing_directory(tmp_path):
    out = tmp_path / "missing" / "calls.jsonl"
    assert_one_error(callgraph("generate", "--calls", 3, "--out", out), 2,
                     f"--out {out}: there is no directory {out.parent}; create it first (mkdir -p {out.parent}) or "
                     "write somewhere else")


SIGN_IN = {"AZURE_TENANT_ID": "contoso", "AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
           "AZURE_CLIENT_SECRET": "not-a-real-secret-4711"}


def test_fetch_into_a_missing_directory_fails_before_signing_in(tmp_path):
    out = tmp_path / "missing" / "calls.jsonl"
    closed = f"https://127.0.0.1:{closed_port()}"
    assert_one_error(callgraph("fetch", "--since", "1d", "--out", out, "--graph-url", closed, "--authority-host",
                               closed, **SIGN_IN), 2,
                     f"--out {out}: there is no directory {out.parent}; create it first (mkdir -p {out.parent}) or "
                     "write somewhere else")


def test_fetch_from_a_sign_in_service_that_is_not_there(tmp_path):
    out = tmp_path / "calls.jsonl"
    closed = f"https://127.0.0.1:{closed_port()}"
    result = callgraph("fetch", "--since", "1d", "--out", out, "--graph-url", closed, "--authority-host", closed,
                       "--max-attempts", 1, **SIGN_IN)
    assert "Traceback" not in result.stdout + result.stderr and SIGN_IN["AZURE_CLIENT_SECRET"] not in result.stderr
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"Error: cannot reach the sign-in service at {closed}/contoso: ")
    assert list(tmp_path.iterdir()) == []  # no file that looks whole, no .partial left behind

    assert_one_error(callgraph("fetch", "--since", "1d", "--out", out, "--authority-host", "http://127.0.0.1:1",
                               **SIGN_IN), 1,
                     "bad authority http://127.0.0.1:1/contoso: the sign-in service is reached over https; give "
                     "--authority-host (or AZURE_AUTHORITY_HOST) as https://host")
    assert_one_error(callgraph("fetch", "--since", "yesterdayish", "--out", out, **SIGN_IN), 2,
                     "--since: " + ONE_TIME_MESSAGE)


# --- the admin's map: CQD's building and endpoint data files -------------------------------

ROW = "10.51.4.0,OSL Wi-Fi,24,OSL-LAB,Owned,Lab,Engineering,Oslo,0150,Norway,Oslo,EMEA,1,0"
REFUSED = "; the file was refused whole and nothing was changed: fix it and run the command again"
BUILDING_COLUMNS = ("NetworkIP, NetworkName, NetworkRange, BuildingName, OwnershipType, BuildingType, "
                    "BuildingOfficeType, City, ZipCode, Country, State, Region, InsideCorp, ExpressRoute, VPN")


@pytest.mark.parametrize("command, text, message", [
    ("buildings", "NetworkIP,NetworkName,NetworkRange,BuildingName\n" + ROW + "\n",
     "line 1: looks like a header row ('NetworkIP', 'NetworkName', 'NetworkRange', ...): CQD's building data file "
     f"has no header (its columns are, in order: {BUILDING_COLUMNS} (VPN optional)); remove the line"),
    ("buildings", ROW + "\n10.51.5.0,OSL wired,24,OSL-LAB,Owned,Lab\n",
     "line 2: 6 columns; a building data file has 14 or 15 (with VPN): " + BUILDING_COLUMNS
     + '. A field with a comma must be quoted in CSV ("Oslo, Lab")'),
    ("buildings", ROW + "\n" + ROW.replace("10.51.4.0", "10.51.5.0") + ",1\n",
     "line 2: 15 columns, but the file's first row has 14: every row needs the same columns (add or remove the "
     "VPN column)"),
    ("buildings", ROW.replace(",1,0", ",true,0") + "\n",
     "line 1, column 13 (InsideCorp): 'true': expected 0 or 1 (CQD's booleans; not true/false or yes/no)"),
    ("buildings", ROW.replace("10.51.4.0", "10.51.4.300") + "\n",
     "line 1, column 1 (NetworkIP): '10.51.4.300' is not an IPv4 or IPv6 address: write the range's network "
     "address, e.g. 10.51.4.0 or 2001:db8:4::"),
    ("buildings", ROW.replace("10.51.4.0", "10.51.4.7") + "\n",
     "line 1, column 1 (NetworkIP): 10.51.4.7 is not the network address of a /24 range: write 10.51.4.0 (or "
     "give the NetworkRange the address starts)"),
    ("buildings", ROW.replace(",24,", ",/24,") + "\n",
     "line 1, column 3 (NetworkRange): '/24' is not a number: NetworkRange is the prefix length, e.g. 24 for a "
     "/24 (255.255.255.0)"),
    ("buildings", ROW.replace(",24,", ",33,") + "\n",
     "line 1, column 3 (NetworkRange): 33 is more than an IPv4 prefix can be (0-32)"),
    ("buildings", "\n\n", "no rows: a building data file has one network a row, no header; its columns are, "
                           f"in order: {BUILDING_COLUMNS} (VPN optional)"),
    ("endpoints", "EndpointName,EndpointModel,EndpointType,EndpointLabel1,EndpointLabel2,EndpointLabel3\n",
     "line 1: looks like a header row ('EndpointName', 'EndpointModel', 'EndpointType', ...): CQD's endpoint data "
     "file has no header (columns EndpointName, EndpointModel, EndpointType, EndpointLabel1, EndpointLabel2, "
     "EndpointLabel3); remove the line"),
    ("endpoints", "PC-1,Model,Laptop\n",
     "line 1: 3 columns; an endpoint data file has 6: EndpointName, EndpointModel, EndpointType, EndpointLabel1, "
     "EndpointLabel2, EndpointLabel3. A field with a comma must be quoted in CSV"),
    ("endpoints", "PC-1,Model,Laptop,,,\nPC-1,Other,Laptop,,,\n",
     "line 2, column 1 (EndpointName): 'PC-1' again (first on line 1): name each machine once"),
])
def test_a_map_file_cqd_would_refuse_is_refused_before_connecting_naming_line_and_column(tmp_path, command, text,
                                                                                          message):
    path = tmp_path / "map.csv"
    path.write_text(text)
    assert_one_error(callgraph(command, path), 2, f"{path} {message}{REFUSED}".replace(f"{path} no rows", f"{path}: no rows"))
    assert_one_error(callgraph(command, "--check", path), 2,
                     f"{path} {message}{REFUSED}".replace(f"{path} no rows", f"{path}: no rows"))


def test_a_map_file_that_is_not_there_or_too_big(tmp_path):
    assert_one_error(callgraph("buildings", tmp_path / "nope.csv"), 2, f"{tmp_path / 'nope.csv'}: no such file")
    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        out.truncate(50 * 1024 * 1024 + 1)
    assert_one_error(callgraph("buildings", big), 2, f"{big}: 52,428,801 bytes, more than the 50 MB CQD takes in "
                                                     f"one file: split it (CQD refuses it too){REFUSED}")


# --- Ctrl-C and a closed pipe ----------------------------------------------------------------

def test_ctrl_c_in_the_middle_of_a_load(neo4j_server, graph, tmp_path):
    records = tmp_path / "calls.jsonl"
    assert callgraph("generate", "--calls", 3000, "--out", records).returncode == 0
    load = subprocess.Popen([CALLGRAPH, "load", str(records)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=clean_env(**neo4j_server.env()))
    deadline = time.monotonic() + 90
    while query(graph, "MATCH (c:CallRecord) RETURN count(c) AS n")[0]["n"] == 0:  # writing has begun
        assert load.poll() is None and time.monotonic() < deadline, load.communicate()
        time.sleep(0.2)
    load.send_signal(signal.SIGINT)
    stdout, stderr = load.communicate(timeout=60)

    assert "Traceback" not in stdout + stderr and "Exception" not in stderr
    assert (load.returncode, stdout, stderr) == (
        130, "", "Error: interrupted: what was committed stays; run the same command again to complete it\n")
    assert 0 < query(graph, "MATCH (c:CallRecord) RETURN count(c) AS n")[0]["n"] < 3000


def test_a_reader_that_goes_away_ends_the_output_quietly():
    generate = subprocess.Popen([CALLGRAPH, "generate", "--calls", "2000", "--out", "-"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=clean_env())
    generate.stdout.read(100)
    generate.stdout.close()  # as `| head -c 100` does
    assert generate.wait(timeout=60) == 141
    assert generate.stderr.read() == b""
