"""Hostile input: files in odd encodings or cut short, values that make no sense, members named
like callgraph's own. Each bad record is rejected alone, by place and id; the rest lands."""

import codecs
import copy
import gzip
import json
import random

import pytest
from click.testing import CliRunner

from conftest import fixture_path, query
from loader.cli import main
from loader.ingest.files import read_items
from loader.ingest.transform import RecordError, transform_record
from loader.model import MAX_DEPTH

LEGACY = json.loads(fixture_path("v1.0-get-callrecord-expanded-legacy-2021.json").read_text())
LEGACY_TENANT = "dc368399-474c-4d40-900c-6265431fd81f"  # the organizer's


def record(i: int, **changes) -> dict:
    r = copy.deepcopy(LEGACY)
    r["id"] = f"00000000-0000-0000-0000-{i:012d}"
    r.update(changes)
    return r


def rid(i: int) -> str:
    return f"00000000-0000-0000-0000-{i:012d}"


def load(*args):
    result = CliRunner().invoke(main, ["load", "--quiet", *map(str, args)], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def rejects(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("rejected:")]


def loaded_ids(graph) -> list[str]:
    return [r["id"] for r in query(graph, "MATCH (c:CallRecord) RETURN c.id AS id ORDER BY id")]


def stream(record: dict, s: int = 0) -> dict:
    return record["sessions"][0]["segments"][0]["media"][0]["streams"][s]


def rejection(record: dict) -> str:
    with pytest.raises(RecordError) as caught:
        transform_record(record)
    return str(caught.value)


# --- text readers -------------------------------------------------------------------------------

def test_byte_order_marks_and_utf16_and_utf32_files_load(graph, cli_env, tmp_path):
    array = json.dumps([record(1), record(2)])
    lines = json.dumps(record(3)) + "\n" + json.dumps(record(4)) + "\n"
    files = {
        "bom-array.json": codecs.BOM_UTF8 + array.encode(),
        "bom-lines.jsonl": codecs.BOM_UTF8 + lines.encode(),
        "utf16.jsonl": lines.replace("3", "5").replace("000000000004", "000000000006").encode("utf-16"),  # BOM
        "utf16be.json": json.dumps([record(7)]).encode("utf-16-be"),  # no BOM
        "utf32.json.gz": gzip.compress(json.dumps({"value": [record(8)]}).encode("utf-32")),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    code, output = load(tmp_path)
    assert code == 0, output
    assert rejects(output) == []
    assert loaded_ids(graph) == [rid(i) for i in (1, 2, 3, 4, 5, 6, 7, 8)]


def test_a_cut_or_header_only_gzip_loads_what_it_can_read_and_names_the_line(graph, cli_env, tmp_path):
    noise = random.Random(1)
    records = [record(i, padding="".join(noise.choice("abcdef") for _ in range(3000))) for i in range(1, 41)]
    data = gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    header_only = tmp_path / "header.jsonl.gz"
    header_only.write_bytes(data[:10])
    code, output = load(cut, header_only)
    assert code == 1
    readable = loaded_ids(graph)
    assert 10 < len(readable) < 40 and readable == [rid(i) for i in range(1, len(readable) + 1)]
    message = "the compressed file is cut short here (it ends before gzip's end marker): what came before was read, " \
              "the rest is missing"
    assert rejects(output) == [f"rejected: {cut}:{len(readable) + 1}: {message}",
                               f"rejected: {header_only}:1: {message}"]


def test_a_cut_gzip_page_keeps_the_records_before_the_break(tmp_path):
    noise = random.Random(2)
    page = {"value": [record(i, padding="".join(noise.choice("abcdef") for _ in range(3000))) for i in range(1, 41)]}
    data = gzip.compress(json.dumps(page, indent=1).encode())
    path = tmp_path / "page.json.gz"
    path.write_bytes(data[: len(data) // 2])
    items = list(read_items(str(path)))
    read = [item.record["id"] for item in items if item.record]
    assert 10 < len(read) < 40 and read == [rid(i) for i in range(1, len(read) + 1)]
    assert [(item.origin, item.error[:32]) for item in items if item.error] == [
        (f"{path}:value[{len(read)}]", "the compressed file is cut short")]


def test_plain_text_says_it_is_not_json_with_its_line(graph, cli_env, tmp_path):
    notes = tmp_path / "notes.json"
    notes.write_text("\n\nid,version,type\n1,2,peerToPeer\n")
    code, output = load(notes)
    assert code == 1
    assert rejects(output) == [f"rejected: {notes}:3: not JSON: the line starts with 'id,version,type'; call records "
                               "are JSON (an object, an array or page of them, or one object per line)"]


def test_json_lines_whose_first_line_is_broken_still_load_the_rest(graph, cli_env, tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_text('{"id": "x", "vers\n' + json.dumps(record(1)) + "\n")
    code, output = load(path)
    assert rejects(output) == [f"rejected: {path}:1: truncated JSON: the line ends in the middle of a record"]
    assert loaded_ids(graph) == [rid(1)]


def test_deep_nesting_surrogates_and_duplicate_members_reject_that_record_alone(graph, cli_env, tmp_path):
    deep_line = json.dumps(record(2))[:-1] + ', "extra": ' + "[" * 1000 + "]" * 1000 + "}"
    nested = {}
    inner = nested
    for _ in range(MAX_DEPTH + 5):
        inner["a"] = {}
        inner = inner["a"]
    lines = [
        json.dumps(record(1)),
        deep_line,  # too deep for the JSON reader itself
        json.dumps(record(3, extra=nested)),  # readable, too deep to keep
        json.dumps(record(4, joinWebUrl="https://teams/\ud800")),  # json.dumps writes the escape \ud800
        json.dumps(record(5))[:-1] + ', "version": 7}',  # version twice
        json.dumps(record(6))[:-1] + ', "version": %d}' % LEGACY["version"],  # the same value twice: fine
    ]
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, output = load(path)
    assert code == 1
    assert rejects(output) == [
        f"rejected: {path}:2: nested too deeply to read (callgraph takes up to 64 levels)",
        f"rejected: {path}:3: record {rid(3)} extra: nested more than 64 levels deep; callgraph takes up to 64",
        f"rejected: {path}:4: record {rid(4)} joinWebUrl: contains '\\ud800' at character 14, half of a UTF-16 pair "
        "(a lone surrogate): not text",
        f"rejected: {path}:5: the member 'version' appears twice in one object: which one counts is not clear, "
        "so the record is not loaded",
    ]
    assert loaded_ids(graph) == [rid(1), rid(6)]


def test_a_duplicate_member_in_a_page_rejects_that_record_alone(tmp_path):
    text = json.dumps({"value": [record(1), record(2), record(3)]})
    sessions = text.index('"sessions": [', text.index(rid(2)))
    path = tmp_path / "page.json"
    path.write_text(text[:sessions] + '"type": "groupCall", ' + text[sessions:])  # record 2 has a type already
    items = list(read_items(str(path)))
    assert [item.record["id"] for item in items if item.record] == [rid(1), rid(3)]
    assert [(item.origin, item.error) for item in items if item.error] == [
        (f"{path}:1:value[1]", "the member 'type' appears twice in one object: which one counts is not clear, "
                             "so the record is not loaded")]


# --- values --------------------------------------------------------------------------------------

def test_a_negative_duration_is_dropped_and_named():
    r = record(1)
    stream(r)["averageJitter"] = "-PT5S"
    stream(r)["averageRoundTripTime"] = "-PT0.5S"
    s = transform_record(r).nodes("Stream")[f"{rid(1)}:0:0:0:0"]
    assert "averageJitterMs" not in s and "averageRoundTripTimeMs" not in s
    assert s["dropped"] == ["averageJitterMs", "averageRoundTripTimeMs"]


def test_an_end_before_the_start_gives_no_duration_and_says_so():
    r = record(1, startDateTime="2020-02-25T19:00:00Z", endDateTime="2020-02-25T18:00:00Z")
    node = transform_record(r).nodes("CallRecord")[rid(1)]
    assert "durationMs" not in node and node["dropped"] == ["durationMs"]
    assert (node["startDateTime"], node["endDateTime"]) == ("2020-02-25T19:00:00.000000000Z",
                                                          "2020-02-25T18:00:00.000000000Z")


def test_non_finite_numbers_and_odd_digits_in_members_that_cannot_hold_them_reject_the_record():
    bad_id = record(1)
    bad_id["sessions"][0]["caller"]["identity"]["user"]["id"] = float("-inf")
    assert rejection(bad_id) == "sessions[0].caller.identity.user.id: expected a string, got -inf"
    assert rejection(record(1, joinWebUrl=float("nan"))) == "joinWebUrl: expected a string, got nan"
    assert rejection(record(1, version=float("inf"))) == "version: expected an integer, got inf"
    assert rejection(record(1, startDateTime="２０２０-02-25T18:52:21Z")) == (
        "startDateTime: expected an ISO 8601 date-time such as 2020-02-25T18:52:21Z, got '２０２０-02-25T18:52:21Z'")
    # in a float metric, the OData rule: NaN absent, Infinity an infinity
    r = record(1)
    stream(r)["averagePacketLossRate"], stream(r)["maxPacketLossRate"] = float("nan"), float("inf")
    s = transform_record(r).nodes("Stream")[f"{rid(1)}:0:0:0:0"]
    assert "averagePacketLossRate" not in s and s["maxPacketLossRate"] == float("inf")


def test_an_integer_past_64_bits_rejects_the_record_in_a_documented_member_and_is_text_in_an_unknown_one():
    r = record(1)
    r["sessions"][0]["segments"][0]["media"][0]["callerNetwork"]["port"] = 2 ** 63
    assert rejection(r) == ("sessions[0].segments[0].media[0].callerNetwork.port: 9223372036854775808 is past the "
                            "64-bit integers a database holds")
    node = transform_record(record(1, bigCounter=2 ** 64, counters=[1, 2 ** 70])).nodes("CallRecord")[rid(1)]
    assert node["bigCounter"] == "18446744073709551616" and node["counters"] == "[1, 1180591620717411303424]"
    assert transform_record(record(1, bigCounter=2 ** 63 - 1)).nodes("CallRecord")[rid(1)]["bigCounter"] == 2 ** 63 - 1


def test_members_named_like_what_callgraph_derives_are_stored_apart():
    r = record(1, sessionCount=3, durationMs=-1, dropped="yes", graph_note="kept", tenantId="mine")
    stream(r)["quality"] = "bogus"
    stream(r)["averageJitterMs"] = 999
    r["sessions"][0]["ratedStreams"] = 100
    r["sessions"][0]["segments"][0]["callee"]["sentPoorStreams"] = 7
    rows = transform_record(r)
    node = rows.nodes("CallRecord")[rid(1)]
    assert (node["sessionCount"], node["graph_sessionCount"], node["graph_durationMs"], node["graph_dropped"],
            node["graph_graph_note"], node["graph_tenantId"]) == (1, 3, -1, "yes", "kept", "mine")
    assert node["durationMs"] > 0 and "dropped" not in node and node["tenantId"] == LEGACY_TENANT
    streams = rows.nodes("Stream")
    s = streams[f"{rid(1)}:0:0:0:0"]
    assert (s["graph_quality"], s["graph_averageJitterMs"]) == ("bogus", 999)
    assert s["quality"] in ("good", "poor", "unclassified")  # callgraph's own verdict, not Graph's member
    session = rows.nodes("Session")[f"{rid(1)}:0"]
    rated = sum(1 for x in streams.values() if x.get("modality") == "audio" and x["quality"] in ("good", "poor"))
    assert (session["ratedStreams"], session["graph_ratedStreams"]) == (rated, 100)
    (callee,) = rows.rels("Segment", "CALLEE", "Endpoint")
    assert callee["props"]["graph_sentPoorStreams"] == 7 and callee["props"]["sentPoorStreams"] != 7


def test_a_list_page_copy_carrying_a_session_count_is_completed_by_the_full_record(graph, cli_env, tmp_path):
    listed = {k: v for k, v in record(1).items() if k not in ("sessions", "sessions@odata.nextLink")}
    listed["sessionCount"] = 3
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"value": [listed]}))
    full = tmp_path / "full.json"
    full.write_text(json.dumps(record(1)))
    assert load(page)[0] == 0
    code, output = load(full)
    assert code == 0, output
    (row,) = query(graph, "MATCH (c:CallRecord) OPTIONAL MATCH (c)-[:CONTAINS]->(s:Session) "
                          "RETURN c.sessionCount AS n, c.graph_sessionCount AS graphs, count(s) AS stored")
    assert row == {"n": 1, "graphs": 3, "stored": 1}


def test_an_identity_of_a_kind_callgraph_makes_cannot_rename_a_service_endpoint():
    r = record(1)
    caller = r["sessions"][0]["segments"][0]["caller"]
    service = {"@odata.type": "#microsoft.graph.callRecords.serviceEndpoint",
               "userAgent": {"@odata.type": "#microsoft.graph.callRecords.serviceUserAgent", "role": "gateway",
                             "headerValue": "SBC/1.0"}}
    r["sessions"][0]["segments"][0]["callee"] = service
    caller["identity"] = {"service": {"id": "gateway:SBC/1.0", "displayName": "Evil"}}
    rows = transform_record(r)
    assert rows.nodes("Endpoint")["service:gateway:SBC/1.0"] == {"kind": "service", "role": "gateway",
                                                                 "userAgent": "SBC/1.0"}
    (caller_edge,) = rows.rels("Segment", "CALLER", "Endpoint")
    assert caller_edge["end"] == f"anonymous:{rid(1)}:0:0:caller"
    assert json.loads(caller_edge["props"]["identity"]) == caller["identity"]


# --- output ---------------------------------------------------------------------------------------

def test_formula_cells_are_neutralised_in_csv_and_control_characters_escaped_in_tables(graph, cli_env, tmp_path):
    text = json.dumps(record(1))
    text = text.replace("Abbie Wilkins", '=HYPERLINK(\\"http://evil.example\\",\\"click\\")')
    text = text.replace("Owen Franklin", "\\u001b[2J\\u001b[31mred\\u001b[0m\\u202eevil")
    path = tmp_path / "calls.json"
    path.write_text(text)
    assert load(path)[0] == 0

    def run(*args):
        result = CliRunner().invoke(main, ["query", "who-calls-whom", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    csv_text = run("--format", "csv")
    assert csv_text.splitlines()[1].startswith('"\'=HYPERLINK(""http://evil.example"",""click"")",user,')
    assert "\"'=HYPERLINK(" in csv_text and "\x1b[2J" in csv_text  # CSV keeps text as it is, formulas aside
    raw = run("--format", "csv", "--raw-csv")
    assert raw.splitlines()[1].startswith("\"=HYPERLINK(")
    table = run()
    assert "\x1b" not in table and "\u202e" not in table
    assert "\\x1b[2J\\x1b[31mred\\x1b[0m\\u202eevil" in table
    assert json.loads(run("--format", "json"))[0]["callee"] == "\x1b[2J\x1b[31mred\x1b[0m\u202eevil"
