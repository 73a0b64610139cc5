"""The task and workflow catalog: one row per type, read by capabilities and by validation, so a
type or option reported `supported: true` is exactly what the submit path accepts.

Parameter schema keys: type (string|number|integer|boolean|object|array), format ("uri"),
required, default, min, max, enum, pattern, supported (False: accepted in the body but 422 when
set to anything but its off value), values ({enum value: {supported: bool}} for enums some of
whose values are not supported)."""

import json
import math
import re
from typing import Any

from framelane_core.errors import InvalidRequest, violation
from framelane_core.storage import UPLOAD_MAX_BYTES
from framelane_tasks.assets import ALLOWED_CONTENT_TYPES, UPLOAD_URL_TTL

URL_MAX = 2083
# Workflow inputs and BeatAPI files are at most 50 MB each (reference §B4, §B8).
INPUT_MAX_BYTES = 50 * 1024 * 1024

TASK_TYPES = [
    {
        # The model runner (services/tasks/model_runner). Output: an image gives png (RGBA) or jpg, a
        # video webm (VP9 with alpha, its default), mov (ProRes 4444 with alpha) or mp4, audio passed
        # through. background_color (#RRGGBB or #RRGGBBAA) or background_url (an image or a looped
        # video, scaled to cover) is laid behind the subject; when opaque the output has no alpha and
        # a video defaults to mp4. The job's output names the model used (model, model_name).
        "type": "remove-background", "task_type": "remove_background", "supported": True,
        "inputs": ["image", "video"],
        "params": {
            "source_url": {"type": "string", "format": "uri", "required": True},
            # person: mediapipe selfie segmentation (fast: 720p video above 10 frames/s); general:
            # u2netp, any salient subject (about 0.6 s of CPU a frame); auto: person when the first
            # frame shows a face, else general.
            "model": {"enum": ["auto", "person", "general"], "default": "auto"},
            "output_format": {"enum": ["png", "jpg", "webm", "mov", "mp4"]},
            "background_color": {"type": "string", "pattern": "^#([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"},
            "background_url": {"type": "string", "format": "uri"},
        },
    },
    {
        # The model runner (mediapipe face mesh with iris landmarks): each open eye's iris slides
        # toward the eye's centre by intensity (0: unchanged, 1: fully centred); blinks, turned heads
        # and frames without a face are left alone. Images give png, video H.264 mp4 (mkv when mp4
        # cannot hold the audio) with the audio stream copied.
        "type": "gaze-redirect", "task_type": "gaze_redirect", "supported": True,
        "inputs": ["image", "video"],
        "params": {
            "source_url": {"type": "string", "format": "uri", "required": True},
            "intensity": {"type": "number", "min": 0, "max": 1, "default": 1},
        },
    },
    {
        "type": "super-resolution", "task_type": "super_resolution", "supported": True,
        "inputs": ["image", "video"],
        "params": {
            "source_url": {"type": "string", "format": "uri", "required": True},
            "scale": {"type": "integer", "min": 1, "max": 4, "default": 2},
            # fast: FFmpeg Lanczos + unsharp; enhance: Real-ESRGAN (animevideov3), sharper and far
            # slower (seconds per 360p frame on a CPU). Both: images and video, audio passed through.
            "model": {"enum": ["fast", "enhance"], "default": "fast",
                      "values": {"fast": {"supported": True}, "enhance": {"supported": True}}},
        },
    },
    {
        "type": "transcribe", "task_type": "transcribe", "supported": True,
        "inputs": ["audio", "video"], "outputs": ["json", "srt", "vtt"],
        "params": {
            "source_url": {"type": "string", "format": "uri", "required": True},
            "language": {"type": "string", "default": "en", "values": {"en": {"supported": True}}},
            "word_timings": {"type": "boolean", "default": True},
            "speech_model": {"type": "string", "supported": False},
            "speaker_labels": {"type": "boolean", "supported": False},
            "speakers_expected": {"type": "integer", "supported": False},
            "sentiment_analysis": {"type": "boolean", "supported": False},
            "entity_detection": {"type": "boolean", "supported": False},
            "auto_highlights": {"type": "boolean", "supported": False},
            "content_safety": {"type": "boolean", "supported": False},
            "iab_categories": {"type": "boolean", "supported": False},
            "word_boost": {"type": "array", "supported": False},
        },
    },
]

IMAGES = {"type": "array", "required": True, "min_items": 1, "max_items": 7, "items": {"format": "uri"}}
# Workflows (reference §B4, §B5; the same bodies on both faces). Priced in integer credits per
# second: a music video by its detected audio length, an e-commerce video by the duration asked.
WORKFLOWS = [
    {
        "type": "music-video", "task_type": "music_video", "supported": True, "name": "Music Video API",
        "description": "Generate short music video clips from audio, lyrics, and visual direction.",
        "params": {
            "images": IMAGES,
            "audio_url": {"type": "string", "format": "uri", "required": True},
            "prompt": {"type": "string", "max_length": 3000},
            "language": {"enum": ["en", "zh"], "default": "en"},
            # Lip sync needs a generative model this deployment does not have.
            "lip_sync": {"type": "boolean", "default": False, "supported": False},
            "lip_ref_url": {"type": "string", "format": "uri", "supported": False},
            "style": {"type": "string", "max_length": 200},
            "quality": {"enum": ["standard", "high"], "default": "standard"},
            "aspect_ratio": {"enum": ["1:1", "16:9", "9:16", "4:3", "3:4"], "default": "16:9"},
            "resolution": {"enum": ["540p", "720p", "1080p"], "default": "720p"},
            "add_subtitle": {"type": "boolean"},
            "subtitle_color": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"},
            "srt_url": {"type": "string", "format": "uri"},
            # Billing fallback only, when the audio's length cannot be measured.
            "duration": {"type": "integer", "min": 10, "max": 180},
            # manual stops at a storyboard for shot selection (BeatAPI B12–B14): not built.
            "compose_mode": {"enum": ["auto", "manual"], "default": "auto",
                             "values": {"auto": {"supported": True}, "manual": {"supported": False}}},
        },
        "audio_seconds": {"min": 10, "max": 180},
        "pricing": {"unit": "credits per second of detected audio", "per_second": {
            "540p/standard": 4, "720p/standard": 5, "1080p/standard": 6, "720p/high": 16, "1080p/high": 18}},
    },
    {
        "type": "ecommerce-video", "task_type": "ecommerce_video", "supported": True, "name": "Ecommerce Video API",
        "description": "Generate product ad videos from product images and a short creative brief.",
        "params": {
            "images": IMAGES,
            "duration": {"type": "integer", "required": True, "min": 10, "max": 60},
            "prompt": {"type": "string", "max_length": 2000},
            "aspect_ratio": {"enum": ["16:9", "9:16", "1:1"], "default": "9:16"},
            "language": {"enum": ["en", "zh"], "default": "en"},
        },
        "pricing": {"unit": "credits per second of output (1080p)", "per_second": {"1080p": 15}},
    },
]

BY_TYPE = {row["type"]: row for row in TASK_TYPES + WORKFLOWS}
WORKFLOW_TYPES = {row["task_type"]: row for row in WORKFLOWS}
TASK_TYPE_NAMES = tuple(row["task_type"] for row in TASK_TYPES + WORKFLOWS)
COMMON = ("metadata", "webhook_url")
# metadata is echoed on every job view, list page and webhook (the renderer's limits.metadata_bytes).
METADATA_MAX_BYTES = 16 * 1024


def describe() -> dict:
    """The tasks service's part of /v1/capabilities."""
    return {
        "tasks": TASK_TYPES,
        "workflows": [{k: v for k, v in row.items() if k not in ("name", "description")} for row in WORKFLOWS],
        # Media ingestion (reference §A7), served by AssetService; see framelane_tasks.assets.
        "uploads": {"supported": True, "resumable": True, "max_bytes": UPLOAD_MAX_BYTES,
                    "url_ttl_seconds": UPLOAD_URL_TTL, "content_types": list(ALLOWED_CONTENT_TYPES)},
        "imports": {"supported": True, "max_bytes": UPLOAD_MAX_BYTES, "share_links": {"supported": False}},
        "workspace_assets": {"supported": True},
        # BeatAPI's POST /beatapi/v1/files (framelane_tasks.files).
        "files": {"supported": True, "max_bytes": INPUT_MAX_BYTES, "body": ["multipart/form-data", "raw"],
                  "content_types": ["image/png", "image/jpeg", "image/webp", "audio/mpeg", "audio/wav", "audio/aac",
                                    "audio/mp4", "application/x-subrip"], "audio_seconds": {"min": 10, "max": 180}},
    }


def _type_ok(spec: dict, value: Any) -> bool:
    kind = spec.get("type")
    if kind == "string" or "enum" in spec:
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "integer":
        return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True


def _is_set(value: Any) -> bool:
    """An unsupported option is refused only when it asks for something (true, a value, a list)."""
    return value not in (None, False, "", [], {})


def credits_per_second(task_type: str, params: dict) -> int:
    """The workflow's price per billable second for these (normalized) parameters."""
    if task_type == "music_video":
        return WORKFLOW_TYPES[task_type]["pricing"]["per_second"][f"{params['resolution']}/{params['quality']}"]
    return WORKFLOW_TYPES[task_type]["pricing"]["per_second"]["1080p"]


def _rules(task_type: str, body: dict, params: dict) -> list[dict]:
    """Cross-field rules of a task or workflow (reference §B4), on parameters that passed field checks."""
    problems = []
    if task_type == "remove_background":
        color = params.get("background_color")
        if color and params.get("background_url"):
            problems.append(violation("$.background_url", "combination",
                                      "Give background_color or background_url, not both."))
        opaque = params.get("background_url") or color and (len(color) == 7 or color[7:].lower() == "ff")
        if params.get("output_format") in ("jpg", "mp4") and not opaque:
            problems.append(violation("$.output_format", "combination", (
                f"{params['output_format']} has no alpha: it needs background_url or an opaque background_color.")))
    if task_type == "music_video":
        if params.get("quality") == "high" and params.get("resolution") == "540p":
            problems.append(violation("$.quality", "combination", "quality high is not available at 540p."))
        if body.get("add_subtitle") is False and params.get("srt_url"):
            problems.append(violation("$.srt_url", "combination", "srt_url gives subtitles; add_subtitle is false."))
        params["add_subtitle"] = bool(params.get("add_subtitle") or params.get("srt_url"))
        if params["add_subtitle"] and not params.get("srt_url") and params.get("language") != "en":
            problems.append(violation("$.add_subtitle", "unsupported_language", (
                "Transcribing the audio is available in en only; pass srt_url for subtitles in another language.")))
    return problems


def _check_url(value: Any, path: str, problems: list[dict]) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= URL_MAX or not re.match(r"^https?://[^\s/]+", value):
        problems.append(violation(path, "invalid_url", f"Must be an http(s) URL of 1 to {URL_MAX} characters."))


def validate(type_name: str, body: dict) -> tuple[dict, dict, dict, str | None]:
    """(catalog row, normalized params, metadata, webhook_url); InvalidRequest lists every violation."""
    row = BY_TYPE.get(type_name)
    if row is None:
        known = ", ".join(BY_TYPE)
        raise InvalidRequest(f"Unknown task type {type_name!r}.", details=[
            violation("$.type", "unknown_task_type", f"Must be one of {known}.")])
    if not row["supported"]:
        raise InvalidRequest(f"Task type {type_name!r} is not supported by this deployment.", details=[
            violation("$.type", "unsupported_task_type", f"{type_name} is reported supported: false in /v1/capabilities.")])
    problems: list[dict] = []
    params: dict = {}
    for name, value in body.items():
        if name not in row["params"] and name not in COMMON:
            problems.append(violation(f"$.{name}", "unknown_field", f"{type_name} has no parameter {name!r}."))
    for name, spec in row["params"].items():
        path = f"$.{name}"
        value = body.get(name)
        if value is None:
            if spec.get("required"):
                problems.append(violation(path, "required", f"{name} is required."))
            elif "default" in spec:
                params[name] = spec["default"]
            continue
        if not _type_ok(spec, value):
            problems.append(violation(path, "invalid_type", f"Must be of type {spec.get('type', 'string')}."))
            continue
        if spec.get("supported") is False:
            if _is_set(value):
                problems.append(violation(path, "unsupported_option", f"{name} is not supported yet."))
            continue
        if spec.get("type") == "integer":
            value = int(value)
        if spec.get("type") == "array":
            before = len(problems)
            _check_items(spec, value, path, problems)
            if len(problems) > before:
                continue
        if "max_length" in spec and len(value) > spec["max_length"]:
            problems.append(violation(path, "too_long", f"At most {spec['max_length']} characters."))
            continue
        if "enum" in spec and value not in spec["enum"]:
            problems.append(violation(path, "enum", f"Must be one of {', '.join(spec['enum'])}."))
            continue
        if "min" in spec and value < spec["min"] or "max" in spec and value > spec["max"]:
            problems.append(violation(path, "out_of_range", f"Must be between {spec['min']} and {spec['max']}."))
            continue
        if "pattern" in spec and not re.match(spec["pattern"], value):
            problems.append(violation(path, "pattern", f"Must match {spec['pattern']}."))
            continue
        if spec.get("format") == "uri":
            before = len(problems)
            _check_url(value, path, problems)
            if len(problems) > before:
                continue
        if name == "language":
            value = value.strip().lower().replace("_", "-").split("-")[0]
        values = spec.get("values")
        if values is not None and not values.get(value, {}).get("supported", False):
            supported = [v for v, s in values.items() if s.get("supported")]
            problems.append(violation(path, f"unsupported_{name}", f"{value!r} is not supported; supported: {', '.join(supported)}."))
            continue
        params[name] = value
    metadata = body.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        problems.append(violation("$.metadata", "invalid_type", "Must be an object."))
    elif len(json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode()) > METADATA_MAX_BYTES:
        problems.append(violation("$.metadata", "limit_exceeded", f"Must be at most {METADATA_MAX_BYTES} bytes as JSON."))
    webhook_url = body.get("webhook_url")
    if webhook_url is not None:
        _check_url(webhook_url, "$.webhook_url", problems)
    if not problems:
        problems = _rules(row["task_type"], body, params)
    if problems:
        raise InvalidRequest(f"The {type_name} request has {len(problems)} problem(s).", details=problems)
    return row, params, metadata, webhook_url


def _check_items(spec: dict, value: list, path: str, problems: list[dict]) -> None:
    if not spec.get("min_items", 0) <= len(value) <= spec.get("max_items", 10_000):
        problems.append(violation(path, "out_of_range",
                                  f"Must hold {spec['min_items']} to {spec['max_items']} items."))
        return
    if spec.get("items", {}).get("format") == "uri":
        for i, item in enumerate(value):
            _check_url(item, f"{path}[{i}]", problems)
