"""Editing styles of the music video: how often to cut, which transitions and motions to use, and
how captions animate, chosen from the words of the brief or, failing that, from the tempo.

Every transition, motion and caption style named here is one the render catalog supports; a unit
test holds this table to that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENERGETIC_MIN_BPM = 125.0
DREAMY_MAX_BPM = 85.0


@dataclass(frozen=True)
class StylePlan:
    """How a music video is cut: shot length in beats, transitions and motions to cycle, captions.

    `transitions` empty means hard cuts; `transition_beats` is a transition's length in beats.
    """

    name: str
    beats_per_shot: int
    transitions: tuple[str, ...]
    transition_beats: float
    motions: tuple[str, ...]
    caption_style: str


STYLES = {
    "energetic": StylePlan("energetic", 2, ("wipe_left", "wipe_right", "cross_zoom", "wipe_up"), 0.5,
                           ("ken_burns_in", "ken_burns_out"), "scale_pop"),
    "punchy": StylePlan("punchy", 2, (), 0.0, ("ken_burns_in", "ken_burns_out"), "box"),
    "cinematic": StylePlan("cinematic", 4, ("cross_dissolve", "dip_to_black"), 1.0,
                           ("ken_burns_in", "ken_burns_out", "ken_burns_in_out"), "glow"),
    # The catalog's own "dreamy" transition is not implemented by the engine; a dip to white is the nearest look.
    "dreamy": StylePlan("dreamy", 4, ("cross_dissolve", "dip_to_white"), 1.0, ("ken_burns_in_out", "ken_burns_in"),
                        "slide_up"),
    "calm": StylePlan("calm", 8, ("cross_dissolve",), 1.0, ("ken_burns_in", "ken_burns_out"), "color"),
}

# Words and phrases that call for a style. Listed in tie-break order: the more specific request
# (hard cuts) wins a tie over the general moods.
LEXICON: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("punchy", ("hard cut", "hard cuts", "cuts only", "no transitions", "no transition", "punchy", "raw", "glitch",
                "glitchy", "jump cut", "jump cuts")),
    ("energetic", ("energetic", "upbeat", "hype", "hyped", "fast", "party", "dance", "edm", "energy", "pumping")),
    ("cinematic", ("cinematic", "epic", "dramatic", "film", "filmic", "movie", "trailer")),
    ("dreamy", ("dreamy", "dream", "soft", "ethereal", "romantic", "slow", "lofi", "lo-fi", "lo fi", "nostalgic")),
    ("calm", ("calm", "chill", "ambient", "peaceful", "relaxing", "serene", "meditative")),
)
_PATTERNS = tuple(
    (name, tuple(re.compile(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])") for phrase in phrases))
    for name, phrases in LEXICON
)


def _match(text: str | None) -> str | None:
    """The style whose words occur most often in `text` (ties go to the earlier LEXICON row)."""
    if not text:
        return None
    lowered = " ".join(text.lower().split())
    if lowered in STYLES:
        return lowered
    scores = [(sum(len(p.findall(lowered)) for p in patterns), -order, name)
              for order, (name, patterns) in enumerate(_PATTERNS)]
    best = max(scores)
    return best[2] if best[0] > 0 else None


def by_tempo(tempo: float) -> str:
    """The default style for a tempo: fast songs energetic, slow ones dreamy, cinematic between."""
    if tempo >= ENERGETIC_MIN_BPM:
        return "energetic"
    if 0 < tempo <= DREAMY_MAX_BPM:
        return "dreamy"
    return "cinematic"


def pick(prompt: str | None, style: str | None, tempo: float) -> StylePlan:
    """The style plan for a brief: the explicit `style` if its words name one, else the prompt's, else by tempo."""
    return STYLES[_match(style) or _match(prompt) or by_tempo(tempo)]
