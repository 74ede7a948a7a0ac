"""How far a long load or fetch has got: the reader counts the bytes it has read from the
files as they are on disk, so `callgraph load` can show a share done and the time left; the
fetcher knows how many records it will fetch once the listing is done. The status line is
drawn only on a terminal: piped or captured output holds the summary alone.
"""

import gzip
import json
import os
import pty
import random
import re
import select
import struct
import subprocess
import sys
import termios
import fcntl
from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner

from fake_graph import TENANT, CLIENT, SECRET, graph_service, make_records, record_id  # noqa: F401
from loader.cli import main
from loader.ingest.files import READ_BUFFER, ReadPosition, input_size, read_items
from loader.store.load import items_from_paths

CALLGRAPH = str(Path(sys.executable).parent / "callgraph")
SUMMARY = re.compile(r"^400 records read in \d+\.\ds: 400 loaded, 0 replaced by a newer version, 0 completed, "
                     r"0 unchanged, 0 skipped as older, 0 rejected$")


def padded_records(count: int = 400) -> list[dict]:
    """Records of about 12 KB that gzip cannot shrink much (random hex), so even the .gz file
    spans several of the reader's 1 MiB reads."""
    rng = random.Random(7)
    return [{"id": f"00000000-0000-0000-0000-{n:012d}", "version": 1, "pad": rng.randbytes(6000).hex()}
            for n in range(count)]


def positions(path) -> tuple[list[int], int, int]:
    """The byte position after each item, the position once the file is read, and how many items."""
    position = ReadPosition()
    seen = []
    items = 0
    for item in read_items(str(path), position):
        assert item.error is None and item.record is not None
        seen.append(position.bytes)
        items += 1
    return seen, position.bytes, items


def assert_counts_the_file(path) -> list[int]:
    seen, end, items = positions(path)
    size = os.path.getsize(path)
    assert items == 400
    assert size > 2 * READ_BUFFER
    assert seen == sorted(seen)  # never backwards
    assert len(set(seen)) >= 3  # it moves as the file is read, not all at once
    assert 0 < seen[0] <= READ_BUFFER and seen[-1] <= size
    assert end == size  # read to the end: every byte on disk counted, once
    return seen


def test_the_read_position_of_json_lines_runs_to_the_file_size(tmp_path):
    records = padded_records()
    path = tmp_path / "calls.jsonl"
    lines = [(json.dumps(r) + "\n").encode() for r in records]
    path.write_bytes(b"".join(lines))
    seen = assert_counts_the_file(path)
    # a record is only there once its bytes are read: the position is past the end of its line
    ends = [sum(map(len, lines[:n + 1])) for n in range(len(lines))]
    assert all(at >= end for at, end in zip(seen, ends))


def test_the_read_position_of_a_gzipped_file_counts_compressed_bytes(tmp_path):
    path = tmp_path / "calls.jsonl.gz"
    with gzip.open(path, "wt") as out:
        for record in padded_records():
            out.write(json.dumps(record) + "\n")
    uncompressed = sum(len(json.dumps(r)) + 1 for r in padded_records())
    assert os.path.getsize(path) < uncompressed * 0.7  # the count is of the file on disk
    assert_counts_the_file(path)


def test_the_read_position_of_a_json_array_runs_to_the_file_size(tmp_path):
    path = tmp_path / "calls.json"
    path.write_text(json.dumps(padded_records(), indent=1))
    assert_counts_the_file(path)


def test_over_several_files_the_position_adds_up_to_the_input_size(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in padded_records(30)))
    with gzip.open(tmp_path / "in" / "b.json.gz", "wt") as out:
        out.write(json.dumps({"value": padded_records(20)}))
    files = [str(tmp_path / "in" / "a.jsonl"), str(tmp_path / "in" / "b.json.gz")]
    position = ReadPosition()
    assert sum(1 for _ in items_from_paths([str(tmp_path / "in")], position)) == 50
    assert position.bytes == input_size(files) == sum(os.path.getsize(f) for f in files)
    # standard input, or a pipe given by name, has no size known in advance
    assert input_size(files + ["-"]) is None
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert input_size([str(fifo)]) is None


def test_a_load_that_is_not_on_a_terminal_prints_only_the_summary(graph, cli_env, tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in minimal_records()))
    result = CliRunner().invoke(main, ["load", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert SUMMARY.match(result.stderr.strip()), result.stderr
    assert "\r" not in result.stderr and "%|" not in result.stderr


def minimal_records(count: int = 400) -> list[dict]:
    start = datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
    return [{"id": f"00000000-0000-0000-0000-{n:012d}", "version": 1, "type": "peerToPeer",
             "modalities": ["audio"], "lastModifiedDateTime": "2024-05-01T09:00:00Z",
             "startDateTime": (start + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "endDateTime": (start + timedelta(minutes=n + 1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "sessions": []} for n in range(count)]


def on_a_terminal(args: list[str], columns: int, env: dict) -> str:
    """Run the installed command with standard error on a pseudo-terminal ``columns`` wide."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 10, columns, 0, 0))
    process = subprocess.Popen([CALLGRAPH, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=follower, env={k: v for k, v in env.items() if k != "COLUMNS"})
    os.close(follower)
    out = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            process.kill()
            raise AssertionError("no output for 60 s")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the command ended and closed the terminal
            break
        if not chunk:
            break
        out += chunk
    process.wait(timeout=60)
    os.close(leader)
    return out.decode()


def test_on_a_narrow_terminal_the_load_shows_one_line_of_progress_then_the_summary(graph, cli_env, tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in minimal_records()))
    out = on_a_terminal(["load", "--batch-size", "10", str(path)], 40, {**os.environ, **cli_env})
    drawn = [part for part in re.split(r"[\r\n]", out) if "%|" in part]
    assert drawn, out  # the bar was drawn: a share of the file's bytes ...
    assert all(len(re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", part)) <= 40 for part in drawn)  # ... within 40 columns
    assert drawn[0].startswith("  0%|")
    # the bar was erased (overwritten with blanks, back to the line's start) and the summary printed whole
    *_, erased, summary = [part for part in re.split(r"[\r\n]", out) if part]
    assert erased.strip() == "" and SUMMARY.match(summary), out


def test_the_fetcher_knows_how_many_records_it_will_fetch_once_the_listing_is_done(graph_service):
    from loader.msgraph.client import GraphClient, RateLimiter, RetryPolicy, Settings
    from loader.msgraph.fetch import Fetcher

    now = datetime.now(timezone.utc)
    records = make_records(25, now - timedelta(hours=20), every=timedelta(minutes=5))
    fake = graph_service(records=records)
    env = fake.env(os.environ["SSL_CERT_FILE"])
    settings = Settings(TENANT, CLIENT, SECRET, authority_host=env["AZURE_AUTHORITY_HOST"],
                        graph_url=env["CALLGRAPH_GRAPH_URL"])
    stored = {record_id(3), record_id(4)}  # already in the database at this version
    with GraphClient(settings, RateLimiter(), RetryPolicy(backoff=0.05)) as client:
        fetcher = Fetcher(client, workers=4, not_found_schedule=(),
                          skip=lambda stubs: {s["id"] for s in stubs} & stored)
        totals = [fetcher.report.to_fetch for _ in fetcher.records(now - timedelta(days=1), now,
                                                                     ids=[record_id(30), record_id(30)])]
    report = fetcher.report
    # 25 listed, 2 of them stored, and one more asked for by id (twice), which Graph does not
    # have yet (404, reported as pending): 24 to fetch, 23 fetched
    assert (report.listed, report.skipped, report.to_fetch) == (25, 2, 24)
    assert set(totals) <= {None, 24} and totals[-1] == 24
    assert (report.fetched, sorted(report.pending), report.finished) == (23, [record_id(30)], 24)
