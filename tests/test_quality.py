"""Given a stream's stored metrics, each rule of the model's table gives this verdict: at every
threshold (exactly at it, just above, just below), with each metric missing, at the packet
gate (500 and 501), and through the video steps in order. No database needed."""

import pytest

from loader.ingest.transform import VERDICT_PLANS
from loader.model import QUALITY_RULE_BY_NAME, judge, markdown, modality_of

CQD, LEGACY = VERDICT_PLANS["cqd"], VERDICT_PLANS["cqd-legacy"]
# a stream that every rule finds good, and enough packets for the gate
GOOD_AUDIO = {"averageRoundTripTimeMs": 100.0, "averagePacketLossRate": 0.01, "averageJitterMs": 10.0,
              "averageAudioDegradation": 0.2, "averageRatioOfConcealedSamples": 0.01, "packetUtilization": 5000}
EPSILON = 1e-9


def audio(plan, **metrics):
    return judge(plan, "audio", {**GOOD_AUDIO, **metrics})


AUDIO_LIMITS = {
    "cqd": [("averageRoundTripTime", "averageRoundTripTimeMs", 500.0), ("averagePacketLossRate", "averagePacketLossRate", 0.1),
            ("averageJitter", "averageJitterMs", 30.0)],
    "cqd-legacy": [("averageAudioDegradation", "averageAudioDegradation", 1.0),
                   ("averageRoundTripTime", "averageRoundTripTimeMs", 500.0),
                   ("averagePacketLossRate", "averagePacketLossRate", 0.1), ("averageJitter", "averageJitterMs", 30.0),
                   ("averageRatioOfConcealedSamples", "averageRatioOfConcealedSamples", 0.07)],
}


@pytest.mark.parametrize("rule,member,name,limit", [(rule, *t) for rule, ts in AUDIO_LIMITS.items() for t in ts])
def test_each_audio_threshold_is_crossed_only_above_it(rule, member, name, limit):
    plan = VERDICT_PLANS[rule]
    assert audio(plan, **{name: limit}) == ("good", None)  # exactly at it
    assert audio(plan, **{name: limit - EPSILON}) == ("good", None)
    assert audio(plan, **{name: limit + EPSILON}) == ("poor", [member])


def test_the_current_rule_ignores_degradation_and_concealment_the_old_one_counts():
    both = {"averageAudioDegradation": 1.5, "averageRatioOfConcealedSamples": 0.2}
    assert audio(CQD, **both) == ("good", None)
    assert audio(LEGACY, **both) == ("poor", ["averageAudioDegradation", "averageRatioOfConcealedSamples"])


def test_poor_reasons_name_every_metric_that_crossed_in_the_rules_order():
    bad = {"averageJitterMs": 31.0, "averageRoundTripTimeMs": 501.0, "averagePacketLossRate": 0.2}
    assert audio(CQD, **bad) == ("poor", ["averageRoundTripTime", "averagePacketLossRate", "averageJitter"])
    assert audio(LEGACY, **bad) == ("poor", ["averageRoundTripTime", "averagePacketLossRate", "averageJitter"])


def test_the_packet_gate_at_500_and_501():
    assert audio(CQD, averageJitterMs=40.0, packetUtilization=500) == ("good", None)
    assert audio(CQD, averageJitterMs=40.0, packetUtilization=501) == ("poor", ["averageJitter"])
    # the gate alone makes nothing poor, and the old rule has none
    assert audio(CQD, packetUtilization=501) == ("good", None)
    assert audio(LEGACY, averageJitterMs=40.0, packetUtilization=500) == ("poor", ["averageJitter"])
    # without packetUtilization a stream that crosses cannot be judged; one that does not is good
    no_packets = {k: v for k, v in GOOD_AUDIO.items() if k != "packetUtilization"}
    assert judge(CQD, "audio", {**no_packets, "averageJitterMs": 40.0}) == ("unclassified", None)
    assert judge(CQD, "audio", no_packets) == ("good", None)
    assert judge(LEGACY, "audio", {**no_packets, "averageJitterMs": 40.0}) == ("poor", ["averageJitter"])


@pytest.mark.parametrize("rule", ["cqd", "cqd-legacy"])
def test_each_audio_metric_missing(rule):
    plan = VERDICT_PLANS[rule]
    names = [name for _, name, _ in AUDIO_LIMITS[rule]]
    for missing in names:
        stream = {k: v for k, v in GOOD_AUDIO.items() if k != missing}
        assert judge(plan, "audio", stream) == ("good", None)
        others = [n for n in names if n != missing]
        crossing = {**stream, others[0]: 10**6}
        assert judge(plan, "audio", crossing)[0] == "poor"
    # none measured: unclassified, whatever else the stream carries
    assert judge(plan, "audio", {"packetUtilization": 9000, "averageVideoFrameRate": 1.0}) == ("unclassified", None)
    assert judge(plan, "audio", {}) == ("unclassified", None)


@pytest.mark.parametrize("rule", ["cqd", "cqd-legacy"])
@pytest.mark.parametrize("modality,floor", [("video", 7.0), ("vbss", 2.0)])
def test_video_steps_fall_through_in_order(rule, modality, floor):
    plan = VERDICT_PLANS[rule]

    def video(**metrics):
        return judge(plan, modality, metrics)

    # step 1, frame loss %: decides whatever follows
    assert video(averageVideoFrameLossPercentage=50.0, averageVideoFrameRate=0.5) == ("good", None)
    assert video(averageVideoFrameLossPercentage=50.0 + EPSILON, averageVideoFrameRate=30.0) == (
        "poor", ["averageVideoFrameLossPercentage"])
    assert video(averageVideoFrameLossPercentage=49.9) == ("good", None)
    # step 2, the frame rate (sent, else received): poor below the floor, not at it
    assert video(averageVideoFrameRate=floor, postForwardErrorCorrectionPacketLossRate=0.9) == ("good", None)
    assert video(averageVideoFrameRate=floor - EPSILON) == ("poor", ["averageVideoFrameRate"])
    assert video(averageVideoFrameRate=floor + EPSILON) == ("good", None)
    assert video(averageReceivedFrameRate=floor - EPSILON) == ("poor", ["averageReceivedFrameRate"])
    assert video(averageVideoFrameRate=floor, averageReceivedFrameRate=0.0) == ("good", None)
    # step 3, post-FEC loss
    assert video(postForwardErrorCorrectionPacketLossRate=0.15) == ("good", None)
    assert video(postForwardErrorCorrectionPacketLossRate=0.15 + EPSILON) == (
        "poor", ["postForwardErrorCorrectionPacketLossRate"])
    assert video(postForwardErrorCorrectionPacketLossRate=0.1) == ("good", None)
    # nothing measured
    assert video(packetUtilization=90000, averageJitterMs=500.0) == ("unclassified", None)


def test_the_two_frame_rate_floors():
    assert judge(CQD, "video", {"averageVideoFrameRate": 5.0}) == ("poor", ["averageVideoFrameRate"])
    assert judge(CQD, "vbss", {"averageVideoFrameRate": 5.0}) == ("good", None)


@pytest.mark.parametrize("rule", ["cqd", "cqd-legacy"])
@pytest.mark.parametrize("modality", ["appSharing", "data", None])
def test_application_sharing_data_and_unknown_lines_are_unclassified(rule, modality):
    bad = {**GOOD_AUDIO, "averageJitterMs": 99.0, "averageVideoFrameRate": 0.1}
    assert judge(VERDICT_PLANS[rule], modality, bad) == ("unclassified", None)


def test_modality_by_label_else_the_sessions_one_modality():
    assert [modality_of(label, ["audio", "video"]) for label in (
        "main-audio", "main-video", "main-vbss", "applicationsharing-video", "applicationsharing", "data")] == [
        "audio", "video", "vbss", "vbss", "appSharing", "data"]
    assert modality_of(None, ["videoBasedScreenSharing"]) == "vbss"
    assert modality_of(None, ["screenSharing"]) == "appSharing"
    assert modality_of("", ["audio", "video"]) is None
    assert modality_of(None, None) is None


def test_the_model_doc_lists_every_rule_and_says_why_sharing_is_unclassified():
    doc = markdown()
    for rule in QUALITY_RULE_BY_NAME:
        assert f"### `{rule}`" in doc
    assert "Graph's mediaStream has no tile metrics" in doc
    assert "`packetUtilization` > 500" in doc
