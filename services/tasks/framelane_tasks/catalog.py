"""The task and workflow catalog: one row per type, read by capabilities and (later) validation."""

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
        "type": "super-resolution", "task_type": "super_resolution", "supported": False,
        "params": {
            "source_url": {"type": "string", "format": "uri", "required": True},
            "scale": {"type": "integer", "min": 1, "max": 4, "default": 2},
        },
    },
    {
        "type": "transcribe", "task_type": "transcribe", "supported": False,
        "params": {
            "source_url": {"type": "string", "format": "uri", "required": True},
            "language": {"type": "string"},
            "word_timings": {"type": "boolean", "default": True},
            "speaker_labels": {"type": "boolean", "supported": False},
            "sentiment_analysis": {"type": "boolean", "supported": False},
        },
    },
]

WORKFLOWS = [
    {"type": "music-video", "task_type": "music_video", "supported": False},
    {"type": "ecommerce-video", "task_type": "ecommerce_video", "supported": False},
]


def describe() -> dict:
    """The tasks service's part of /v1/capabilities."""
    return {
        "tasks": TASK_TYPES,
        "workflows": WORKFLOWS,
        "imports": {"supported": False, "share_links": {"supported": False}},
    }
