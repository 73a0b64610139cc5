"""Task parameter validation against the catalog, and the transcript renditions."""

import pytest

from framelane_core.errors import InvalidRequest
from framelane_tasks import catalog
from framelane_tasks.processors.transcribe import to_srt, to_vtt

SRC = "https://media.example.com/a.mp4"


def problems(type_name: str, body: dict) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as err:
        catalog.validate(type_name, body)
    return {p["path"]: p["code"] for p in err.value.details}


def test_defaults_are_filled_and_common_fields_split_off():
    row, params, metadata, hook = catalog.validate("super-resolution", {"source_url": SRC, "metadata": {"a": "1"},
                                                                         "webhook_url": "https://hooks.example.com/x"})
    assert row["task_type"] == "super_resolution"
    assert params == {"source_url": SRC, "scale": 2, "model": "fast"}
    assert metadata == {"a": "1"} and hook == "https://hooks.example.com/x"
    _, params, _, _ = catalog.validate("transcribe", {"source_url": SRC, "language": "en-US", "speaker_labels": False})
    assert params == {"source_url": SRC, "language": "en", "word_timings": True}


def test_every_violation_is_listed_with_its_path():
    assert problems("super-resolution", {"scale": 7, "model": "best", "colour": 1, "webhook_url": "ftp://x"}) == {
        "$.source_url": "required", "$.scale": "out_of_range", "$.model": "enum",
        "$.colour": "unknown_field", "$.webhook_url": "invalid_url"}
    assert problems("super-resolution", {"source_url": SRC, "scale": 1.5}) == {"$.scale": "invalid_type"}


def test_flags_we_cannot_honour_are_accepted_off_and_refused_on():
    catalog.validate("transcribe", {"source_url": SRC, "speaker_labels": False, "sentiment_analysis": False})
    assert problems("transcribe", {"source_url": SRC, "speaker_labels": True, "sentiment_analysis": True,
                                   "language": "de"}) == {
        "$.speaker_labels": "unsupported_option", "$.sentiment_analysis": "unsupported_option",
        "$.language": "unsupported_language"}


def test_unsupported_and_unknown_types_are_refused():
    assert problems("upscale", {"source_url": SRC}) == {"$.type": "unknown_task_type"}


def test_capabilities_say_supported_only_for_what_validation_accepts():
    tasks = {row["type"]: row for row in catalog.describe()["tasks"]}
    assert {t for t, row in tasks.items() if row["supported"]} == {"transcribe", "super-resolution",
                                                                    "remove-background", "gaze-redirect"}
    assert tasks["transcribe"]["params"]["speaker_labels"]["supported"] is False
    assert tasks["super-resolution"]["params"]["model"]["values"] == {"fast": {"supported": True},
                                                                       "enhance": {"supported": True}}


def test_srt_and_vtt_renditions():
    segments = [{"start": 0.0, "end": 1.5, "text": "Hello world."}, {"start": 61.25, "end": 3723.0, "text": "Bye."}]
    assert to_srt(segments) == ("1\n00:00:00,000 --> 00:00:01,500\nHello world.\n\n"
                                "2\n00:01:01,250 --> 01:02:03,000\nBye.\n")
    assert to_vtt(segments).startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello world.\n\n00:01:01.250")
