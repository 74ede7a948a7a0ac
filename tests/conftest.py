"""A real Neo4j for the tests.

Without NEO4J_URI the session starts its own server with scripts/neo4j (a home of its own,
.neo4j-test, on ports 17687/17474 so a developer's server on 7687 is left alone; other ports
with CALLGRAPH_TEST_BOLT_PORT/CALLGRAPH_TEST_HTTP_PORT, so that two checkouts can run their
tests at once) and stops it at the end. The neo4j-admin import test starts a second server
on the two ports above those. With NEO4J_URI the tests use that server, and refuse to empty
a database that holds anything unless CALLGRAPH_TEST_ALLOW_WIPE=1.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from loader.store.connection import Graph, connect
from loader.store.schema import ensure_schema

REPO = Path(__file__).resolve().parent.parent
# Microsoft's documented example bodies for the callRecords API, kept with the tests (see its README)
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "graph-docs"
TEST_HOME = REPO / ".neo4j-test"
BOLT_PORT = int(os.environ.get("CALLGRAPH_TEST_BOLT_PORT", "17687"))
HTTP_PORT = int(os.environ.get("CALLGRAPH_TEST_HTTP_PORT", "17474"))
# the day the tests' generated tenants end before (their calls fill 2026-11-02 to 2026-11-08),
# so that no expectation depends on the day the tests run
AS_OF = date(2026, 11, 9)


@dataclass(frozen=True)
class Server:
    uri: str
    user: str
    password: str
    database: str

    def env(self) -> dict:
        """The environment a user would have set for the callgraph CLI."""
        return {"NEO4J_URI": self.uri, "NEO4J_USERNAME": self.user, "NEO4J_PASSWORD": self.password,
                "NEO4J_DATABASE": self.database}


@pytest.fixture(scope="session")
def neo4j_server():
    if os.environ.get("NEO4J_URI"):
        server = Server(os.environ["NEO4J_URI"], os.environ.get("NEO4J_USERNAME", "neo4j"),
                        os.environ.get("NEO4J_PASSWORD", ""), os.environ.get("NEO4J_DATABASE", "neo4j"))
        _refuse_to_wipe_real_data(server)
        yield server
        return
    env = dict(os.environ, CALLGRAPH_NEO4J_HOME=str(TEST_HOME), NEO4J_BOLT_PORT=str(BOLT_PORT),
               NEO4J_HTTP_PORT=str(HTTP_PORT), NEO4J_PASSWORD="callgraph-test", CALLGRAPH_NEO4J_MODE="maven")
    subprocess.run([str(REPO / "scripts" / "neo4j"), "start"], env=env, check=True)
    try:
        yield Server(f"neo4j://127.0.0.1:{BOLT_PORT}", "neo4j", "callgraph-test", "neo4j")
    finally:
        subprocess.run([str(REPO / "scripts" / "neo4j"), "stop"], env=env, check=False)


def _refuse_to_wipe_real_data(server: Server) -> None:
    if os.environ.get("CALLGRAPH_TEST_ALLOW_WIPE") == "1":
        return
    with connect(server.uri, server.user, server.password, server.database) as graph, graph.session() as session:
        count = session.run("MATCH (n) RETURN count(n) AS n").single()["n"]
    if count:
        pytest.exit(f"NEO4J_URI points at {server.uri} whose database {server.database!r} holds {count} nodes; "
                    "the tests empty it. Use an empty database or set CALLGRAPH_TEST_ALLOW_WIPE=1.", returncode=2)


@pytest.fixture(scope="session")
def _session_graph(neo4j_server):
    with connect(neo4j_server.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database) as graph:
        ensure_schema(graph)
        yield graph


@pytest.fixture
def graph(_session_graph) -> Graph:
    """An empty database (schema in place) for each test."""
    with _session_graph.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    return _session_graph


@pytest.fixture
def cli_env(neo4j_server, monkeypatch):
    """The callgraph CLI sees the test server through the usual variables."""
    for name, value in neo4j_server.env().items():
        monkeypatch.setenv(name, value)
    return neo4j_server.env()


def fixture_path(name: str) -> Path:
    return FIXTURES / name


def query(graph: Graph, cypher: str, **params) -> list[dict]:
    with graph.session() as session:
        return [record.data() for record in session.run(cypher, params)]


def snapshot(graph: Graph) -> tuple:
    """Everything in the database, in a comparable form (for 'nothing changed' checks)."""
    nodes = query(graph, "MATCH (n) RETURN labels(n) AS labels, properties(n) AS props")
    rels = query(graph, "MATCH (a)-[r]->(b) RETURN type(r) AS type, properties(r) AS props, "
                        "properties(a) AS a, properties(b) AS b")
    return sorted(map(_canon, nodes)), sorted(map(_canon, rels))


def _canon(value) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_canon(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_canon(v) for v in value) + "]"
    return repr(value)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Each phase's report on the test item (rep_setup, rep_call), for fixtures that act on failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
