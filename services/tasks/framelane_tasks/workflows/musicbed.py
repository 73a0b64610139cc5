"""A procedurally generated music bed for e-commerce videos: kick, hat, bass and pad, numpy only.

The project holds no licensed music, so the soundtrack is synthesized: a four-on-the-floor kick,
off-beat hats, an eighth-note bass and a soft pad over a I–V–vi–IV progression. The output is the
same for the same arguments (seeded noise), so a re-run renders an identical video.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 44100
PEAK_DBFS = -3.5  # below the -3 dBFS ceiling once 16-bit rounding is added
FADE_IN_SECONDS = 1.0
FADE_OUT_SECONDS = 2.0
BEATS_PER_BAR = 4
# I–V–vi–IV in C: MIDI notes of each bar's triad (the first note is the bass root).
PROGRESSION = ((48, 64, 67, 72), (43, 62, 67, 71), (45, 64, 69, 72), (41, 65, 69, 72))
GAINS = {"kick": 0.9, "hat": 0.12, "bass": 0.35, "pad": 0.12}


def _hz(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _place(track: np.ndarray, sound: np.ndarray, at: float) -> None:
    """Add `sound` into `track` from second `at`, cut at the track's end."""
    start = round(at * RATE)
    if start >= len(track):
        return
    end = min(len(track), start + len(sound))
    track[start:end] += sound[: end - start]


def _kick() -> np.ndarray:
    t = np.arange(round(0.3 * RATE)) / RATE
    frequency = 45 + 75 * np.exp(-t / 0.04)  # a falling pitch is what makes a sine sound like a drum
    phase = 2 * np.pi * np.cumsum(frequency) / RATE
    return np.sin(phase) * np.exp(-t / 0.12)


def _hat(rng: np.random.Generator) -> np.ndarray:
    length = round(0.06 * RATE)
    noise = np.diff(rng.standard_normal(length + 1))  # differencing tilts white noise to the highs
    return noise * np.exp(-np.arange(length) / (0.012 * RATE)) / 2


def _bass(note: int, seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    f = _hz(note)
    tone = np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)
    return tone * np.minimum(1, t / 0.01) * np.exp(-t / (seconds * 0.8))


def _pad(notes: tuple[int, ...], seconds: float, detune: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    tone = np.zeros_like(t)
    for note in notes:
        f = _hz(note) * detune
        # Three falling harmonics: a soft, filtered-saw colour without a filter.
        tone += sum(np.sin(2 * np.pi * f * k * t) / k**2 for k in (1, 2, 3))
    attack = np.minimum(1, t / min(0.4, seconds / 3))
    release = np.minimum(1, (seconds - t) / min(0.4, seconds / 3))
    return tone * attack * release / len(notes)


def _render(duration: float, tempo: float, seed: int) -> np.ndarray:
    """Stereo float samples (n, 2) of the bed before fades and normalization."""
    rng = np.random.default_rng(seed)
    n = max(1, round(duration * RATE))
    left, right = np.zeros(n), np.zeros(n)
    beat = 60.0 / tempo
    kick, hat = _kick(), _hat(rng)
    bar_count = int(np.ceil(duration / (beat * BEATS_PER_BAR)))
    for bar in range(bar_count):
        chord = PROGRESSION[bar % len(PROGRESSION)]
        bar_start = bar * beat * BEATS_PER_BAR
        pad_seconds = beat * BEATS_PER_BAR
        _place(left, GAINS["pad"] * _pad(chord[1:], pad_seconds, 0.998), bar_start)
        _place(right, GAINS["pad"] * _pad(chord[1:], pad_seconds, 1.002), bar_start)
        for step in range(BEATS_PER_BAR * 2):
            at = bar_start + step * beat / 2
            bass = GAINS["bass"] * _bass(chord[0] - 12 * (step % 4 == 3), beat / 2)
            _place(left, bass, at)
            _place(right, bass, at)
            if step % 2 == 0:
                _place(left, GAINS["kick"] * kick, at)
                _place(right, GAINS["kick"] * kick, at)
            else:
                _place(left, GAINS["hat"] * 0.7 * hat, at)
                _place(right, GAINS["hat"] * hat, at)
    return np.stack([left, right], axis=1)


def synthesize(path: Path, duration: float, tempo: float = 112.0, seed: int = 7) -> Path:
    """Write a `duration`-second 44.1 kHz 16-bit stereo WAV music bed at `tempo` BPM to `path`."""
    if duration <= 0 or tempo <= 0:
        raise ValueError("duration and tempo must be positive")
    samples = _render(duration, tempo, seed)
    t = np.arange(len(samples)) / RATE
    fade_in = min(FADE_IN_SECONDS, duration / 4)
    fade_out = min(FADE_OUT_SECONDS, duration / 4)
    envelope = np.minimum(1, np.minimum(t / fade_in, (duration - t) / fade_out)).clip(0, 1)
    samples *= envelope[:, None]
    peak = float(np.max(np.abs(samples))) or 1.0
    samples *= 10 ** (PEAK_DBFS / 20) / peak
    pcm = np.round(samples * 32767).astype("<i2")
    path = Path(path)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())
    return path
