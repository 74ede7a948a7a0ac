"""Given streams around every threshold loaded into Neo4j, `callgraph classify --rule NAME`
re-judges each one and every count built from the verdicts, and a re-load changes nothing."""

import copy
import json

from click.testing import CliRunner

from conftest import fixture_path, query, snapshot
from loader.cli import main

LEGACY = json.loads(fixture_path("v1.0-get-callrecord-expanded-legacy-2021.json").read_text())
GOOD = {"averageRoundTripTime": "PT0.1S", "averagePacketLossRate": 0.01, "averageJitter": "PT0.01S",
        "averageAudioDegradation": 0.2, "averageRatioOfConcealedSamples": 0.01, "packetUtilization": 5000}

# (stream id, direction, members over GOOD (None: left out), quality by cqd, by cqd-legacy)
AUDIO = [
    ("rtt-at", "callerToCallee", {"averageRoundTripTime": "PT0.5S"}, ("good", None), ("good", None)),
    ("rtt-above", "callerToCallee", {"averageRoundTripTime": "PT0.501S"},
     ("poor", ["averageRoundTripTime"]), ("poor", ["averageRoundTripTime"])),
    ("loss-at", "calleeToCaller", {"averagePacketLossRate": 0.1}, ("good", None), ("good", None)),
    ("loss-above", "calleeToCaller", {"averagePacketLossRate": 0.1001},
     ("poor", ["averagePacketLossRate"]), ("poor", ["averagePacketLossRate"])),
    ("jitter-above-gate-500", "callerToCallee", {"averageJitter": "PT0.031S", "packetUtilization": 500},
     ("good", None), ("poor", ["averageJitter"])),
    ("jitter-above-gate-501", "callerToCallee", {"averageJitter": "PT0.031S", "packetUtilization": 501},
     ("poor", ["averageJitter"]), ("poor", ["averageJitter"])),
    ("degradation-above", "calleeToCaller", {"averageAudioDegradation": 1.01},
     ("good", None), ("poor", ["averageAudioDegradation"])),
    ("concealed-above", "calleeToCaller", {"averageRatioOfConcealedSamples": 0.0701},
     ("good", None), ("poor", ["averageRatioOfConcealedSamples"])),
    ("no-packets-crossing", "callerToCallee", {"averageJitter": "PT0.05S", "packetUtilization": None},
     ("unclassified", None), ("poor", ["averageJitter"])),
    ("nothing-measured", "callerToCallee", {name: None for name in GOOD}, ("unclassified", None), ("unclassified", None)),
]
VIDEO = [  # (label, stream id, members, by either rule)
    ("main-video", "frame-loss-first", {"averageVideoFrameLossPercentage": 50.5, "averageVideoFrameRate": 30.0},
     ("poor", ["averageVideoFrameLossPercentage"])),
    ("main-video", "frame-rate-low", {"averageVideoFrameRate": 6.9}, ("poor", ["averageVideoFrameRate"])),
    ("main-video", "fec-only-good", {"postForwardErrorCorrectionPacketLossRate": 0.15}, ("good", None)),
    ("applicationsharing-video", "vbss-5fps", {"averageVideoFrameRate": 5.0}, ("good", None)),
    ("applicationsharing-video", "vbss-1fps", {"averageVideoFrameRate": 1.9}, ("poor", ["averageVideoFrameRate"])),
    ("applicationsharing", "app-sharing", {"averageVideoFrameRate": 0.5}, ("unclassified", None)),
]


def threshold_record() -> dict:
    """The legacy example with one segment holding an audio line of the AUDIO streams and a line
    per video label, through the example's two relays."""
    record = copy.deepcopy(LEGACY)
    record["sessions"][0]["modalities"] = ["audio", "video", "videoBasedScreenSharing", "screenSharing"]
    segment = record["sessions"][0]["segments"][0]
    audio_line = segment["media"][0]
    lines = {"main-audio": []}
    for sid, direction, members, _, _ in AUDIO:
        stream = {**GOOD, **members, "streamId": sid, "streamDirection": direction}
        lines["main-audio"].append({k: v for k, v in stream.items() if v is not None})
    for label, sid, members, _ in VIDEO:
        lines.setdefault(label, []).append({"streamId": sid, "streamDirection": "callerToCallee", **members})
    segment["media"] = [{**copy.deepcopy(audio_line), "label": label, "streams": streams}
                        for label, streams in lines.items()]
    return record


def expected(rule: str) -> dict:
    column = 3 if rule == "cqd" else 4
    out = {sid: ("audio", *row[column]) for row in AUDIO for sid in [row[0]]}
    modality = {"main-video": "video", "applicationsharing-video": "vbss", "applicationsharing": "appSharing"}
    out |= {sid: (modality[label], *verdict) for label, sid, _, verdict in VIDEO}
    return out


def verdicts(graph) -> dict:
    return {row["id"]: (row["modality"], row["quality"], row["reasons"]) for row in query(
        graph, "MATCH (s:Stream) RETURN s.streamId AS id, s.modality AS modality, s.quality AS quality, "
               "s.poorReasons AS reasons")}


def counts(graph) -> dict:
    """Every count of verdicts, where the saved queries read them."""
    return {
        "media": {row["label"]: row["counts"] for row in query(graph, """
            MATCH (m:Media) RETURN m.label AS label, [m.modality, m.callerRatedStreams, m.callerPoorStreams,
                                   m.calleeRatedStreams, m.calleePoorStreams] AS counts""")},
        "ends": sorted(row["c"] for row in query(graph, """
            MATCH (:Segment)-[e:CALLER|CALLEE]->() RETURN [type(e), e.sentRatedStreams, e.sentPoorStreams] AS c""")),
        "sessions": [row["c"] for row in query(graph, "MATCH (s:Session) RETURN [s.ratedStreams, s.poorStreams] AS c")],
        "relays": sorted(row["c"] for row in query(graph, """
            MATCH (:Segment)-[u:USED_RELAY]->() WHERE u.modality IN ['audio', 'video']
            RETURN [u.modality, u.side, u.ratedStreams, u.poorStreams] AS c""")),
        "rule": query(graph, "MATCH (q:QualityRule) RETURN q.name AS name, q.complete AS complete, q.streams AS n"),
    }


def run(*args, input=None):
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


CQD_COUNTS = {
    # audio: the caller sent 6 streams (rtt-at, rtt-above, gate-500, gate-501, no-packets, nothing), 4 of
    # them classified by cqd, 2 poor; the callee 4 (all classified), 1 poor
    "media": {"main-audio": ["audio", 4, 2, 4, 1], "main-video": ["video", 3, 2, 0, 0],
              "applicationsharing-video": ["vbss", 2, 1, 0, 0], "applicationsharing": ["appSharing", 0, 0, 0, 0]},
    "ends": [["CALLEE", 4, 1], ["CALLER", 4, 2]],
    "sessions": [[8, 3]],
    "relays": [["audio", "callee", 8, 3], ["audio", "caller", 8, 3], ["video", "callee", 3, 2],
               ["video", "caller", 3, 2]],
}
LEGACY_COUNTS = {
    "media": {"main-audio": ["audio", 5, 4, 4, 3], "main-video": ["video", 3, 2, 0, 0],
              "applicationsharing-video": ["vbss", 2, 1, 0, 0], "applicationsharing": ["appSharing", 0, 0, 0, 0]},
    "ends": [["CALLEE", 4, 3], ["CALLER", 5, 4]],
    "sessions": [[9, 7]],
    "relays": [["audio", "callee", 9, 7], ["audio", "caller", 9, 7], ["video", "callee", 3, 2],
               ["video", "caller", 3, 2]],
}


def test_classify_rejudges_every_stream_and_count_and_a_reload_changes_nothing(graph, cli_env, tmp_path):
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps(threshold_record()))
    run("load", "--quiet", str(path))
    assert verdicts(graph) == expected("cqd")
    assert counts(graph) == CQD_COUNTS | {"rule": []}  # no classify yet: cqd

    result = run("classify", "--rule", "cqd-legacy", "--quiet")
    assert "classified 16 streams of 1 call records by rule cqd-legacy" in result.stderr
    assert verdicts(graph) == expected("cqd-legacy")
    assert counts(graph) == LEGACY_COUNTS | {"rule": [{"name": "cqd-legacy", "complete": True, "n": 16}]}

    # a re-load of the same input changes nothing; a new version is judged by the rule in force
    before = snapshot(graph)
    run("load", "--quiet", str(path))
    assert snapshot(graph) == before
    newer = threshold_record()
    newer["version"] += 1
    path.write_text(json.dumps(newer))
    run("load", "--quiet", str(path))
    assert verdicts(graph) == expected("cqd-legacy")
    assert counts(graph)["media"] == LEGACY_COUNTS["media"]

    run("classify", "--quiet")  # back to the default
    assert verdicts(graph) == expected("cqd")
    assert counts(graph) == CQD_COUNTS | {"rule": [{"name": "cqd", "complete": True, "n": 16}]}
    before = snapshot(graph)
    run("load", "--quiet", str(path))
    assert snapshot(graph) == before


def test_query_names_the_rule_its_numbers_follow(graph, cli_env, tmp_path):
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps(threshold_record()))
    run("load", "--quiet", str(path))
    assert run("query", "shared-relays", "-p", "minCalls=1").stderr.endswith("; stream verdicts by rule cqd\n")
    run("classify", "--rule", "cqd-legacy", "--quiet")
    result = run("query", "shared-relays", "-p", "minCalls=1", "-p", "modality=video")
    assert result.stderr.endswith("; stream verdicts by rule cqd-legacy\n")
    assert [line.split()[3:5] for line in result.stdout.splitlines()[2:]] == [["3", "2"], ["3", "2"]]
    assert "verdicts" not in run("query", "failures").stderr
