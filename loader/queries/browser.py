"""The saved queries as Neo4j Browser (and Aura's query tool) take them: links, favorites, CSV.

Every form comes from the parsed headers of ``cypher/*.cypher`` (:mod:`loader.queries.saved`):

- a **link** (``cmd=edit``) fills the connect form and puts one statement in the editor, its
  parameter values written in place and each named where it stands (``LIMIT 100 /*limit*/``)
  and listed once on its first line. Browser shows no result table for the last statement of a
  multi-statement run (``:param ...; QUERY``), and it keeps no parameters across page loads,
  so the values travel in the statement itself;
- **favorites** (:func:`favorites_zip`): a ``.zip`` of one ``.cypher`` file per query in a folder
  per category, which Browser 5 takes in one drop; each is that same statement, so it runs as
  it is. Its first line names the favorite;
- the **Aura** CSV (:func:`aura_csv`), which the Saved Cypher drawer of Aura's query tool
  imports: a "callgraph" folder holding a folder per category, a row per query.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from urllib.parse import quote, urlencode, urlsplit

from ..store.connection import shown_uri
from ..errors import QueryError
from .saved import SavedQuery

AURA_COLUMNS = ["name", "description", "query", "id", "parentId", "isFolder"]


def statement(query: SavedQuery) -> str:
    """The query as one statement that runs as it is in Browser: values in place, named.

    Header comments are left out (Browser cuts a link's argument at '&' or '#', which prose
    may contain); the first line names the query and lists its values once.
    """
    values = dict(query.browser_params)
    body = "\n".join(line for line in query.text.splitlines() if not line.startswith("//"))
    body = re.sub(r"\$(\w+)", lambda m: f"({values[m.group(1)]} /*{m.group(1)}*/)" if m.group(1) in values
                  else m.group(0), body)
    listed = ", ".join(f"{name} = {value}" for name, value in query.browser_params)
    head = f"// {query.name}: {query.title}"
    if listed:
        head += f"\n// values: {listed} (each written in place, named /*like this*/: edit it there)"
    text = f"{head}\n{body}\n"
    if "&" in text or "#" in text:
        raise QueryError(f"{query.path}: a Browser link cannot carry '&' or '#'; rewrite the query without them")
    return text


def param_lines(query: SavedQuery) -> list[str]:
    """The header's ``:param`` lines as Browser takes them pasted together: each ends with ';'."""
    return [f":param {name} => {value};" for name, value in query.browser_params]


def browser_base(url: str | None, uri: str, http_port: int) -> str:
    """Where Browser is served: ``url`` as given, else the Bolt host on the HTTP port."""
    if url:
        return url.rstrip("/")
    host = urlsplit(uri).hostname or "127.0.0.1"
    scheme = "https" if uri.startswith(("neo4j+s", "bolt+s", "neo4j+ssc", "bolt+ssc")) else "http"
    return f"{scheme}://{host}:{http_port}"


def connect_url(uri: str, username: str) -> str:
    """The connect form's URL: the user, never what the URI itself may carry (a password)."""
    scheme, sep, rest = uri.partition("://")
    return f"{scheme}://{username}@{rest.rpartition('@')[2]}" if sep else shown_uri(uri)


def link(base: str, uri: str, username: str, database: str, text: str) -> str:
    """A Browser link that fills the connect form (never the password) and the editor."""
    args = urlencode({"connectURL": connect_url(uri, username), "db": database, "cmd": "edit"})
    return f"{base}/browser/?{args}&arg={quote(text)}"


def favorites_zip(queries: list[SavedQuery]) -> bytes:
    """A zip Browser's Favorites drawer takes in one drop: <category>/<name>.cypher each."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for q in queries:
            archive.writestr(f"{q.category}/{q.name}.cypher", statement(q))
    return out.getvalue()


def aura_csv(queries: list[SavedQuery]) -> str:
    """Saved Cypher for Aura's query tool: a "callgraph" folder, a folder in it per category,
    and the queries in their category's folder.

    Aura publishes no description of this CSV. Its layout is the one of a file exported from
    Aura's Saved Cypher drawer and imported back there (nrouyer/assemblylineplanning,
    ``cypher/assemblyline_cypher.csv``): the header ``name,description,query,id,parentId,isFolder``,
    whole-number ids, a row's ``parentId`` the id of its folder (empty at the top), ``true`` /
    ``false``, a folder's description and query empty, queries quoted as CSV quotes them.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(AURA_COLUMNS)
    top = 0
    writer.writerow(["callgraph", "", "", top, "", "true"])
    next_id = top + 1
    for category in dict.fromkeys(q.category for q in queries):
        folder, next_id = next_id, next_id + 1
        writer.writerow([category, "", "", folder, top, "true"])
        for q in (q for q in queries if q.category == category):
            writer.writerow([q.name, f"{q.title}. {q.description}", statement(q), next_id, folder, "false"])
            next_id += 1
    return out.getvalue()
