"""callgraph's Neo4j Browser style sheet (GraSS), ``cypher/callgraph.grass``, as Browser takes it.

Browser's ``:style`` command reads a style sheet given inline, as GraSS text or as JSON. The
JSON form is written on one line and holds no ``;``, so it also fits where a command must
(``browser.post_connect_cmd`` in neo4j.conf, which splits its commands at ``;``). This module
uses only the standard library: ``scripts/neo4j`` runs it with the system Python to write that
setting (``python3 loader/queries/style.py``).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

STYLE_FILE = "callgraph.grass"
_RULE = re.compile(r"([\w.\-]+)\s*\{((?:[^{}]|\{[^{}]*\})*)\}", re.S)


def style_path(directory: Path | None = None) -> Path:
    """The style sheet shipped with the saved queries (cypher/, inside the wheel as loader/cypher)."""
    if directory is None:
        packaged = Path(__file__).resolve().parent.parent / "cypher"
        directory = packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "cypher"
    return directory / STYLE_FILE


def parse_grass(text: str) -> dict[str, dict[str, str]]:
    """``selector { property: value; ... }`` rules as {selector: {property: value}}."""
    rules = {}
    for selector, body in _RULE.findall(text):
        declarations = (part.partition(":") for part in body.split(";"))
        rules[selector] = {name.strip(): value.strip() for name, sep, value in declarations if sep}
    return rules


def style_json(path: Path | None = None) -> str:
    """The style sheet as one line of JSON, as Browser's ``:style`` reads it."""
    return json.dumps(parse_grass((path or style_path()).read_text(encoding="utf-8")), separators=(",", ":"))


def style_command(path: Path | None = None) -> str:
    """The Browser command that applies the style sheet: ``:style {...}``."""
    return ":style " + style_json(path)


if __name__ == "__main__":  # scripts/neo4j: the post-connect form, without the colon
    sys.stdout.write(style_command(Path(sys.argv[1]) if len(sys.argv) > 1 else None)[1:] + "\n")
