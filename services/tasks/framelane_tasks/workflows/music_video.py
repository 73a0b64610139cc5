"""The music-video workflow compiler: images cut on the beats of a song, with optional captions.

Input is the normalized request of seed-apis §B4 plus what the worker measured (image sizes, the
audio's length and beats, caption word timings); output is a render spec for `POST /v1/renders`.
Pure: no I/O, so the same inputs always give the same video.
"""

from __future__ import annotations

import json

from . import layout, styles, timeline
from .audio import AudioAnalysis
from .inputs import AudioInput, ImageInput

DEFAULT_ASPECT_RATIO = "16:9"
DEFAULT_RESOLUTION = "720p"
MIN_SHOT_SECONDS = 1.0
# Measured beat periods wobble by a percent or two: 2 beats at "119.8 BPM" still count as a second.
PERIOD_TOLERANCE = 0.03
FALLBACK_BEAT_SECONDS = 0.5  # 120 BPM, when the analysis found no tempo at all
AUDIO_FADE_IN = 0.5
AUDIO_FADE_OUT = 1.5
# Captions: one text element per phrase, so a line never holds more than it can show.
PHRASE_MAX_WORDS = 8
PHRASE_MAX_SECONDS = 4.0
PHRASE_GAP_SECONDS = 1.0  # a pause this long starts a new phrase
CAPTION_HOLD_SECONDS = 0.3
CAPTION_SIZE = 0.05  # of the canvas' short side
CAPTION_Z = 2
SENTENCE_END = (".", "!", "?", "。", "！", "？")


def _beat_period(analysis: AudioAnalysis) -> float:
    if len(analysis.beats) >= 2:
        gaps = sorted(b - a for a, b in zip(analysis.beats, analysis.beats[1:]))
        return gaps[len(gaps) // 2]
    return 60.0 / analysis.tempo if analysis.tempo > 0 else FALLBACK_BEAT_SECONDS


def _beats_per_shot(asked: int, period: float) -> int:
    """The style's beats per shot, doubled (keeping musical phrasing) until a shot lasts a second."""
    beats = asked
    while beats * period < MIN_SHOT_SECONDS * (1 - PERIOD_TOLERANCE):
        beats *= 2
    return beats


def _beat_grid(analysis: AudioAnalysis, duration: float, period: float, shot: float) -> list[float]:
    """The detected beats, continued at the beat period over a beatless tail longer than a shot."""
    beats = [b for b in analysis.beats if 0 <= b < duration]
    last = beats[-1] if beats else 0.0
    if duration - last > shot:
        count = int((duration - last) / period)
        beats += [last + k * period for k in range(1, count + 1) if last + k * period < duration]
    return beats


def cut_times(analysis: AudioAnalysis, duration: float, beats_per_shot: int) -> tuple[float, list[float]]:
    """(beat period, cut times): every `beats_per_shot`-th beat, a short final shot merged into the one before."""
    period = _beat_period(analysis)
    per_shot = _beats_per_shot(beats_per_shot, period)
    shot = per_shot * period
    grid = _beat_grid(analysis, duration, period, shot)
    cuts = [grid[i] for i in range(per_shot, len(grid), per_shot)]
    if cuts and duration - cuts[-1] < shot / 2:
        cuts.pop()
    return period, cuts


def _phrases(words: list[dict], duration: float) -> list[list[dict]]:
    """Words cut to the video and grouped into phrases of at most 8 words and 4 seconds."""
    phrases: list[list[dict]] = []
    for word in sorted(words, key=lambda w: w["start"]):
        start, end = round(float(word["start"]), 3), round(min(float(word["end"]), duration), 3)
        text = str(word["text"]).strip()
        if not text or start < 0 or end <= start:
            continue
        current = phrases[-1] if phrases else None
        if (current is None or len(current) >= PHRASE_MAX_WORDS or end - current[0]["start"] > PHRASE_MAX_SECONDS
                or start - current[-1]["end"] > PHRASE_GAP_SECONDS or current[-1]["text"].endswith(SENTENCE_END)):
            phrases.append([])
        phrases[-1].append({"text": text, "start": start, "end": end})
    return phrases


def _captions(words: list[dict], style: styles.StylePlan, params: dict, width: int, height: int,
              duration: float) -> list[dict]:
    area = layout.SAFE_AREAS[params.get("aspect_ratio") or DEFAULT_ASPECT_RATIO]
    size = max(12, round(CAPTION_SIZE * min(width, height)))
    phrases = _phrases(words, duration)
    elements = []
    for index, phrase in enumerate(phrases):
        start = phrase[0]["start"]
        last = phrase[-1]["end"]
        following = phrases[index + 1][0]["start"] if index + 1 < len(phrases) else duration
        end = max(last, min(last + CAPTION_HOLD_SECONDS, following, duration))
        elements.append({
            "type": "text", "id": f"caption_{index:02d}", "text": " ".join(w["text"] for w in phrase),
            "time": start, "duration": round(end - start, 3),
            "x": "50%", "y": f"{area.caption_y * 100:g}%", "width": f"{area.width * 100:g}%",
            "height": round(size * 3.2),
            "font_family": layout.font_family(params.get("language") or "en"), "font_size": size,
            "font_weight": 700, "text_color": params.get("subtitle_color") or "#ffffff",
            # A dark outline keeps any subtitle colour readable over any image.
            "stroke": True, "stroke_color": "#000000", "stroke_width": max(2, round(size / 12)),
            "z_index": CAPTION_Z, "word_animation": {"style": style.caption_style, "words": phrase},
        })
    return elements


def compile(params: dict, images: list[ImageInput], audio: AudioInput, analysis: AudioAnalysis,
            words: list[dict] | None) -> dict:
    """The render spec of a music video: one shot per `beats_per_shot` beats, cycling the images."""
    if not images:
        raise ValueError("a music video needs at least one image")
    width, height = layout.canvas(params.get("aspect_ratio") or DEFAULT_ASPECT_RATIO,
                                  params.get("resolution") or DEFAULT_RESOLUTION)
    style = styles.pick(params.get("prompt"), params.get("style"), analysis.tempo)
    duration = float(audio.duration)
    total = timeline.frame_count(duration)
    period, cuts = cut_times(analysis, duration, style.beats_per_shot)
    changes, kept = [0], []
    for cut in cuts:
        frame = round(cut * timeline.FPS)
        if changes[-1] < frame < total:
            changes.append(frame)
            kept.append(cut)
    wanted = round(style.transition_beats * period * timeline.FPS) if style.transitions else 0
    shots = timeline.place(changes, total, [wanted] * (len(changes) - 1))
    ids = [f"shot_{index:02d}" for index in range(len(shots))]
    elements = []
    for index, shot in enumerate(shots):
        placed = timeline.timing(shot, duration)
        # The motion runs while the shot is on screen, through its outgoing transition.
        visible = timeline.timing(shot, duration, extend=True)
        elements.append({
            "type": "image", "id": ids[index], "source_url": images[index % len(images)].url, **placed,
            "z_index": 0,  # the default box is the canvas and the engine fills it (cover), cropping the overflow
            "motion": [{"type": style.motions[index % len(style.motions)], "time": visible["time"],
                        "duration": visible["duration"], "easing": "linear"}],
        })
    elements.append({
        "type": "audio", "id": "soundtrack", "source_url": audio.url, "time": 0, "volume": 100,
        "fade_in_duration": AUDIO_FADE_IN, "fade_out_duration": min(AUDIO_FADE_OUT, duration / 2),
    })
    if params.get("add_subtitle") and words:
        elements += _captions(words, style, params, width, height, duration)
    compact = {"separators": (",", ":")}
    return {
        "width": width, "height": height, "frame_rate": timeline.FPS, "duration": duration,
        "output_format": "mp4", "background_color": "#000000",
        "elements": elements,
        "transitions": timeline.transitions(ids, shots, style.transitions),
        # Render metadata is a string map (seed-apis §A5.1), so lists are JSON text.
        "metadata": {
            "workflow": "music-video", "style": style.name, "tempo": f"{round(analysis.tempo, 2):g}",
            "beats": json.dumps([round(b, 3) for b in analysis.beats], **compact),
            # The beats cut on; each change is drawn on the frame nearest its beat.
            "cuts": json.dumps([round(cut, 3) for cut in kept], **compact),
            "quality": params.get("quality") or "standard",
        },
    }

