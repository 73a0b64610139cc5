"""Transitions as `xfade` filters: built-in xfade transitions or custom per-pixel expressions.

In xfade's custom expressions A is the outgoing frame, B the incoming one, and P runs from 1
(start of the transition) to 0 (end), so `1-P` is the progress.
"""

from __future__ import annotations

BAND_COUNT = 8
PINWHEEL_BLADES = 4

_BOX_WIPE = "if(lte(abs(X-W/2),(1-P)*W/2)*lte(abs(Y-H/2),(1-P)*H/2),B,A)"
_BAND_WIPE = (
    f"if(mod(floor(Y*{BAND_COUNT}/H),2),if(gte(X,P*W),B,A),if(lte(X,(1-P)*W),B,A))"
)
_PINWHEEL = (
    f"if(lte(mod((atan2(Y-H/2,X-W/2)+PI)*{PINWHEEL_BLADES}/(2*PI),1),1-P),B,A)"
)

XFADE_TRANSITIONS = {
    "cross_dissolve": "fade",
    "dip_to_black": "fadeblack",
    "dip_to_white": "fadewhite",
    "wipe_left": "wipeleft",
    "wipe_right": "wiperight",
    "wipe_up": "wipeup",
    "wipe_down": "wipedown",
    "diagonal_wipe": "diagtl",
    "barn_doors_horizontal": "horzopen",
    "barn_doors_vertical": "vertopen",
    "iris": "circlecrop",
    "circle_open": "circleopen",
    "cross_zoom": "zoomin",
    "angular": "radial",
}

CUSTOM_TRANSITIONS = {
    "box_wipe": _BOX_WIPE,
    "band_wipe": _BAND_WIPE,
    "pinwheel": _PINWHEEL,
}


def xfade_filter(transition_type: str, duration: float, offset: float) -> str:
    """The xfade filter text for one transition starting `offset` seconds into the first input."""
    timing = f"duration={duration:.6f}:offset={offset:.6f}"
    if transition_type in XFADE_TRANSITIONS:
        return f"xfade=transition={XFADE_TRANSITIONS[transition_type]}:{timing}"
    return f"xfade=transition=custom:expr='{CUSTOM_TRANSITIONS[transition_type]}':{timing}"
