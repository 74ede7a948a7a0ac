"""Connection: a driver plus the database every session names, with errors that say what to fix.

Clusters and Aura are reached through Neo4j's own URIs (``neo4j://`` routes, ``neo4j+s://``
for TLS); ``database=`` is passed on every session, which saves a round trip and is what
clusters need.
"""

from __future__ import annotations

from dataclasses import dataclass

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ClientError, ConfigurationError, ServiceUnavailable

from ..errors import DatabaseError

DEFAULT_URI = "neo4j://127.0.0.1:7687"
DEFAULT_USER = "neo4j"
DEFAULT_DATABASE = "neo4j"

@dataclass
class Graph:
    """A driver plus the database every session must name (``database=`` saves a round trip
    and is what clusters and Aura need)."""

    driver: neo4j.Driver
    database: str
    uri: str

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> "Graph":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def session(self, read: bool = False) -> neo4j.Session:
        mode = neo4j.READ_ACCESS if read else neo4j.WRITE_ACCESS
        return self.driver.session(database=self.database, default_access_mode=mode)


def connect(uri: str, user: str, password: str | None, database: str) -> Graph:
    """Open and check a connection; every failure becomes one line saying what to fix."""
    try:
        # Notifications are advice for people writing queries; a loader's users can't act on them.
        driver = GraphDatabase.driver(uri, auth=(user, password or ""), notifications_min_severity="OFF")
    except (ValueError, ConfigurationError) as exc:
        raise DatabaseError(f"bad Neo4j URI {uri!r}: {exc}. Use e.g. neo4j://127.0.0.1:7687 or neo4j+s://<id>.databases.neo4j.io") from None
    try:
        driver.verify_connectivity()
        with driver.session(database=database) as session:
            session.run("RETURN 1").consume()
    except AuthError:
        driver.close()
        raise DatabaseError(f"Neo4j at {uri} refused user {user!r}: check NEO4J_USERNAME and NEO4J_PASSWORD "
                            "(or --username/--password)") from None
    except ServiceUnavailable:
        driver.close()
        raise DatabaseError(f"cannot reach Neo4j at {uri}: start it (scripts/neo4j start, or docker compose up -d) "
                            "or point NEO4J_URI at your server") from None
    except ClientError as exc:
        driver.close()
        if "DatabaseNotFound" in (exc.code or ""):
            raise DatabaseError(f"Neo4j at {uri} has no database {database!r}: create it, or set NEO4J_DATABASE "
                                "to an existing one") from None
        raise DatabaseError(f"Neo4j at {uri} refused the connection: {exc.message}") from None
    return Graph(driver, database, uri)


class Rows(list):
    """A statement's batch parameter (rows, ids, keys) that prints as its length.

    The driver formats every RUN message for its debug log before it knows whether debug
    logging is on (neo4j 6.4: ``" ".join(map(repr, fields))``). For a batch of call records
    that is megabytes of text per statement: the largest single cost of the loader's Python
    side in a py-spy profile of a 100,000-record load. It packs exactly as a list does, and a
    user who does turn on the driver's debug log sees row counts instead of call data.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} rows>"

