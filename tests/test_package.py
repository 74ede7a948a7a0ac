"""The package on its own: a wheel built from this checkout, installed into a fresh virtual
environment, runs from a directory that has nothing of the repository in it.

The wheel is built from a copy of the checkout's files (no dot-directories, no build/ or
*.egg-info left by earlier builds: a stale build/lib would slip old modules into the wheel),
so the build leaves nothing in the checkout. The venv is made without its own pip and the
wheel installed into it by the tests' pip (``pip --python``), which saves the ~15 s of
bootstrapping pip; its dependencies come from pip's cache or PyPI as a user's would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO
from loader import demo as tenant
from loader.cli import main

CALLS, SEED = 40, 3
QUERY_NAMES = sorted(p.stem for p in (REPO / "cypher").glob("*.cypher"))


@dataclass(frozen=True)
class Installed:
    venv: Path
    cwd: Path  # a directory outside the repository

    def run(self, *args: str, env: dict | None = None, program: str = "callgraph") -> subprocess.CompletedProcess:
        clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        result = subprocess.run([str(self.venv / "bin" / program), *args], cwd=self.cwd, capture_output=True,
                                text=True, env={**clean, **(env or {})}, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    tmp = tmp_path_factory.mktemp("package")
    source = tmp / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(tmp / "wheels"), str(source)], check=True)
    wheels = list((tmp / "wheels").glob("teams_callgraph-*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install", str(wheels[0])], check=True)
    shutil.rmtree(source)  # nothing left to import from but the venv
    cwd = tmp / "elsewhere"
    cwd.mkdir()
    return Installed(venv, cwd)


def test_the_installed_package_imports_from_the_venv(installed):
    result = installed.run("-c", "import loader, loader.queries.saved as s; print(loader.__file__); print(s.CYPHER_DIR)",
                           program="python")
    module, cypher_dir = map(Path, result.stdout.split())
    assert module.is_relative_to(installed.venv) and not module.is_relative_to(REPO)
    assert cypher_dir == module.parent / "cypher"
    assert sorted(p.stem for p in cypher_dir.glob("*.cypher")) == QUERY_NAMES


def test_the_installed_callgraph_lists_every_saved_query(installed):
    result = installed.run("queries", "--format", "json")
    assert [row["name"] for row in json.loads(result.stdout)] == QUERY_NAMES


def test_the_installed_callgraph_loads_and_runs_a_saved_query(installed, graph, cli_env):
    installed.run("generate", "--calls", str(CALLS), "--seed", str(SEED), "--out", "tenant.jsonl")
    load = installed.run("load", "tenant.jsonl", env=cli_env)
    assert f"{CALLS} records read" in load.stderr and f"{CALLS} loaded" in load.stderr
    rows = json.loads(installed.run("query", "shared-relays", "--format", "json", env=cli_env).stdout)
    assert rows[0]["relayIp"] == tenant.BAD_RELAY and rows[0]["calls"] > rows[1]["calls"]
    # the same answer as the checkout's own code gives (test_queries checks the values themselves)
    assert rows == json.loads(CliRunner().invoke(main, ["query", "shared-relays", "--format", "json"]).stdout)


def test_the_installed_callgraph_prints_a_browser_link_per_query(installed):
    lines = installed.run("browser").stdout.splitlines()
    # first the :style line of the style sheet the wheel ships (loader/cypher/callgraph.grass)
    assert lines[0].startswith("Style for the graph view") and lines[1].startswith('  :style {"node":')
    assert '"node.Relay":{' in lines[1]
    # then the :play line of the investigation guide, as the local server serves it
    assert lines[3].startswith("Investigation guide") and lines[4] == "  :play http://127.0.0.1:7474/browser/callgraph-guide.html"
    lines = lines[6:]
    names = [line.split(":")[0] for line in lines if line and not line.startswith(" ")]
    links = [line.strip() for line in lines if line.startswith("  ")]
    assert names == QUERY_NAMES
    assert len(links) == len(QUERY_NAMES)
    assert all(link.startswith("http://127.0.0.1:7474/browser/?connectURL=") for link in links)
