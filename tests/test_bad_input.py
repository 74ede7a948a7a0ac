"""Bad input: each bad record gets one line naming file, place, record and reason; good ones land."""

import copy
import json

from click.testing import CliRunner

from conftest import fixture_path, query
from loader.cli import main

LEGACY = json.loads(fixture_path("v1.0-get-callrecord-expanded-legacy-2021.json").read_text())


def record(i: int, **changes) -> dict:
    r = copy.deepcopy(LEGACY)
    r["id"] = f"00000000-0000-0000-0000-{i:012d}"
    r.update(changes)
    return r


def run_load(path):
    result = CliRunner().invoke(main, ["load", "--quiet", str(path)], catch_exceptions=False)
    return result.exit_code, result.output


def loaded_ids(graph) -> list[str]:
    return [r["id"] for r in query(graph, "MATCH (c:CallRecord) RETURN c.id AS id ORDER BY id")]


def test_bad_lines_in_json_lines_are_rejected_and_the_rest_loads(graph, cli_env, tmp_path):
    duplicate = record(5)
    duplicate["sessions"].append(copy.deepcopy(duplicate["sessions"][0]))  # same session id twice: valid
    odd = record(6, type="holographicCall", brandNewMember={"nested": [1, 2]})  # unknown enum, extra member
    lines = [
        json.dumps(record(1)),
        json.dumps({k: v for k, v in record(2).items() if k != "id"}),
        json.dumps(record(3, startDateTime=20200225)),
        '{"id": "00000000-0000-0000-0000-000000000004", "version": 1, "sessions": [',
        json.dumps(duplicate),
        json.dumps(odd),
    ]
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, output = run_load(path)
    assert code == 1
    rejects = [line for line in output.splitlines() if line.startswith("rejected:")]
    assert rejects == [
        f"rejected: {path}:2: record has no id",
        f"rejected: {path}:3: record 00000000-0000-0000-0000-000000000003 startDateTime: "
        "expected an ISO 8601 date-time string, got 20200225",
        f"rejected: {path}:4: truncated JSON: the line ends in the middle of a record",
    ]
    assert "3 loaded" in output and "3 rejected" in output
    assert loaded_ids(graph) == ["00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000005",
                                 "00000000-0000-0000-0000-000000000006"]
    sessions = query(graph, """MATCH (:CallRecord {id: '00000000-0000-0000-0000-000000000005'})-[:CONTAINS]->(s:Session)
                               RETURN s.id AS id, s.key AS key ORDER BY key""")
    assert sessions == [{"id": LEGACY["id"], "key": "00000000-0000-0000-0000-000000000005:0"},
                        {"id": LEGACY["id"], "key": "00000000-0000-0000-0000-000000000005:1"}]
    (odd_row,) = query(graph, "MATCH (c:CallRecord {id: '00000000-0000-0000-0000-000000000006'}) "
                              "RETURN c.type AS type, c.brandNewMember AS extra")
    assert odd_row == {"type": "holographicCall", "extra": '{"nested": [1, 2]}'}


def test_a_truncated_page_keeps_the_records_before_the_break(graph, cli_env, tmp_path):
    page = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#communications/callRecords",
            "value": [record(1), record(2), record(3)]}
    text = json.dumps(page, indent=2)
    path = tmp_path / "page.json"
    path.write_text(text[: text.index('"00000000-0000-0000-0000-000000000003"') + 20])
    code, output = run_load(path)
    assert code == 1
    assert f"rejected: {path}:value[2]: truncated JSON: the file ends in the middle of a record" in output
    assert loaded_ids(graph) == ["00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"]


def test_a_record_of_the_wrong_shape_in_a_page_is_named_by_position_and_id(graph, cli_env, tmp_path):
    bad = record(2)
    bad["sessions"][0]["segments"][0]["media"][0]["streams"][0]["packetUtilization"] = "lots"
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"value": [record(1), bad, [1, 2]]}, indent=1))
    code, output = run_load(path)
    assert code == 1
    assert (f"rejected: {path}:value[1]: record 00000000-0000-0000-0000-000000000002 "
            "sessions[0].segments[0].media[0].streams[0].packetUtilization: expected an integer, got 'lots'") in output
    assert f"rejected: {path}:value[2]: expected a callRecord object, got list" in output
    assert loaded_ids(graph) == ["00000000-0000-0000-0000-000000000001"]


def test_a_missing_path_is_a_usage_error(cli_env, tmp_path):
    result = CliRunner().invoke(main, ["load", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "nope.json: no such file or directory" in result.output
