"""Beat analysis of a soundtrack with librosa: duration, tempo and beat times for cutting on beats.

librosa's beat tracker places beats on a 512-sample frame grid (about 23 ms at 22050 Hz) and picks
them from a smoothed tempo model, so each beat is then snapped to the nearest detected onset on a
finer grid: cuts land on the drum hit you hear, not merely near it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 22050
ONSET_HOP = 128
ONSET_FFT = 1024  # a shorter window than the default 2048 places sharp attacks ~5 ms closer
SNAP_WINDOW = 0.07  # seconds: an onset farther than this from a beat is another event, not the beat
MIN_BEATS_FOR_TEMPO = 4
TEMPO_SPREAD = 0.1


@dataclass(frozen=True)
class AudioAnalysis:
    """What a compiler needs of a soundtrack: its length, tempo (BPM) and beat times (seconds)."""

    duration: float
    tempo: float
    beats: tuple[float, ...]


def _snap(beats: np.ndarray, onsets: np.ndarray) -> np.ndarray:
    """Each beat moved to its nearest onset when one lies within SNAP_WINDOW."""
    if not len(onsets):
        return beats
    nearest = onsets[np.abs(onsets[None, :] - beats[:, None]).argmin(axis=1)]
    return np.where(np.abs(nearest - beats) <= SNAP_WINDOW, nearest, beats)


def _analyze_samples(y: np.ndarray, sr: int) -> AudioAnalysis:
    import librosa  # noqa: PLC0415 - heavy (numba), only where audio is analysed

    duration = float(librosa.get_duration(y=y, sr=sr))
    tempo, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
    strength = librosa.onset.onset_strength(y=y, sr=sr, hop_length=ONSET_HOP, n_fft=ONSET_FFT)
    onsets = librosa.onset.onset_detect(onset_envelope=strength, sr=sr, hop_length=ONSET_HOP, backtrack=False,
                                        units="time")
    snapped = np.unique(np.round(_snap(np.asarray(beats, float), np.asarray(onsets, float)), 4))
    bpm = float(np.atleast_1d(tempo)[0])
    if len(snapped) >= MIN_BEATS_FOR_TEMPO:
        # The mean of the regular beat intervals is finer than librosa's tempogram bins; intervals
        # far from the median (a skipped or doubled beat) are left out.
        intervals = np.diff(snapped)
        median = float(np.median(intervals))
        bpm = 60.0 / float(np.mean(intervals[np.abs(intervals - median) <= TEMPO_SPREAD * median]))
    return AudioAnalysis(duration=duration, tempo=bpm, beats=tuple(float(b) for b in snapped))


def analyze(path: Path) -> AudioAnalysis:
    """Duration, tempo and onset-refined beat times of an audio file (mono, 22050 Hz)."""
    import librosa  # noqa: PLC0415

    y, sr = librosa.load(str(path), sr=SAMPLE_RATE, mono=True)
    return _analyze_samples(y, sr)


def warm_up() -> None:
    """Compile librosa's numba kernels once (several seconds) so the first real task is not slow."""
    import librosa  # noqa: PLC0415

    clicks = librosa.clicks(times=np.arange(0.25, 3.0, 0.5), sr=SAMPLE_RATE, length=3 * SAMPLE_RATE)
    _analyze_samples(clicks.astype(np.float32), SAMPLE_RATE)
