"""callgraph's investigation guide for Neo4j Browser (``:play URL``), made from the saved queries.

The guide is a Browser HTML guide: one ``<slide>`` per step of an investigation (where is it
bad, which relay, subnet or gateway, which calls, one call's path), each holding the saved
queries of that step with what they answer and their parameters, all read from the headers of
``cypher/*.cypher`` (:mod:`loader.queries.saved`). Each query is a ``pre.runnable`` block: a
click puts it in the editor as the statement of a Browser link (:func:`.browser.statement`),
its values written in place and named, ready to run or edit.

Browser 5.24 fetches a guide only over http(s), from a host in the server's
``browser.remote_content_hostname_whitelist``. The local server of ``scripts/neo4j`` serves it
itself: Neo4j serves Browser from ``<home>/web/neo4j-browser*.zip`` when there is one (else from
the jar on its classpath, which no second jar can add files to), so :func:`browser_zip` writes
that zip, Browser's own files plus ``callgraph-guide.html``, and the guide is at
``http://127.0.0.1:7474/browser/callgraph-guide.html``. For another server, ``callgraph browser
--guide FILE.html`` writes the file to host on an allowed web server.

``python -m loader.queries.guide BROWSER_JAR OUT_ZIP`` is what ``scripts/neo4j`` runs.
"""

from __future__ import annotations

import html
import os
import sys
import zipfile
from pathlib import Path

from .browser import statement
from .saved import SavedQuery, load_all

GUIDE_FILE = "callgraph-guide.html"

# The order an investigation goes: (heading, the question it answers, the saved queries).
# A saved query named in no step is shown in a last slide, so none is ever left out.
STEPS = [
    ("Where is it bad?", "Which buildings, networks, client builds and call stages have the poor or failed calls, "
     "against the quality review guide's targets; and which subnets your building file still misses.",
     ["reliability", "poor-buildings", "poor-subnets", "client-versions", "failures", "missing-subnets"]),
    ("Which relay, building, gateway?", "The media relay, the link between two buildings or the SBC that the bad "
     "calls share.",
     ["shared-relays", "relay-timeline", "building-pairs", "gateway-health"]),
    ("Which calls?", "The calls behind it: PSTN paths, one user's calls, who calls whom.",
     ["pstn-paths", "user-calls", "who-calls-whom"]),
    ("One call's path", "One call record, segment by segment: who, when, through which relay, how it failed.",
     ["call-path"]),
]


def steps(queries: dict[str, SavedQuery]) -> list[tuple[str, str, list[SavedQuery]]]:
    """The investigation's steps with their saved queries (those of a user's own cypher/ that no
    step names come last, under "More saved queries")."""
    placed = [(heading, question, [queries[n] for n in names if n in queries]) for heading, question, names in STEPS]
    named = {n for _, _, names in STEPS for n in names}
    more = [q for name, q in queries.items() if name not in named]
    if more:
        placed.append(("More saved queries", "The other saved queries of cypher/.", more))
    return [step for step in placed if step[2]]


def _query_html(q: SavedQuery) -> str:
    e = html.escape
    parts = [f'<h4>{e(q.title)} <small>{e(q.name)} · {e(q.category)}</small></h4>', f"<p>{e(q.description)}</p>"]
    if q.params:
        rows = "".join(f"<li><code>{e(p.describe())}</code>: {e(p.doc)}</li>"
                       for p in q.params)
        parts.append(f"<ul>{rows}</ul>")
    parts.append(f'<pre class="runnable" style="max-height: 9em; overflow: auto">{e(statement(q))}</pre>')
    return "\n".join(parts)


def guide_html(queries: dict[str, SavedQuery] | None = None) -> str:
    """The guide: an opening slide with the steps, then one slide per step."""
    e = html.escape
    placed = steps(queries if queries is not None else load_all())
    outline = "".join(f"<li><b>{number}. {e(heading)}</b> {e(question)}</li>"
                      for number, (heading, question, _) in enumerate(placed, start=1))
    slides = [f"""<slide class="row-fluid">
<h3>Investigating Teams calls with callgraph</h3>
<p>The saved queries of callgraph in the order an investigation goes. Click a query to put it in
the editor: its values are written in place and named (<code>LIMIT (100 /*limit*/)</code>); edit
them there, then run it.</p>
<ul>{outline}</ul>
</slide>"""]
    for number, (heading, question, step_queries) in enumerate(placed, start=1):
        body = "\n".join(_query_html(q) for q in step_queries)
        slides.append(f'<slide class="row-fluid">\n<h3>{number}. {e(heading)}</h3>\n<p>{e(question)}</p>\n'
                      f"{body}\n</slide>")
    return '<article class="guide">\n' + "\n".join(slides) + "\n</article>\n"


def browser_zip(jar: Path, out: Path, guide: str) -> None:
    """The Browser of ``jar`` (the neo4j-browser jar on the server's classpath) with the guide
    added, as the ``web/neo4j-browser.zip`` that Neo4j serves at /browser/ instead of the jar.
    Neo4j unpacks the zip and serves its first entry, so that is the ``browser/`` directory, and
    each directory comes before what it holds."""
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(jar) as source, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as target:
        entries = sorted((i for i in source.infolist() if i.filename.startswith("browser/")),
                         key=lambda i: (not i.is_dir(), i.filename))
        for info in entries:
            target.writestr(info.filename, source.read(info))
        target.writestr(f"browser/{GUIDE_FILE}", guide)
    os.replace(tmp, out)


if __name__ == "__main__":  # scripts/neo4j: BROWSER_JAR OUT_ZIP
    browser_zip(Path(sys.argv[1]), Path(sys.argv[2]), guide_html())
