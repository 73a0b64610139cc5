"""Validation of a render request: every violation with its JSON path, and the normalized spec.

`validate` accepts any JSON value and never raises. Unknown keys are dropped (the API ignores
them), defaults from seed-apis §A5 are filled in, catalog items that are not supported are errors,
and the invariants of §A5.8 are checked. A spec with no error-severity violation can be planned.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from . import catalog
from .fonts import installed_faces, substitute_family
from .values import COLOR_PATTERN, is_number, parse_angle, parse_dimension

ERROR = "error"
WARNING = "warning"
VIDEO_EXTENSIONS = ("mp4", "mov", "webm")
DEFAULT_WIDTH, DEFAULT_HEIGHT = 1280, 720
MISSING = object()


@dataclass(frozen=True)
class Violation:
    """One problem found in a spec, located by a JSON path such as `$.elements[2].speed`."""

    path: str
    code: str
    message: str
    severity: str

    def as_dict(self) -> dict[str, str]:
        """The violation as the API reports it."""
        return asdict(self)


@dataclass
class ValidationResult:
    """Errors (the spec cannot render), warnings (advisory) and the spec with defaults applied."""

    errors: list[Violation] = field(default_factory=list)
    warnings: list[Violation] = field(default_factory=list)
    normalized: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when there is no error-severity violation."""
        return not self.errors


class _Report:
    def __init__(self) -> None:
        self.result = ValidationResult()

    def error(self, path: str, code: str, message: str) -> None:
        self.result.errors.append(Violation(path, code, message, ERROR))

    def warn(self, path: str, code: str, message: str) -> None:
        self.result.warnings.append(Violation(path, code, message, WARNING))


# Field kinds: each checks one value and returns its normalized form (or None after an error).
@dataclass(frozen=True)
class Num:
    default: Any = None
    min: float | None = None
    max: float | None = None
    exclusive_min: float | None = None
    integer: bool = False
    required: bool = False
    nullable: bool = False


@dataclass(frozen=True)
class Str:
    default: Any = None
    min_length: int = 0
    max_length: int = 2083
    required: bool = False
    nullable: bool = True


@dataclass(frozen=True)
class Bool:
    default: Any = False
    nullable: bool = False


@dataclass(frozen=True)
class Enum:
    values: tuple[str, ...]
    default: Any = None


@dataclass(frozen=True)
class Color:
    default: Any = None
    nullable: bool = True


@dataclass(frozen=True)
class Dim:
    default: Any = 0
    angle: bool = False


@dataclass(frozen=True)
class Url:
    required: bool = False


def _check(report: _Report, spec: Any, value: Any, path: str) -> Any:
    """Check one present value against its field kind; the normalized value, or None."""
    if isinstance(spec, Num):
        if value is None and spec.nullable:
            return None
        if not is_number(value) or (spec.integer and float(value) != int(value)):
            kind = "an integer" if spec.integer else "a number"
            report.error(path, "invalid_type", f"must be {kind}")
            return None
        too_low = (spec.min is not None and value < spec.min) or (
            spec.exclusive_min is not None and value <= spec.exclusive_min
        )
        if too_low or (spec.max is not None and value > spec.max):
            bounds = []
            if spec.min is not None:
                bounds.append(f">= {spec.min}")
            if spec.exclusive_min is not None:
                bounds.append(f"> {spec.exclusive_min}")
            if spec.max is not None:
                bounds.append(f"<= {spec.max}")
            report.error(path, "out_of_range", "must be " + " and ".join(bounds))
            return None
        return int(value) if spec.integer else value
    if isinstance(spec, Str):
        if value is None and spec.nullable and not spec.required:
            return None
        if not isinstance(value, str):
            report.error(path, "invalid_type", "must be a string")
            return None
        if not spec.min_length <= len(value) <= spec.max_length:
            report.error(path, "out_of_range", f"length must be {spec.min_length}–{spec.max_length}")
            return None
        return value
    if isinstance(spec, Bool):
        if value is None and spec.nullable:
            return None
        if not isinstance(value, bool):
            report.error(path, "invalid_type", "must be a boolean")
            return None
        return value
    if isinstance(spec, Enum):
        if not isinstance(value, str) or value not in spec.values:
            report.error(path, "invalid_value", "must be one of: " + ", ".join(spec.values))
            return None
        return value
    if isinstance(spec, Color):
        if value is None and spec.nullable:
            return None
        if not isinstance(value, str) or not COLOR_PATTERN.match(value):
            report.error(path, "invalid_format", "must be a hex colour #rrggbb or #rrggbbaa")
            return None
        return value.lower()
    if isinstance(spec, Dim):
        parsed = parse_angle(value) if spec.angle else parse_dimension(value)
        if parsed is None:
            units = "a number (degrees) or a string with °, deg or rad" if spec.angle else "a number (px) or a string like \"50%\" or \"120px\""
            report.error(path, "invalid_format", f"must be {units}")
            return None
        return value
    if isinstance(spec, Url):
        if value is None and not spec.required:
            return None
        if not isinstance(value, str) or not 1 <= len(value) <= catalog.LIMITS["url_max_length"]:
            report.error(path, "invalid_type", f"must be a URL of 1–{catalog.LIMITS['url_max_length']} characters")
            return None
        try:
            urlsplit(value)
        except ValueError:  # e.g. an unclosed or invalid [IPv6] host
            report.error(path, "invalid_format", "must be a valid URL")
            return None
        return value
    raise TypeError(spec)


def _fields(report: _Report, obj: dict, specs: dict[str, Any], path: str) -> dict[str, Any]:
    """Check every field of `specs` on `obj`, returning the normalized fields with defaults."""
    out: dict[str, Any] = {}
    for key, spec in specs.items():
        value = obj.get(key, MISSING)
        if value is MISSING:
            if getattr(spec, "required", False):
                report.error(f"{path}.{key}", "required", f"{key} is required")
            out[key] = getattr(spec, "default", None)
            continue
        checked = _check(report, spec, value, f"{path}.{key}")
        out[key] = checked if checked is not None or value is None else getattr(spec, "default", None)
    return out


BASE = {
    "id": Str(max_length=255),
    "name": Str(max_length=255),
    "track": Num(min=0, max=255, integer=True, nullable=True),
    "time": Num(default=0, min=0, max=catalog.LIMITS["duration"]["max"]),
    "visible": Bool(default=True),
}
VISUAL = {
    "x": Dim("50%"), "y": Dim("50%"), "width": Dim("100%"), "height": Dim("100%"),
    "aspect_ratio": Num(exclusive_min=0, nullable=True),
    "x_anchor": Dim("50%"), "y_anchor": Dim("50%"),
    "x_rotation": Dim("0°", angle=True), "y_rotation": Dim("0°", angle=True), "z_rotation": Dim("0°", angle=True),
    "x_scale": Dim("100%"), "y_scale": Dim("100%"),
    "flip_horizontal": Bool(), "flip_vertical": Bool(),
    "opacity": Num(default=100, min=0, max=100),
    "blend_mode": Enum(tuple(catalog.BLEND_MODES), "none"),
    "clip": Bool(), "color_overlay": Color(),
}
STYLE = {
    "border_radius": Dim(0), "border_color": Color(), "border_width": Dim(0),
    "shadow_color": Color(), "shadow_blur": Dim(0), "shadow_x": Dim(0), "shadow_y": Dim(0),
}
CROP = {name: Num(default=0, min=0, max=1) for name in ("crop_top", "crop_bottom", "crop_left", "crop_right")}
COLOR = {
    name: Num(default=row.params["default"], min=row.params["min"], max=row.params["max"])
    for name, row in catalog.COLOR_FIELDS.items()
}
LUT = {"lut_url": Url(), "lut_intensity": Num(default=100, min=0, max=100)}
MEDIA = {
    "source_url": Url(required=True),
    "in_point": Num(default=0, min=0),
    "out_point": Num(exclusive_min=0, nullable=True),
    "duration": Num(exclusive_min=0, max=catalog.LIMITS["duration"]["max"], nullable=True),
    "speed": Num(default=1, min=catalog.LIMITS["speed"]["min"], max=catalog.LIMITS["speed"]["max"]),
    "volume": Num(default=100, min=0, max=100),
    "fade_in_duration": Num(default=0, min=0),
    "fade_out_duration": Num(default=0, min=0),
}
TEXT = {
    "duration": Num(required=True, exclusive_min=0, max=catalog.LIMITS["duration"]["max"]),
    "text": Str(required=True, nullable=False, min_length=1, max_length=catalog.LIMITS["text_length"]["max"]),
    "font_family": Str(default="Inter", nullable=False, min_length=1, max_length=255),
    "font_size": Num(default=16, exclusive_min=0, max=catalog.LIMITS["font_size"]["max"]),
    "font_weight": Num(default=400, min=100, max=900, integer=True),
    "font_style": Enum(("normal", "italic", "bold", "bolditalic"), "normal"),
    "text_color": Color("#ffffff", nullable=False),
    "text_align": Enum(("left", "center", "right"), "center"),
    "text_decoration": Enum(("none", "underline", "strikethrough"), "none"),
    "tracking": Num(default=0),
    "leading": Num(default=1.2, exclusive_min=0, max=10),
    "stroke_color": Color(), "stroke_width": Num(default=0, min=0, max=500),
    "background_color": Color(), "background_opacity": Num(default=100, min=0, max=100),
    "x_padding": Dim(0), "y_padding": Dim(0),
    "background": Bool(), "stroke": Bool(), "shadow": Bool(),
    "text_wrap": Enum(("wrap", "nowrap"), "wrap"),
    "animation_preset": Str(max_length=255),
}
IMAGE = {
    "id": Str(required=True, nullable=False, min_length=1, max_length=255),
    "duration": Num(required=True, exclusive_min=0, max=catalog.LIMITS["duration"]["max"]),
    "source_url": Url(required=True),
}
Z_DEFAULTS = {"video": 0, "image": 0, "audio": 0, "text": 1}
FIELDS = {
    "video": {**BASE, **VISUAL, **STYLE, **CROP, **COLOR, **LUT, **MEDIA},
    "image": {**BASE, **VISUAL, **STYLE, **CROP, **COLOR, **LUT, **IMAGE},
    "text": {**BASE, **VISUAL, **STYLE, **TEXT},
    "audio": {**BASE, **MEDIA, "volume": Num(default=100, exclusive_min=0, max=100)},
}
# Fields accepted by the schema that the renderer cannot draw yet: refused unless left at default.
UNSUPPORTED_FIELDS = {
    "video": ("x_rotation", "y_rotation", "clip", "color_overlay", "border_radius", "border_color",
              "border_width", "shadow_color", "shadow_blur", "shadow_x", "shadow_y", "lut_url"),
    "image": ("x_rotation", "y_rotation", "clip", "color_overlay", "border_radius", "border_color",
              "border_width", "shadow_color", "shadow_blur", "shadow_x", "shadow_y", "lut_url"),
    "text": ("x_rotation", "y_rotation", "clip", "color_overlay", "border_color", "border_width",
             "tracking", "animation_preset"),
    "audio": (),
}
_DEFAULT_EQUIVALENTS = {"0°", "0deg", "0rad", 0, 0.0, "0", "0px", "0%", None, False}

MOTION_FIELDS = {
    "type": Str(required=True, nullable=False),
    "time": Num(required=True, min=0, max=catalog.LIMITS["duration"]["max"]),
    "duration": Num(required=True, exclusive_min=0, max=catalog.LIMITS["duration"]["max"]),
    "easing": Enum(tuple(catalog.EASINGS), "linear"),
    "reversed": Bool(),
    "scope": Enum(("element", "character"), "element"),
    "delay": Num(default=0, min=0, max=catalog.LIMITS["duration"]["max"]),
    "loop": Bool(),
}
EFFECT_FIELDS = {
    "type": Str(required=True, nullable=False),
    "intensity": Num(default=100, min=0, max=100),
}
TRANSITION_FIELDS = {
    "type": Str(required=True, nullable=False),
    "duration": Num(required=True, exclusive_min=0, max=catalog.LIMITS["duration"]["max"]),
    "from_id": Str(required=True, nullable=False, min_length=1, max_length=255),
    "to_id": Str(required=True, nullable=False, min_length=1, max_length=255),
    "z_index": Num(integer=True, nullable=True, min=-(2**31), max=2**31 - 1),
}
TOP = {
    "width": Num(min=catalog.LIMITS["width"]["min"], max=catalog.LIMITS["width"]["max"], integer=True, nullable=True),
    "height": Num(min=catalog.LIMITS["height"]["min"], max=catalog.LIMITS["height"]["max"], integer=True, nullable=True),
    "duration": Num(exclusive_min=0, max=catalog.LIMITS["duration"]["max"], nullable=True),
    "frame_rate": Num(default=30, min=catalog.LIMITS["frame_rate"]["min"], max=catalog.LIMITS["frame_rate"]["max"], integer=True),
    "output_format": Enum(tuple(catalog.OUTPUT_FORMATS), "mp4"),
    "output_filename": Str(max_length=255),
    "background_color": Color("#000000ff", nullable=False),
    "background_image_url": Url(),
    "alpha": Bool(),
    "webhook_url": Url(),
    "ingest_external": Bool(default=None, nullable=True),
}


def _catalog_item(report: _Report, table: dict, name: Any, path: str, kind: str) -> bool:
    """True when `name` is a supported row of `table`; reports why not otherwise."""
    if not isinstance(name, str):
        return False
    row = table.get(name)
    if row is None:
        report.error(path, "invalid_value", f"unknown {kind} {name!r}; see GET /v1/capabilities")
        return False
    if not row.supported:
        report.error(path, f"unsupported_{kind}", f"{kind} {name!r} is not supported by this renderer yet")
        return False
    return True


def _list(report: _Report, value: Any, path: str, limit: int) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        report.error(path, "invalid_type", "must be an array")
        return []
    if len(value) > limit:
        report.error(path, "limit_exceeded", f"at most {limit} items")
    return value[:limit]


def _object(report: _Report, value: Any, path: str) -> dict | None:
    if not isinstance(value, dict):
        report.error(path, "invalid_type", "must be an object")
        return None
    return value


def _motions(report: _Report, value: Any, path: str) -> list[dict]:
    out = []
    for i, item in enumerate(_list(report, value, path, catalog.LIMITS["motions_per_element"]["max"])):
        item_path = f"{path}[{i}]"
        motion = _object(report, item, item_path)
        if motion is None:
            continue
        normalized = _fields(report, motion, MOTION_FIELDS, item_path)
        supported = _catalog_item(report, catalog.MOTIONS, normalized["type"], f"{item_path}.type", "motion")
        if normalized["scope"] == "character":
            report.error(f"{item_path}.scope", "unsupported_motion_scope", "per-character motion is not supported yet")
        if normalized["loop"]:
            report.error(f"{item_path}.loop", "unsupported_field", "looping motions are not supported yet")
        if supported:
            out.append(normalized)
    return out


def _effects(report: _Report, value: Any, path: str) -> list[dict]:
    out = []
    for i, item in enumerate(_list(report, value, path, catalog.LIMITS["effects_per_element"]["max"])):
        item_path = f"{path}[{i}]"
        effect = _object(report, item, item_path)
        if effect is None:
            continue
        normalized = _fields(report, effect, EFFECT_FIELDS, item_path)
        settings = effect.get("chroma_settings")
        if settings is not None:
            settings_obj = _object(report, settings, f"{item_path}.chroma_settings")
            spec = catalog.EFFECTS["chroma_key"].params["chroma_settings"]
            normalized["chroma_settings"] = _fields(
                report, settings_obj or {},
                {k: Num(default=v["default"], min=v["min"], max=v["max"]) for k, v in spec.items()},
                f"{item_path}.chroma_settings",
            )
        if _catalog_item(report, catalog.EFFECTS, normalized["type"], f"{item_path}.type", "effect"):
            out.append(normalized)
    return out


def _word_animation(report: _Report, value: Any, path: str, element: dict) -> dict | None:
    animation = _object(report, value, path)
    if animation is None:
        return None
    style = animation.get("style", MISSING)
    if style is MISSING:
        report.error(f"{path}.style", "required", "style is required")
    else:
        _catalog_item(report, catalog.WORD_ANIMATION_STYLES, style, f"{path}.style", "word_animation_style")
    words_value = animation.get("words", MISSING)
    if words_value is MISSING or words_value == []:
        report.error(f"{path}.words", "required", "words must be a non-empty array")
    words = []
    word_fields = {
        "text": Str(required=True, nullable=False, min_length=1, max_length=1000),
        "start": Num(required=True, min=0, max=catalog.LIMITS["duration"]["max"]),
        "end": Num(required=True, exclusive_min=0, max=catalog.LIMITS["duration"]["max"]),
    }
    for i, item in enumerate(_list(report, None if words_value is MISSING else words_value,
                                   f"{path}.words", catalog.LIMITS["caption_words"]["max"])):
        word_path = f"{path}.words[{i}]"
        word = _object(report, item, word_path)
        if word is None:
            continue
        normalized = _fields(report, word, word_fields, word_path)
        if is_number(normalized["start"]) and is_number(normalized["end"]):
            if normalized["end"] <= normalized["start"]:
                report.error(f"{word_path}.end", "invalid_combination", "end must be greater than start")
            elif is_number(element.get("time")) and is_number(element.get("duration")) and (
                normalized["start"] < element["time"] or normalized["end"] > element["time"] + element["duration"]
            ):
                report.warn(word_path, "CAPTION_WORD_OUT_OF_RANGE",
                            "word is outside its element's [time, time + duration] window (times are absolute)")
        words.append(normalized)
    return {"style": style if isinstance(style, str) else None, "words": words}


def _media_checks(report: _Report, element: dict, path: str, kind: str) -> None:
    in_point, out_point = element.get("in_point"), element.get("out_point")
    if is_number(in_point) and is_number(out_point) and out_point <= in_point:
        report.error(f"{path}.out_point", "invalid_combination", "out_point must be greater than in_point")
    source = element.get("source_url")
    if kind == "video" and isinstance(source, str):
        extension = urlsplit(source).path.rsplit(".", 1)[-1].lower() if "." in urlsplit(source).path else ""
        if extension not in VIDEO_EXTENSIONS:
            report.error(f"{path}.source_url", "unsupported_video_format",
                         "unsupported video format; renderer accepts MP4, MOV, or WebM source files only")


def _element(report: _Report, value: Any, path: str) -> dict | None:
    element = _object(report, value, path)
    if element is None:
        return None
    kind = element.get("type", MISSING)
    if kind is MISSING:
        report.error(f"{path}.type", "required", "type is required")
        return None
    if not _catalog_item(report, catalog.ELEMENT_TYPES, kind, f"{path}.type", "element_type"):
        return None
    normalized = {"type": kind, **_fields(report, element, FIELDS[kind], path)}
    if kind != "audio":
        z_index = element.get("z_index", MISSING)
        normalized["z_index"] = Z_DEFAULTS[kind] if z_index is MISSING else _check(
            report, Num(integer=True, min=-(2**31), max=2**31 - 1), z_index, f"{path}.z_index")
        normalized["motion"] = _motions(report, element.get("motion"), f"{path}.motion")
    if kind in ("video", "image"):
        normalized["effects"] = _effects(report, element.get("effects"), f"{path}.effects")
        for a, b in (("crop_left", "crop_right"), ("crop_top", "crop_bottom")):
            if is_number(normalized[a]) and is_number(normalized[b]) and normalized[a] + normalized[b] >= 1:
                report.error(f"{path}.{b}", "invalid_combination", f"{a} + {b} must be less than 1")
    if kind in ("video", "audio"):
        _media_checks(report, normalized, path, kind)
    if kind == "text":
        flags = [name for name in ("background", "stroke", "shadow") if normalized[name]]
        if len(flags) > 1:
            report.error(f"{path}.{flags[1]}", "invalid_combination", "at most one of background, stroke, shadow may be true")
        animation = element.get("word_animation")
        normalized["word_animation"] = None if animation is None else _word_animation(
            report, animation, f"{path}.word_animation", normalized)
        family = normalized["font_family"]
        if isinstance(family, str) and family.lower() not in installed_faces():
            substitute = substitute_family(family)
            report.warn(f"{path}.font_family", "FONT_SUBSTITUTED",
                        f"font {family!r} is not installed; {substitute!r} is used instead")
    for name in UNSUPPORTED_FIELDS[kind]:
        if name in element and element[name] not in _DEFAULT_EQUIVALENTS:
            report.error(f"{path}.{name}", "unsupported_field", f"{name} is not supported by this renderer yet")
    return normalized


def _transitions(report: _Report, value: Any, elements: list[tuple[int, dict]]) -> list[dict]:
    by_id: dict[str, list[tuple[int, dict]]] = {}
    for index, element in elements:
        if isinstance(element.get("id"), str):
            by_id.setdefault(element["id"], []).append((index, element))
    out = []
    outgoing: dict[str, int] = {}
    incoming: dict[str, int] = {}
    referenced: set[str] = set()
    for i, item in enumerate(_list(report, value, "$.transitions", catalog.LIMITS["transitions"]["max"])):
        path = f"$.transitions[{i}]"
        transition = _object(report, item, path)
        if transition is None:
            continue
        normalized = _fields(report, transition, TRANSITION_FIELDS, path)
        supported = _catalog_item(report, catalog.TRANSITIONS, normalized["type"], f"{path}.type", "transition")
        from_id, to_id = normalized["from_id"], normalized["to_id"]
        if from_id is None or to_id is None:
            continue
        if from_id == to_id:
            report.error(path, "TRANSITION_SELF", "from_id and to_id must differ")
            continue
        valid = supported
        for key, ref in (("from_id", from_id), ("to_id", to_id)):
            referenced.add(ref)
            targets = by_id.get(ref, [])
            if not targets:
                report.error(f"{path}.{key}", "DANGLING_TRANSITION", f"no element has id {ref!r}")
                valid = False
            elif targets[0][1]["type"] == "audio":
                report.error(f"{path}.{key}", "invalid_transition", "transitions join visual elements, not audio")
                valid = False
            elif targets[0][1].get("blend_mode") not in (None, "none"):
                report.error(f"$.elements[{targets[0][0]}].blend_mode", "unsupported_field",
                             "blend_mode is not supported on elements joined by a transition")
                valid = False
        for table, ref, role in ((outgoing, from_id, "outgoing"), (incoming, to_id, "incoming")):
            if ref in table:
                report.error(path, "invalid_transition", f"element {ref!r} is already the {role} side of transition {table[ref]}")
                valid = False
            table[ref] = i
        if valid and len(by_id[from_id]) == 1 and len(by_id[to_id]) == 1:
            start_from = by_id[from_id][0][1].get("time")
            start_to = by_id[to_id][0][1].get("time")
            if is_number(start_from) and is_number(start_to) and start_to <= start_from:
                report.error(f"{path}.to_id", "invalid_transition", "the incoming element must start after the outgoing one")
                valid = False
        if valid:
            out.append(normalized)
    for ref in sorted(referenced):
        targets = by_id.get(ref, [])
        if len(targets) > 1:
            for index, _ in targets:
                report.error(f"$.elements[{index}].id", "DUPLICATE_ELEMENT_ID",
                             f"id {ref!r} is used by several elements and referenced by a transition")
    for ref, targets in by_id.items():
        if ref not in referenced and len(targets) > 1:
            report.warn(f"$.elements[{targets[1][0]}].id", "DUPLICATE_ELEMENT_ID", f"id {ref!r} is used by several elements")
    return out


def _canvas_checks(report: _Report, spec: dict, top: dict) -> None:
    has_width, has_height = spec.get("width") is not None, spec.get("height") is not None
    if has_width != has_height:
        missing = "height" if has_width else "width"
        report.error(f"$.{missing}", "required", "width and height must be given together")
    if not has_width and not has_height:
        top["width"], top["height"] = DEFAULT_WIDTH, DEFAULT_HEIGHT
    if is_number(top["width"]) and is_number(top["height"]) and top["width"] * top["height"] > catalog.LIMITS["max_pixels"]:
        report.error("$.width", "limit_exceeded", f"width x height must be at most {catalog.LIMITS['max_pixels']} pixels")
    if top["alpha"] and spec.get("output_format", "mp4") not in ("webm", "mov"):
        report.error("$.alpha", "invalid_combination", "alpha requires output_format webm or mov")
    fmt = top["output_format"]
    if fmt is not None and not catalog.output_format_supported(fmt):
        report.error("$.output_format", "unsupported_output_format", f"no encoder for {fmt} on this renderer")
    metadata = spec.get("metadata")
    top["metadata"] = {}
    if metadata is not None:
        if not isinstance(metadata, dict):
            report.error("$.metadata", "invalid_type", "must be an object of strings")
        else:
            for key, value in metadata.items():
                if not isinstance(value, str):
                    report.error(f"$.metadata.{key}", "invalid_type", "metadata values must be strings")
                else:
                    top["metadata"][key] = value
            limit = catalog.LIMITS["metadata_bytes"]["max"]
            if len(json.dumps(top["metadata"], separators=(",", ":"), ensure_ascii=False).encode()) > limit:
                report.error("$.metadata", "limit_exceeded", f"must be at most {limit} bytes as JSON")


def _timeline_checks(report: _Report, top: dict, elements: list[tuple[int, dict]]) -> None:
    visible = [(i, e) for i, e in elements if e.get("visible", True)]
    if not visible:
        report.warn("$.elements", "EMPTY_TIMELINE", "the timeline has no visible elements")
    duration = top["duration"]
    if is_number(duration):
        for index, element in visible:
            if is_number(element.get("time")) and element["time"] >= duration:
                report.warn(f"$.elements[{index}].time", "ELEMENT_AFTER_END", "element starts at or after the end of the video")


def validate(spec: Any) -> ValidationResult:
    """Check a render request; never raises, whatever JSON value it is given."""
    report = _Report()
    if not isinstance(spec, dict):
        report.error("$", "invalid_type", "the render request must be a JSON object")
        return report.result
    top = _fields(report, spec, TOP, "$")
    _canvas_checks(report, spec, top)
    elements = []
    for i, item in enumerate(_list(report, spec.get("elements"), "$.elements", catalog.LIMITS["elements"]["max"])):
        element = _element(report, item, f"$.elements[{i}]")
        if element is not None:
            elements.append((i, element))
    top["elements"] = [element for _, element in elements]
    top["transitions"] = _transitions(report, spec.get("transitions"), elements)
    _timeline_checks(report, top, elements)
    report.result.normalized = top
    return report.result
