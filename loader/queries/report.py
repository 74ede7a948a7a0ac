"""The shareable report: one self-contained HTML file of a window's figures, charts and tables.

Every number comes from a saved query (found, bound and run as `callgraph query` runs it, so
the report and the CLI agree) except the day-by-day totals of :data:`DAILY`, a small read query
of its own over the per-side rollups of the media lines. Rows are read by column name, so a
saved query that gains columns keeps its report. The charts are plotly's; plotly.js is written
into the file once, so it opens without a network. Names, user ids and phone numbers are
replaced by stable pseudonyms (``user 1``, ``phone 2``) unless ``with_names``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from neo4j.time import DateTime

from ..errors import CallgraphError
from ..store.connection import Graph
from .saved import find, plain, run

# The targets of Microsoft's quality review guide (overall, not on the corporate network only).
TARGETS = {"poorRatio": 0.03, "setupFailureRate": 0.01, "midcallFailureRate": 0.03}

# Per day: calls, segments and the rated and poor audio streams the two sides of each media line sent.
DAILY = """
MATCH (c:CallRecord)
WHERE c.startDateTime >= coalesce($since, datetime('0001-01-01T00:00:00Z'))
  AND c.startDateTime < coalesce($until, datetime('9999-12-31T00:00:00Z'))
OPTIONAL MATCH (c)-[:CONTAINS]->(:Session)-[:CONTAINS]->(g:Segment)
OPTIONAL MATCH (g)-[:CONTAINS]->(m:Media)
WITH date(c.startDateTime) AS day, c, g,
     coalesce(m.callerRatedStreams, 0) + coalesce(m.calleeRatedStreams, 0) AS rated,
     coalesce(m.callerPoorStreams, 0) + coalesce(m.calleePoorStreams, 0) AS poor
RETURN day, count(DISTINCT c) AS calls, count(DISTINCT g) AS segments,
       sum(rated) AS streams, sum(poor) AS poorStreams
ORDER BY day
"""

# The roles of a PSTN path's parties that are people (a user, a phone number); services keep their names.
PERSONAL_ROLES = {"user", "phone"}
PHONE = re.compile(r"^\+?[\d\s().-]{5,}$")
TIMELINE_RELAYS = 5  # the worst relays drawn day by day


@dataclass
class Table:
    columns: list[str]
    rows: list[dict]

    @classmethod
    def of(cls, result: tuple[list[str], list[list]]) -> Table:
        columns, rows = result
        return cls(columns, [dict(zip(columns, row)) for row in rows])


@dataclass
class Pseudonyms:
    """Stable stand-ins for personal values: the same value gets the same name all through one report."""
    with_names: bool
    given: dict[str, str] = field(default_factory=dict)

    def __call__(self, value, kind: str = "user"):
        if self.with_names or value is None:
            return value
        kind = "phone" if PHONE.match(str(value)) else kind
        if value not in self.given:
            self.given[value] = f"{kind} {sum(1 for v in self.given.values() if v.startswith(kind + ' ')) + 1}"
        return self.given[value]


def plotly_objects():
    """plotly's graph_objects, or the one line that says which extra brings it."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise CallgraphError("callgraph report needs plotly: pip install 'teams-callgraph[report]'") from None
    return go


def _saved(graph: Graph, name: str, window: dict[str, str], **given: str) -> Table:
    query = find(name)
    params = {k: v for k, v in window.items() if any(p.name == k for p in query.params)}
    return Table.of(run(graph, query, query.bind({**params, **given})))


def gather(graph: Graph, since: datetime | None, until: datetime | None) -> dict[str, Table]:
    """The report's tables: the saved queries' results for the window, and the daily totals."""
    window = {k: v.astimezone(timezone.utc).isoformat() for k, v in (("since", since), ("until", until)) if v}
    tables = {name: _saved(graph, name, window)
              for name in ("shared-relays", "gateway-health", "poor-subnets", "pstn-paths", "failures",
                           "poor-buildings", "reliability")}
    worst = sorted(tables["shared-relays"].rows, key=lambda r: (-(r.get("poorRatio") or 0), -(r.get("calls") or 0)))
    timeline = Table([], [])
    for relay in worst[:TIMELINE_RELAYS]:
        one = _saved(graph, "relay-timeline", window, relayIp=str(relay["relayIp"]), limit="1000")
        timeline.columns, timeline.rows = one.columns, timeline.rows + one.rows
    tables["relay-timeline"] = timeline
    params = {"since": DateTime.from_native(since) if since else None,
              "until": DateTime.from_native(until) if until else None}
    with graph.session(read=True) as session:
        result = session.run(DAILY, params)
        columns = list(result.keys())
        tables["daily"] = Table(columns, [dict(zip(columns, [plain(v) for v in r.values()])) for r in result])
    return tables


def headline(tables: dict[str, Table]) -> list[tuple[str, str, str]]:
    """(figure, value, against the target) for the top of the report."""
    daily, failures = tables["daily"].rows, tables["failures"].rows
    calls = sum(r["calls"] for r in daily)
    segments = sum(r["segments"] for r in daily)
    streams = sum(r["streams"] for r in daily)
    poor = sum(r["poorStreams"] for r in daily)
    by_stage = {}
    for r in failures:
        by_stage[r.get("stage")] = by_stage.get(r.get("stage"), 0) + (r.get("segments") or 0)
    failed = sum(by_stage.values())

    def against(value: float, target: float) -> str:
        verdict = "within" if value <= target else "above"
        return f"{verdict} the target of {target:.1%}"

    ratio = poor / streams if streams else 0.0
    setup = by_stage.get("callSetup", 0) / segments if segments else 0.0
    midcall = by_stage.get("midcall", 0) / segments if segments else 0.0
    return [
        ("calls", f"{calls:,}", f"{segments:,} segments"),
        ("audio streams classified", f"{streams:,}", f"{poor:,} poor"),
        ("poor ratio", f"{ratio:.1%}", against(ratio, TARGETS["poorRatio"])),
        ("failed segments", f"{failed:,}", f"setup {setup:.1%} ({against(setup, TARGETS['setupFailureRate'])}), "
                                           f"midcall {midcall:.1%} ({against(midcall, TARGETS['midcallFailureRate'])})"),
    ]


def render(tables: dict[str, Table], since: datetime | None, until: datetime | None, with_names: bool,
           now: datetime | None = None) -> str:
    """The whole HTML document."""
    go = plotly_objects()
    names = Pseudonyms(with_names)
    charts = _Charts(go)
    parts = [f"<h1>Teams calls: {html.escape(_window(since, until))}</h1>",
             f"<p class=note>Made by callgraph on {(now or datetime.now(timezone.utc)):%Y-%m-%d %H:%M} UTC from its "
             "saved queries. " + ("Names and numbers are shown." if with_names else
                                  "Names and phone numbers are replaced by pseudonyms (--with-names shows them).")
             + "</p>",
             "<div class=figures>" + "".join(
                 f"<div class=figure><div class=label>{html.escape(a)}</div><div class=value>{html.escape(b)}</div>"
                 f"<div class=target>{html.escape(c)}</div></div>" for a, b, c in headline(tables)) + "</div>"]

    daily = tables["daily"].rows
    parts.append("<h2>Poor ratio over time</h2>")
    parts.append(charts.figure("daily", [go.Scatter(
        x=[r["day"] for r in daily], y=[_ratio(r["poorStreams"], r["streams"]) for r in daily],
        mode="lines+markers", name="poor ratio")], "share of rated audio streams that were poor",
        target=TARGETS["poorRatio"], percent=True))
    timeline = tables["relay-timeline"].rows
    relays = list(dict.fromkeys(r["relayIp"] for r in timeline))
    parts.append(charts.figure("relay-timeline", [go.Scatter(
        x=[r["day"] for r in timeline if r["relayIp"] == ip], y=[r["poorRatio"] for r in timeline if r["relayIp"] == ip],
        mode="lines+markers", name=ip) for ip in relays], "the worst relays day by day", percent=True))

    relay_rows = tables["shared-relays"].rows
    worst = sorted(relay_rows, key=lambda r: -(r.get("poorRatio") or 0))[:15]
    parts.append("<h2>Worst media relays</h2>")
    parts.append(charts.figure("relays", [go.Bar(x=[r["relayIp"] for r in worst], y=[r["poorRatio"] for r in worst],
                                                 name="poor ratio")], "poor ratio by relay", percent=True))
    parts.append(_table("shared-relays", tables["shared-relays"], names))

    gateways = tables["gateway-health"].rows
    parts.append("<h2>PSTN gateways</h2>")
    parts.append(charts.figure("gateways", [
        go.Bar(x=[r["gateway"] for r in gateways], y=[r["failureRate"] for r in gateways], name="failure rate"),
        go.Bar(x=[r["gateway"] for r in gateways], y=[r["poorRatio"] for r in gateways], name="poor ratio")],
        "failed segments and poor audio by gateway", percent=True))
    parts.append(_table("gateway-health", tables["gateway-health"], names))

    buildings = tables["poor-buildings"].rows[:20]
    parts.append("<h2>Buildings</h2>")
    if buildings:
        shown = [f"{r['building']} ({'inside' if r['inside'] else 'outside'})" for r in buildings]
        parts.append(charts.figure("buildings", [
            go.Bar(x=shown, y=[r["poorRatio"] for r in buildings], name="poor ratio"),
            go.Bar(x=shown, y=[r["wifiPoorRatio"] for r in buildings], name="Wi-Fi"),
            go.Bar(x=shown, y=[r["wiredPoorRatio"] for r in buildings], name="wired")],
            "poor ratio by building (the building data file), all, Wi-Fi and wired", target=TARGETS["poorRatio"],
            percent=True))
        parts.append(_table("poor-buildings", tables["poor-buildings"], names))
        parts.append("<h3>Against the quality review guide's targets</h3>")
        parts.append(_table("reliability", tables["reliability"], names))
    else:
        parts.append("<p class=note>No building data file is loaded (or none of its networks saw a call in this "
                     "window): `callgraph buildings FILE` loads the one you upload to the Call Quality Dashboard.</p>")

    subnets = tables["poor-subnets"].rows[:20]
    parts.append("<h2>Subnets</h2>")
    parts.append(charts.figure("subnets", [go.Bar(
        x=[f"{r['subnet']} ({r['connectionType']})" for r in subnets], y=[r["poorRatio"] for r in subnets],
        name="poor ratio")], "poor ratio by subnet and connection type", target=TARGETS["poorRatio"], percent=True))
    parts.append(_table("poor-subnets", tables["poor-subnets"], names))

    failures = tables["failures"].rows
    stages = list(dict.fromkeys(r["stage"] for r in failures))
    reasons = list(dict.fromkeys(r["reason"] for r in failures))
    parts.append("<h2>Failed segments by stage</h2>")
    parts.append(charts.figure("failures", [go.Bar(
        x=stages, y=[sum(r["segments"] for r in failures if r["stage"] == s and r["reason"] == reason) for s in stages],
        name=str(reason)) for reason in reasons], "failed segments by stage and reason", stacked=True))
    parts.append(_table("failures", tables["failures"], names))

    parts.append("<h2>PSTN paths, hop by hop</h2>")
    parts.append(_paths(tables["pstn-paths"], names))
    return PAGE.format(title=html.escape(f"callgraph report: {_window(since, until)}"), body="\n".join(parts))


class _Charts:
    """plotly figures as divs; the first one carries plotly.js, the others use it."""

    def __init__(self, go):
        self.go, self.first = go, True

    def figure(self, name: str, traces: list, title: str, target: float | None = None, percent: bool = False,
               stacked: bool = False) -> str:
        fig = self.go.Figure(traces)
        fig.update_layout(title=title, height=360, margin=dict(l=50, r=20, t=50, b=80), template="plotly_white",
                          barmode="stack" if stacked else "group")
        if percent:
            fig.update_yaxes(tickformat=".0%", rangemode="tozero")
        if target is not None:
            fig.add_hline(y=target, line_dash="dash", line_color="firebrick",
                          annotation_text=f"target {target:.0%}", annotation_position="top left")
        div = fig.to_html(full_html=False, include_plotlyjs=self.first, div_id=f"chart-{name}",
                          config={"displaylogo": False})
        self.first = False
        return f"<div class=chart>{div}</div>"


def _table(name: str, table: Table, names: Pseudonyms) -> str:
    if not table.rows:
        return f"<p class=empty>{html.escape(name)}: no rows in this window.</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_text(row[c]))}</td>" for c in table.columns) + "</tr>"
                   for row in table.rows)
    return (f"<details open><summary>{html.escape(name)}: {len(table.rows)} rows</summary>"
            f"<table id=table-{html.escape(name)}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></details>")


def _paths(table: Table, names: Pseudonyms) -> str:
    if not table.rows:
        return "<p class=empty>pstn-paths: no multi-segment PSTN paths in this window.</p>"
    out = []
    for row in table.rows:
        hops = row.get("hops") or []
        services = {h[side] for h in hops for side in ("from", "to") if not personal(h[side], h.get(f"{side}Role"))}

        def shown(value, role=None):
            # a caller or callee that no hop names as a service is taken for a person
            return value if value in services and not personal(value, role) else names(value)

        boxes = []
        for i, hop in enumerate(hops):
            if i == 0:
                boxes.append(_party(shown(hop["from"], hop.get("fromRole")), hop.get("fromRole")))
            failed = hop.get("failed")
            boxes.append(f"<span class=\"hop{' failed' if failed else ''}\" title=\"{html.escape(_text(hop.get('start')))}\">"
                         f"{'&#x2715; failed' if failed else '&rarr;'}</span>")
            boxes.append(_party(shown(hop["to"], hop.get("toRole")), hop.get("toRole")))
        out.append(f"<div class=\"path{' failed' if row.get('failed') else ''}\"><div class=caption>"
                   f"{html.escape(_text(row.get('start'))[:19])} &middot; {html.escape(_text(shown(row.get('caller'))))} "
                   f"to {html.escape(_text(shown(row.get('callee'))))} &middot; {row.get('segments')} segments "
                   f"&middot; call {html.escape(_text(row.get('callRecordId')))}</div>"
                   f"<div class=chain>{''.join(boxes)}</div></div>")
    return "<div id=pstn-paths>" + "\n".join(out) + "</div>"


def personal(value, role) -> bool:
    """A user's name or id, or a phone number (by its role, or by its form where no role says)."""
    return role in PERSONAL_ROLES or bool(value and PHONE.match(str(value)))


def _party(name, role) -> str:
    return (f"<span class=party><span class=name>{html.escape(_text(name))}</span>"
            f"<span class=role>{html.escape(_text(role))}</span></span>")


def _text(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _ratio(part, whole) -> float:
    return round(part / whole, 3) if whole else 0.0


def _window(since: datetime | None, until: datetime | None) -> str:
    parts = ([f"from {since:%Y-%m-%d %H:%M} UTC"] if since else []) + ([f"before {until:%Y-%m-%d %H:%M} UTC"] if until else [])
    return "calls " + " ".join(parts) if parts else "all calls"


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px 40px; color: #222; }}
h1 {{ font-size: 1.6em; }} h2 {{ margin-top: 2em; border-bottom: 1px solid #ddd; }}
.note {{ color: #666; }} .empty {{ color: #666; font-style: italic; }}
.figures {{ display: flex; gap: 16px; flex-wrap: wrap; }}
.figure {{ border: 1px solid #ddd; border-radius: 8px; padding: 12px 18px; min-width: 180px; }}
.figure .label {{ color: #666; }} .figure .value {{ font-size: 2em; font-weight: 600; }}
.figure .target {{ color: #444; font-size: .9em; }}
table {{ border-collapse: collapse; font-size: .85em; margin: 8px 0; }}
th, td {{ border: 1px solid #ddd; padding: 3px 8px; text-align: left; }} th {{ background: #f4f4f4; }}
.path {{ margin: 10px 0; padding: 8px; border-left: 4px solid #4c8; }} .path.failed {{ border-left-color: #d33; }}
.caption {{ font-size: .85em; color: #555; margin-bottom: 4px; }}
.chain {{ display: flex; align-items: center; flex-wrap: wrap; gap: 4px; }}
.party {{ display: inline-flex; flex-direction: column; border: 1px solid #888; border-radius: 6px; padding: 4px 8px;
  background: #f7f9fc; }}
.party .role {{ font-size: .75em; color: #666; }}
.hop {{ color: #4a4; padding: 0 6px; }} .hop.failed {{ color: #d33; font-weight: 600; }}
</style></head>
<body>
{body}
</body></html>
"""
