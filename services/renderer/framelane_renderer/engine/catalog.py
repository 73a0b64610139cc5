"""The render catalog: one table of every element type, effect, motion, transition, word-animation
style, blend mode, easing, font and output format, with its support flag and implementation.

The validator, the compiler and `capabilities()` all read this table, so an item reported as
`supported: true` is one the compiler implements, and anything else is refused by the validator.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any, Callable

from . import effects, motions, text, transitions
from .fonts import family_names

INTENSITY = {"intensity": {"min": 0, "max": 100, "default": 100}}


@dataclass(frozen=True)
class CatalogRow:
    """One catalog item: its name, whether it renders, its parameters and its implementation."""

    name: str
    supported: bool
    params: dict[str, Any] = field(default_factory=dict)
    impl: Callable[..., Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def public(self, key: str = "type") -> dict[str, Any]:
        """The row as it appears in capabilities."""
        row = {key: self.name, "supported": self.supported}
        if self.params:
            row["params"] = self.params
        row.update(self.info)
        return row


def _rows(names: list[str], implemented: dict[str, Any], **common: Any) -> dict[str, CatalogRow]:
    return {
        name: CatalogRow(name, name in implemented, impl=implemented.get(name), **common)
        for name in names
    }


ELEMENT_TYPES = {
    "video": CatalogRow("video", True, info={"fields": ["base", "visual", "style", "crop", "color", "media", "effects", "motion"]}),
    "image": CatalogRow("image", True, info={"fields": ["base", "visual", "style", "crop", "color", "effects", "motion"]}),
    "text": CatalogRow("text", True, info={"fields": ["base", "visual", "style", "text", "word_animation", "motion"]}),
    "audio": CatalogRow("audio", True, info={"fields": ["base", "media"]}),
    "composition": CatalogRow("composition", False),
    "progress_bar": CatalogRow("progress_bar", False),
    "audio_visualization": CatalogRow("audio_visualization", False),
    "countdown": CatalogRow("countdown", False),
}

EFFECT_NAMES = [
    "vintage", "polaroid", "portra", "super8", "filmic", "add_grain", "rgb_split", "ghosting",
    "displacement_map", "posterize", "mosaic", "mosaic_blur", "mosaic_posterize", "cc_halftone",
    "cc_halftone_blue", "cc_halftone_green", "cc_halftone_red", "invert", "optics_compensation",
    "viewfinder", "night_vision", "thermal", "camera_lens_blur", "camera_lens_blur_bg", "box_blur",
    "lens_flare", "strobe_light", "snow", "glow", "sepia", "echo", "chromatic_aberration", "vhs",
    "vhs_overlay", "crt", "television", "glitch", "compression_glitch", "scanlines", "prism",
    "light_leaks", "film_burn", "duotone", "cross_process", "bleach_bypass", "chroma_key",
]
_EFFECT_IMPLS = {
    name: getattr(effects, name)
    for name in (
        "sepia", "vintage", "invert", "box_blur", "posterize", "mosaic", "rgb_split",
        "chromatic_aberration", "add_grain", "night_vision", "thermal", "scanlines", "duotone",
        "chroma_key",
    )
}
# Effects whose chain does not scale with intensity are blended with the original by intensity.
_MIXED_EFFECTS = {"vintage", "night_vision", "thermal", "duotone", "scanlines"}
_CHROMA_SETTINGS = {
    "hue_min": {"min": 0, "max": 360, "default": 90}, "hue_max": {"min": 0, "max": 360, "default": 150},
    "sat_min": {"min": 0, "max": 1, "default": 0.3}, "sat_max": {"min": 0, "max": 1, "default": 1},
    "lum_min": {"min": 0, "max": 1, "default": 0.2}, "lum_max": {"min": 0, "max": 1, "default": 0.8},
}
EFFECTS = {
    name: CatalogRow(
        name,
        name in _EFFECT_IMPLS,
        params=INTENSITY | ({"chroma_settings": _CHROMA_SETTINGS} if name == "chroma_key" else {}),
        impl=_EFFECT_IMPLS.get(name),
        info={"mix": name in _MIXED_EFFECTS, "produces_alpha": name == "chroma_key"} if name in _EFFECT_IMPLS else {},
    )
    for name in EFFECT_NAMES
}

COLOR_FIELDS = {
    "brightness": CatalogRow("brightness", True, {"min": -1, "max": 1, "default": 0}, effects.brightness),
    "contrast": CatalogRow("contrast", True, {"min": -1, "max": 1, "default": 0}, effects.contrast),
    "saturation": CatalogRow("saturation", True, {"min": -1, "max": 1, "default": 0}, effects.saturation),
    "exposure": CatalogRow("exposure", True, {"min": -1, "max": 1, "default": 0}, effects.exposure),
    "hue_rotate": CatalogRow("hue_rotate", True, {"min": -360, "max": 360, "default": 0}, effects.hue_rotate),
    "blur": CatalogRow("blur", True, {"min": 0, "max": 100, "default": 0}, effects.blur),
    "noise": CatalogRow("noise", True, {"min": 0, "max": 100, "default": 0}, effects.noise),
    "vignette": CatalogRow("vignette", True, {"min": 0, "max": 100, "default": 0}, effects.vignette),
    "sharpness": CatalogRow("sharpness", True, {"min": 0, "max": 100, "default": 0}, effects.sharpness),
}

MOTION_NAMES = [
    "fade", "slide_up", "slide_down", "slide_left", "slide_right", "zoom_in", "zoom_out", "rotate_cw",
    "rotate_ccw", "bounce", "wipe_left", "wipe_right", "wipe_up", "wipe_down", "ken_burns_in",
    "ken_burns_out", "ken_burns_in_out", "loop_wiggle", "loop_rotate", "loop_rotate_smooth",
    "loop_3d_spin", "loop_3d_sway", "blur", "bounce_motion", "explode", "evaporate", "overlay",
    "difference", "rubber_in", "whip_up", "whip_down", "glitch_pop", "drift_in", "drift_out",
    "loop_breathe", "loop_shimmer", "swing_in", "swing_out", "elastic_rise", "elastic_drop",
    "tilt_zoom", "loop_orbit", "smooth_pop",
]
EXIT_ONLY_MOTIONS = {"zoom_out", "evaporate", "whip_down", "drift_out", "swing_out", "elastic_drop"}
MOTIONS = {
    name: CatalogRow(
        name,
        name in motions.IMPLEMENTATIONS,
        impl=motions.IMPLEMENTATIONS.get(name),
        info={
            "scopes": ["element"] if name in motions.IMPLEMENTATIONS else [],
            "exit_only": name in EXIT_ONLY_MOTIONS,
        },
    )
    for name in MOTION_NAMES
}

TRANSITION_NAMES = [
    "cross_dissolve", "dip_to_black", "dip_to_white", "wipe_left", "wipe_right", "wipe_up",
    "wipe_down", "diagonal_wipe", "barn_doors_horizontal", "barn_doors_vertical", "iris",
    "page_turn", "cross_zoom", "gradient_wipe", "band_wipe", "box_wipe", "swirl",
    "glitch_memories", "window_slice", "cube", "doorway", "pinwheel", "water_drop", "crosshatch",
    "dreamy", "angular", "burn", "heart", "circle_open", "color_phase", "squares_wire",
]
# An xfade filter text maker, or a MaskTransition (see transitions.py).
_TRANSITION_IMPLS = {name: functools.partial(transitions.xfade_filter, name) for name in transitions.XFADE_TRANSITIONS}
_TRANSITION_IMPLS |= transitions.MASK_TRANSITIONS
TRANSITIONS = _rows(TRANSITION_NAMES, _TRANSITION_IMPLS, params={"duration": {"exclusive_min": 0}})

WORD_ANIMATION_STYLES = _rows(
    ["glow", "box", "scale_pop", "slide_up", "fly_in", "color"],
    {name: functools.partial(text.word_looks, name) for name in text.WORD_ANIMATION_STYLES},
)

BLEND_MODES = {"none": CatalogRow("none", True)} | {
    name: CatalogRow(name, True, impl=functools.partial(effects.blend_mode_filter, name))
    for name in effects.BLEND_MODES
}

EASINGS = {name: CatalogRow(name, True, impl=fn) for name, fn in motions.EASINGS.items()}


@dataclass(frozen=True)
class OutputFormat:
    """An output container: its codecs, pixel formats and whether it can carry alpha."""

    format: str
    encoders: tuple[str, ...]
    alpha: bool
    still: bool


OUTPUT_FORMATS = {
    "mp4": OutputFormat("mp4", ("libx264", "aac"), alpha=False, still=False),
    "webm": OutputFormat("webm", ("libvpx-vp9", "libopus"), alpha=True, still=False),
    "mov": OutputFormat("mov", ("prores_ks", "pcm_s16le"), alpha=True, still=False),
    "gif": OutputFormat("gif", ("gif",), alpha=False, still=False),
    "png": OutputFormat("png", ("png",), alpha=True, still=True),
    "jpg": OutputFormat("jpg", ("mjpeg",), alpha=False, still=True),
}

INPUT_FORMATS = {
    "video": ["mp4", "mov", "webm"],
    "audio": ["mp3", "wav", "m4a", "aac", "ogg", "opus", "flac", "mp4", "webm"],
    "image": ["png", "jpg", "jpeg", "webp", "gif", "bmp", "tiff"],
    "font": ["ttf", "otf"],
}

LIMITS = {
    "width": {"min": 16, "max": 8192},
    "height": {"min": 16, "max": 8192},
    "max_pixels": 4096 * 4096 * 2,
    "frame_rate": {"min": 1, "max": 240},
    "duration": {"exclusive_min": 0, "max": 3600},
    "elements": {"max": 500},
    "transitions": {"max": 500},
    "effects_per_element": {"max": 20},
    "motions_per_element": {"max": 20},
    "caption_words": {"max": 20000},
    "text_length": {"max": 20000},
    "font_size": {"exclusive_min": 0, "max": 2000},
    "url_max_length": 2083,
    # metadata is echoed on every job view, list page and webhook: bounded as compact JSON (UTF-8).
    "metadata_bytes": {"max": 16 * 1024},
    "source_max_bytes": 5 * 1024**3,
    # Decoded frames of a source: 128 MP (108 MP photos pass; a 16k x 16k bomb does not).
    "source_max_pixels": 128 * 1024 * 1024,
    "speed": {"min": 0.25, "max": 4},
    "volume": {"min": 0, "max": 100},
    "opacity": {"min": 0, "max": 100},
}


@functools.cache
def available_encoders() -> frozenset[str]:
    """Encoder names the installed `ffmpeg` offers (empty when ffmpeg is missing)."""
    binary = shutil.which("ffmpeg")
    if binary is None:
        return frozenset()
    listing = subprocess.run(
        [binary, "-hide_banner", "-encoders"], capture_output=True, text=True, check=False
    ).stdout
    names = set()
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS":
            names.add(parts[1])
    return frozenset(names)


def output_format_supported(name: str) -> bool:
    """True when every encoder the format needs is available."""
    fmt = OUTPUT_FORMATS.get(name)
    return fmt is not None and set(fmt.encoders) <= available_encoders()


def capabilities() -> dict[str, Any]:
    """The render part of `GET /v1/capabilities`, generated from the catalog tables."""
    return {
        "element_types": [row.public() for row in ELEMENT_TYPES.values()],
        "effects": [row.public() for row in EFFECTS.values()],
        "color_fields": [row.public("field") for row in COLOR_FIELDS.values()],
        "motions": [row.public() for row in MOTIONS.values()],
        "transitions": [row.public() for row in TRANSITIONS.values()],
        "word_animation_styles": [row.public("style") for row in WORD_ANIMATION_STYLES.values()],
        "blend_modes": [row.public("mode") for row in BLEND_MODES.values()],
        "easings": [row.public("easing") for row in EASINGS.values()],
        "fonts": [{"family": name, "supported": True} for name in family_names()],
        "output_formats": [
            {"format": f.format, "alpha": f.alpha, "still": f.still, "supported": output_format_supported(f.format)}
            for f in OUTPUT_FORMATS.values()
        ],
        "input_formats": INPUT_FORMATS,
        "limits": LIMITS,
    }
