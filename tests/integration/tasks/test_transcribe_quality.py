"""Transcription quality on generated speech (word error rate across sentences and voices), and the
recipe that turns a transcript into captions: its `words` go straight into a text element's
`word_animation` (README: AI tasks)."""

import asyncio
import json
import subprocess

import numpy as np

from framelane_renderer.engine import probe
from framelane_tasks.processors import transcribe
from tests.integration.engine.engine_media import Renderer
from tests.speech import wer

SENTENCES = ["please upload the video and add a title at the beginning.",
             "the quick brown fox jumps over the lazy dog.",
             "send the finished clip to the whole team before friday."]
# An American and a British voice, and a female variant (espeak-ng's names).
VOICES = ("en-us", "en-gb-x-rp", "en-us+f3")


async def _transcribe(wav, workdir) -> dict:
    async def progress(percent, stage):
        pass

    result = await transcribe.run(wav, {"word_timings": True}, workdir, progress, asyncio.Event())
    return json.loads(result.main.read_text())


def frame(path, at: float, w: int, h: int) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(at), "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3).astype(int)


def test_word_error_rate_across_voices_and_captions_from_the_transcript(tmp_path):
    reference = " ".join(SENTENCES)
    transcripts = {}
    for voice in VOICES:
        wav = tmp_path / f"{voice}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "130", "-g", "8", "-w", str(wav), reference], check=True)
        (tmp_path / voice).mkdir()
        transcripts[voice] = asyncio.run(_transcribe(wav, tmp_path / voice))
    rates = {voice: round(wer(reference, t["text"]), 3) for voice, t in transcripts.items()}
    print("WER", rates)
    assert all(rate <= 0.10 for rate in rates.values()), (rates, {v: t["text"] for v, t in transcripts.items()})

    # The recipe: a transcript's words are a word_animation's words as they are (times absolute).
    transcript = transcripts["en-gb-x-rp"]
    words = transcript["words"][:8]
    duration = round(words[-1]["end"] + 0.5, 2)
    spec = {"width": 320, "height": 180, "frame_rate": 25, "duration": duration, "background_color": "#000000",
            "elements": [{"type": "text", "text": " ".join(w["text"] for w in words), "time": 0,
                          "duration": duration, "font_size": 18, "width": 300, "color": "#ffffff",
                          "word_animation": {"style": "box", "words": words}}]}
    out = Renderer(tmp_path / "render", {})(spec)
    info = probe(str(out))
    assert (info.width, info.height) == (320, 180) and abs(info.duration - duration) < 0.1
    first, later = (frame(out, (w["start"] + w["end"]) / 2, 320, 180) for w in (words[0], words[5]))
    assert first.max() > 200 and later.max() > 200  # the captions are drawn
    assert np.abs(first - later).mean() > 1.0  # and the highlighted word moved with the speech
