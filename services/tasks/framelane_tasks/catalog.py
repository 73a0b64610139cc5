"""The task and workflow catalog: one row per type, read by capabilities and by validation, so a
type or option reported `supported: true` is exactly what the submit path accepts.

Parameter schema keys: type (string|number|integer|boolean|object|array), format ("uri"),
required, default, min, max, enum, pattern, supported (False: accepted in the body but 422 when
set to anything but its off value), values ({enum value: {supported: bool}} for enums some of
whose values are not supported)."""

import math
import re
from typing import Any

from framelane_core.errors import InvalidRequest, violation
from framelane_core.storage import UPLOAD_MAX_BYTES
from framelane_tasks.assets import ALLOWED_CONTENT_TYPES, UPLOAD_URL_TTL

URL_MAX = 2083

TASK_TYPES = [
    {
        "type": "remove-background", "task_type": "remove_background", "supported": False,
        "params": {
            "source_url": {"type": "string", "format": "uri", "required": True},
            "output_format": {"enum": ["png", "webm", "mov"]},
            "background_color": {"type": "string", "pattern": "^#([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"},
        },
    },
    {
        "type": "gaze-redirect", "task_type": "gaze_redirect", "supported": False,
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
            # fast: FFmpeg Lanczos + unsharp (images and video, audio passed through);
            # enhance: a learned model (Real-ESRGAN), not installed yet.
            "model": {"enum": ["fast", "enhance"], "default": "fast",
                      "values": {"fast": {"supported": True}, "enhance": {"supported": False}}},
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

WORKFLOWS = [
    {"type": "music-video", "task_type": "music_video", "supported": False},
    {"type": "ecommerce-video", "task_type": "ecommerce_video", "supported": False},
]

BY_TYPE = {row["type"]: row for row in TASK_TYPES}
TASK_TYPE_NAMES = tuple(row["task_type"] for row in TASK_TYPES)
COMMON = ("metadata", "webhook_url")


def describe() -> dict:
    """The tasks service's part of /v1/capabilities."""
    return {
        "tasks": TASK_TYPES,
        "workflows": WORKFLOWS,
        # Media ingestion (reference §A7), served by AssetService; see framelane_tasks.assets.
        "uploads": {"supported": True, "resumable": True, "max_bytes": UPLOAD_MAX_BYTES,
                    "url_ttl_seconds": UPLOAD_URL_TTL, "content_types": list(ALLOWED_CONTENT_TYPES)},
        "imports": {"supported": True, "max_bytes": UPLOAD_MAX_BYTES, "share_links": {"supported": False}},
        "workspace_assets": {"supported": True},
        # BeatAPI POST /beatapi/v1/files and a render's ingest_external option: not built yet.
        "files": {"supported": False},
        "ingest_external": {"supported": False},
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
    webhook_url = body.get("webhook_url")
    if webhook_url is not None:
        _check_url(webhook_url, "$.webhook_url", problems)
    if problems:
        raise InvalidRequest(f"The {type_name} request has {len(problems)} problem(s).", details=problems)
    return row, params, metadata, webhook_url
