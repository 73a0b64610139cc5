"""Workflow compilers without FFmpeg: styles, copy from briefs, SRT, canvases, the music bed, and
compiled music-video and e-commerce specs that the render validator accepts, cut on the beats."""

from __future__ import annotations

import itertools
import json
import wave

import numpy as np
import pytest

from framelane_renderer.engine import catalog, validate
from framelane_tasks.workflows import audio, ecommerce, layout, music_video, musicbed, prompt, styles, timeline
from framelane_tasks.workflows.audio import AudioAnalysis
from framelane_tasks.workflows.inputs import AudioInput, ImageInput
from framelane_tasks.workflows.srt import parse_srt

FPS = timeline.FPS
IMAGES = [ImageInput("https://media.test/a.png", 1200, 800), ImageInput("https://media.test/b.jpg", 800, 1200),
          ImageInput("https://media.test/c.webp", 1000, 1000)]
SONG = AudioInput("https://media.test/song.mp3", 20.0)
WORDS = [{"text": w, "start": 1 + i * 0.3, "end": 1.25 + i * 0.3}
         for i, w in enumerate("one two three four five six seven eight nine ten eleven. twelve".split())]


def beats_at(bpm: float, duration: float, first: float = 0.25, jitter: float = 0.0) -> AudioAnalysis:
    period = 60 / bpm
    rng = np.random.default_rng(3)
    beats = [round(t + rng.uniform(-jitter, jitter), 4) for t in np.arange(first, duration, period)]
    return AudioAnalysis(duration=duration, tempo=bpm, beats=tuple(beats))


def images_of(spec: dict, prefix: str) -> list[dict]:
    return [e for e in spec["elements"] if e["type"] == "image" and e["id"].startswith(prefix)]


def assert_valid(spec: dict) -> None:
    result = validate(spec)
    assert result.ok, [v.as_dict() for v in result.errors]
    assert not result.warnings, [v.as_dict() for v in result.warnings]


# Styles


@pytest.mark.parametrize("prompt_text, style, tempo, expected", [
    (None, None, 140, "energetic"), (None, None, 125, "energetic"), (None, None, 100, "cinematic"),
    (None, None, 85, "dreamy"), (None, None, 0, "cinematic"),
    ("an upbeat party video", None, 80, "energetic"), ("soft ethereal lofi vibes", None, 140, "dreamy"),
    ("epic dramatic film look", None, 140, "cinematic"), ("chill ambient sunset", None, 140, "calm"),
    ("Hard cuts only, raw", None, 70, "punchy"), ("no transitions please", None, 100, "punchy"),
    ("dreamy and slow", "punchy hard cuts", 100, "punchy"), ("HYPE EDM", None, 60, "energetic"),
    ("energetic but dreamy", None, 100, "energetic"), (None, "Calm", 140, "calm"),
    ("a cut above", None, 100, "cinematic"),
])
def test_style_is_picked_from_style_then_prompt_then_tempo(prompt_text, style, tempo, expected):
    assert styles.pick(prompt_text, style, tempo).name == expected


def test_style_that_names_nothing_falls_back_to_the_prompt():
    assert styles.pick("fast dance", "my own thing", 80).name == "energetic"


def test_every_style_uses_only_what_the_renderer_supports():
    for plan in styles.STYLES.values():
        assert all(catalog.TRANSITIONS[t].supported for t in plan.transitions)
        assert plan.motions and all(catalog.MOTIONS[m].supported for m in plan.motions)
        assert catalog.WORD_ANIMATION_STYLES[plan.caption_style].supported
        assert plan.beats_per_shot >= 2 and (plan.transition_beats > 0) == bool(plan.transitions)
    assert styles.STYLES["punchy"].transitions == ()


# Copy from a brief


@pytest.mark.parametrize("brief, title, price, cta, tagline", [
    ('Launch ad for "Aurora Buds", $49, button says "Get yours"', "Aurora Buds", "$49", "Get yours", None),
    ("“Glow Serum” — “Your skin, upgraded.” now 49 USD. Order today", "Glow Serum", "49 USD", "Order today",
     "Your skin, upgraded."),
    ("Promo for the 'Zen' lamp at ¥99, CTA: 'Buy the lamp'", "Zen", "¥99", "Buy the lamp", None),
    ("Create a 15 second ad for our new Aurora wireless headphones, only $1,299.99 - shop now!",
     "Aurora wireless headphones", "$1,299.99", "Shop now", None),
    ("Summer sale on sneakers, €19 only", "Summer sale on sneakers", "€19", "Shop now", None),
    ("Fast product launch ad for paid social.", None, None, "Shop now", None),
    ("Don't miss our spring collection, learn more", "Don't miss spring collection", None, "Learn more", None),
])
def test_copy_is_taken_from_an_english_brief(brief, title, price, cta, tagline):
    assert prompt.extract(brief) == prompt.Copy(title=title, price=price, cta=cta, tagline=tagline)


def test_copy_from_a_chinese_brief_and_defaults():
    assert prompt.extract("请制作一个无线耳机广告，售价¥299，立即抢购", "zh") == prompt.Copy("无线耳机", "¥299", "立即抢购", None)
    assert prompt.extract("「极光耳机」新品上市 99元", "zh") == prompt.Copy("极光耳机", "99元", "立即购买", None)
    assert prompt.extract(None, "zh") == prompt.Copy(None, None, "立即购买", None)
    assert prompt.extract("   ") == prompt.Copy(None, None, "Shop now", None)


def test_prices_need_a_currency_and_titles_stay_short():
    assert prompt.extract("Version 2.5 of the app, 3 items").price is None
    assert prompt.extract("Mug for 19.99 dollars").price == "19.99 dollars"
    title = prompt.extract("Amazing lightweight breathable waterproof trail running shoes for everyone").title
    assert title is not None and len(title.split()) <= prompt.MAX_TITLE_WORDS


# SRT


def test_srt_words_share_each_cue_by_length():
    words = parse_srt("1\n00:00:01,000 --> 00:00:03,000\nHi wonderful\n\n"
                      "2\n00:00:04,000 --> 00:00:05,000\n<i>Bye</i>\n")
    assert [w["text"] for w in words] == ["Hi", "wonderful", "Bye"]
    assert words[0]["start"] == 1.0 and words[1]["end"] == 3.0 and words[0]["end"] == words[1]["start"]
    assert words[1]["end"] - words[1]["start"] > 4 * (words[0]["end"] - words[0]["start"])
    assert words[2] == {"text": "Bye", "start": 4.0, "end": 5.0}


def test_srt_tolerates_bom_crlf_dots_and_missing_numbers():
    text = ("\ufeff00:00:01.5 --> 00:00:02.000\r\nOne\r\n\r\n"
            "3\r\n00:01:02,250 --> 00:01:03,250 X1:10\r\nTwo\r\nlines\r\n")
    assert parse_srt(text) == [
        {"text": "One", "start": 1.5, "end": 2.0},
        {"text": "Two", "start": 62.25, "end": 62.625}, {"text": "lines", "start": 62.625, "end": 63.25},
    ]


@pytest.mark.parametrize("text, message", [
    ("", "no cue timing"), ("just some words", "line 1"), ("1\n00:00:02,000 --> 00:00:01,000\nBackwards", "ends"),
    ("1\n00:00:aa --> 00:00:02,000\nx", "malformed"), ("1\n00:00:01,000 --> 00:00:02,000\n\n", "no subtitle text"),
])
def test_malformed_srt_is_refused_with_a_clear_message(text, message):
    with pytest.raises(ValueError, match=message):
        parse_srt(text)


# Canvas and timeline


@pytest.mark.parametrize("aspect, resolution, size", [
    ("16:9", "540p", (960, 540)), ("16:9", "720p", (1280, 720)), ("16:9", "1080p", (1920, 1080)),
    ("9:16", "540p", (540, 960)), ("9:16", "1080p", (1080, 1920)), ("1:1", "720p", (720, 720)),
    ("4:3", "720p", (960, 720)), ("3:4", "720p", (720, 960)), ("4:3", "540p", (720, 540)), ("3:4", 1080, (1080, 1440)),
])
def test_resolution_names_the_short_side(aspect, resolution, size):
    assert layout.canvas(aspect, resolution) == size


def test_every_canvas_has_even_sides_and_the_asked_shape():
    for aspect, resolution in itertools.product(layout.ASPECT_RATIOS, layout.RESOLUTIONS):
        width, height = layout.canvas(aspect, resolution)
        across, down = layout.ASPECT_RATIOS[aspect]
        assert width % 2 == 0 and height % 2 == 0 and min(width, height) == layout.RESOLUTIONS[resolution]
        assert abs(width / height - across / down) < 0.01


def test_contain_keeps_the_aspect_inside_the_box():
    assert layout.contain(1200, 800, 900, 900) == (900, 600)
    assert layout.contain(800, 1200, 900, 900) == (600, 900)


def test_transitions_are_centred_on_their_change_frames():
    shots = timeline.place([0, 30, 45, 90], 120, [16, 16, 16])
    # Capped below half of the shots either side (15 and 30 frames) and kept even.
    assert [s.lead for s in shots] == [0, 6, 6, 14]
    for shot in shots[1:]:
        assert shot.start + shot.lead // 2 in (30, 45, 90)
    assert all(a.end == b.start and a.tail == b.lead for a, b in zip(shots, shots[1:]))
    assert timeline.place([0, 30], 33, [8])[1].lead == 0  # a 3-frame last shot leaves no room: a cut


# Music video


MV_GRID = list(itertools.product(
    ["16:9", "9:16", "1:1", "4:3", "3:4"], ["540p", "720p", "1080p"],
    [None, "energetic", "punchy hard cuts", "dreamy", "cinematic", "calm"], [False, True],
))


@pytest.mark.parametrize("aspect, resolution, style, subtitles", MV_GRID)
def test_music_video_specs_validate(aspect, resolution, style, subtitles):
    params = {"aspect_ratio": aspect, "resolution": resolution, "style": style, "add_subtitle": subtitles,
              "subtitle_color": "#ffcc00" if subtitles else None, "language": "en", "quality": "high"}
    spec = music_video.compile(params, IMAGES, SONG, beats_at(128, 20, jitter=0.01), WORDS if subtitles else None)
    assert_valid(spec)
    assert (spec["width"], spec["height"]) == layout.canvas(aspect, resolution)
    assert spec["duration"] == 20.0 and spec["frame_rate"] == 30 and spec["output_format"] == "mp4"
    assert all(isinstance(v, str) for v in spec["metadata"].values())


@pytest.mark.parametrize("style, bpm", [("punchy", 120), ("energetic", 128), ("cinematic", 100), ("dreamy", 72),
                                        ("calm", 90), ("energetic", 174)])
def test_cuts_are_on_beats_and_shots_tile_the_song(style, bpm):
    analysis = beats_at(bpm, 30, jitter=0.012)
    spec = music_video.compile({"style": style}, IMAGES, AudioInput(SONG.url, 30.0), analysis, None)
    assert_valid(spec)
    shots = images_of(spec, "shot_")
    cuts = json.loads(spec["metadata"]["cuts"])
    assert set(cuts) <= {round(b, 3) for b in analysis.beats} and len(cuts) == len(shots) - 1
    assert spec["metadata"]["beats"] == json.dumps([round(b, 3) for b in analysis.beats], separators=(",", ":"))
    # Shots follow each other with neither gap nor overlap and end with the song.
    assert shots[0]["time"] == 0
    for a, b in zip(shots, shots[1:]):
        assert b["time"] == pytest.approx(a["time"] + a["duration"], abs=2e-6)
    assert shots[-1]["time"] + shots[-1]["duration"] == pytest.approx(30.0, abs=2e-6)
    assert [s["source_url"] for s in shots[:4]] == [IMAGES[i % 3].url for i in range(4)]
    transitions = {t["to_id"]: t for t in spec["transitions"]}
    period = 60 / bpm
    for shot, cut in zip(shots[1:], cuts):
        lead = transitions[shot["id"]]["duration"] if shot["id"] in transitions else 0.0
        # The change (a cut, or a transition's midpoint) is on the frame nearest the beat.
        assert abs(shot["time"] + lead / 2 - cut) <= 0.5 / FPS + 1e-6
        assert lead < shot["duration"] / 2
    if style == "punchy":
        assert spec["transitions"] == []
    else:
        assert {t["type"] for t in spec["transitions"]} <= set(styles.STYLES[style].transitions)
    # Whole shots (cut to cut) last the style's beats, doubled until a shot lasts about a second.
    per_shot = styles.STYLES[style].beats_per_shot
    while per_shot * period < 0.97:
        per_shot *= 2
    spans = [b - a for a, b in zip(cuts, cuts[1:])]
    assert spans and all(abs(span - per_shot * period) <= 2 * 0.012 + 1e-3 for span in spans)


def test_a_short_final_sliver_joins_the_previous_shot():
    analysis = beats_at(120, 10.3, first=0.0)
    spec = music_video.compile({"style": "punchy"}, IMAGES, AudioInput(SONG.url, 10.3), analysis, None)
    assert json.loads(spec["metadata"]["cuts"])[-1] == 9.0
    assert images_of(spec, "shot_")[-1]["duration"] == pytest.approx(1.3)


def test_beatless_audio_still_gets_a_valid_video():
    spec = music_video.compile({}, IMAGES[:1], SONG, AudioAnalysis(20.0, 0.0, ()), None)
    assert_valid(spec)
    assert len(images_of(spec, "shot_")) > 1 and spec["metadata"]["style"] == "cinematic"


def test_audio_and_captions_of_the_music_video():
    spec = music_video.compile({"add_subtitle": True, "subtitle_color": "#ffcc00", "resolution": "1080p"}, IMAGES,
                               SONG, beats_at(100, 20), WORDS)
    soundtrack = next(e for e in spec["elements"] if e["type"] == "audio")
    assert soundtrack["source_url"] == SONG.url and soundtrack["fade_in_duration"] == 0.5
    assert soundtrack["fade_out_duration"] == 1.5
    captions = [e for e in spec["elements"] if e["type"] == "text"]
    assert [c["text"] for c in captions] == ["one two three four five six seven eight", "nine ten eleven.", "twelve"]
    for caption in captions:
        words = caption["word_animation"]["words"]
        assert len(words) <= 8 and words[-1]["end"] - words[0]["start"] <= 4
        assert caption["text_color"] == "#ffcc00" and caption["font_size"] == 54 and caption["z_index"] > 0
        assert caption["word_animation"]["style"] == styles.STYLES["cinematic"].caption_style
    silent = music_video.compile({"add_subtitle": False}, IMAGES, SONG, beats_at(100, 20), WORDS)
    assert not [e for e in silent["elements"] if e["type"] == "text"]


# E-commerce video


@pytest.mark.parametrize("aspect, count, duration, language", list(itertools.product(
    ["9:16", "16:9", "1:1"], [1, 2, 7], [10, 15, 60], ["en", "zh"])))
def test_ecommerce_specs_validate(aspect, count, duration, language):
    images = [IMAGES[i % 3] for i in range(count)]
    copy = prompt.extract('Ad for "Aurora Buds" $49' if language == "en" else "「极光耳机」99元", language)
    spec = ecommerce.compile({"duration": duration, "aspect_ratio": aspect, "language": language}, images,
                             AudioInput("https://media.test/bed.wav", duration), copy)
    assert_valid(spec)
    assert min(spec["width"], spec["height"]) == 1080 and spec["duration"] == duration
    assert spec["metadata"] == {"workflow": "ecommerce-video", "title": copy.title, "price": copy.price,
                                "cta": copy.cta}
    backdrops = images_of(spec, "backdrop_") + images_of(spec, "endcard_")
    assert backdrops[0]["time"] == 0 and len(backdrops) == count + 1
    for a, b in zip(backdrops, backdrops[1:]):
        assert b["time"] == pytest.approx(a["time"] + a["duration"], abs=2e-6)
    assert backdrops[-1]["time"] + backdrops[-1]["duration"] == pytest.approx(duration)
    end_card = next(t for t in spec["transitions"] if t["to_id"] == "endcard_backdrop")
    assert duration - (backdrops[-1]["time"] + end_card["duration"] / 2) == pytest.approx(ecommerce.END_CARD_SECONDS,
                                                                                           abs=1 / FPS)
    texts = {e["id"]: e for e in spec["elements"] if e["type"] == "text"}
    assert texts["endcard_cta"]["text"] == copy.cta
    assert all(e["font_family"] == layout.font_family(language) for e in texts.values())
    music = next(e for e in spec["elements"] if e["type"] == "audio")
    assert music["volume"] == 60 and music["fade_out_duration"] > 0


def test_products_are_contained_and_copy_stays_in_the_safe_area():
    images = [ImageInput("https://media.test/tall.png", 500, 1500),
              ImageInput("https://media.test/wide.png", 1600, 400)]
    copy = prompt.Copy("A rather long product title that wraps", "$1,299.99", "Order today", None)
    spec = ecommerce.compile({"duration": 12}, images, AudioInput("https://media.test/bed.wav", 12), copy)
    width, height = spec["width"], spec["height"]
    assert (width, height) == (1080, 1920)
    for element, image in zip(images_of(spec, "product_"), images):
        assert element["width"] / element["height"] == pytest.approx(image.width / image.height, rel=0.01)
        assert element["width"] <= 0.9 * width and element["height"] <= 0.45 * height
    for text in (e for e in spec["elements"] if e["type"] == "text"):
        centre = float(text["y"].rstrip("%")) / 100 * height
        assert text["width"] == "90%"
        assert centre - text["font_size"] >= 0.10 * height and centre + text["font_size"] <= 0.85 * height
    price = next(e for e in spec["elements"] if e.get("id") == "price")
    assert price["time"] == pytest.approx(4.0) and price["background"] is True
    title = next(e for e in spec["elements"] if e.get("id") == "title")
    assert title["time"] == 0 and title["time"] + title["duration"] <= price["time"] + 1e-6


def test_ecommerce_canvas_can_be_smaller_for_tests():
    spec = ecommerce.compile({"duration": 10, "aspect_ratio": "16:9"}, IMAGES, AudioInput("https://m.test/b.wav", 10),
                             prompt.extract(None), short_side=540)
    assert (spec["width"], spec["height"]) == (960, 540)
    assert_valid(spec)


# Audio helpers


def test_beats_snap_to_onsets_only_when_close():
    beats = np.array([1.0, 2.0, 3.0])
    onsets = np.array([0.5, 1.012, 2.2, 2.95])
    assert list(audio._snap(beats, onsets)) == [1.012, 2.0, 2.95]
    assert list(audio._snap(beats, np.array([]))) == [1.0, 2.0, 3.0]


def test_music_bed_is_deterministic_stereo_and_below_minus_3_dbfs(tmp_path):
    first = musicbed.synthesize(tmp_path / "a.wav", 6.5, tempo=112, seed=7)
    again = musicbed.synthesize(tmp_path / "b.wav", 6.5, tempo=112, seed=7)
    other = musicbed.synthesize(tmp_path / "c.wav", 6.5, tempo=112, seed=8)
    assert first.read_bytes() == again.read_bytes() != other.read_bytes()
    with wave.open(str(first)) as bed:
        assert (bed.getnchannels(), bed.getsampwidth(), bed.getframerate()) == (2, 2, 44100)
        assert bed.getnframes() == round(6.5 * 44100)
        samples = np.frombuffer(bed.readframes(bed.getnframes()), "<i2").reshape(-1, 2) / 32768
    assert 20 * np.log10(np.abs(samples).max()) <= -3.0
    assert np.abs(samples[:441]).max() < 0.05 and np.abs(samples[-441:]).max() < 0.05  # fades
    middle = samples[len(samples) // 3: 2 * len(samples) // 3]
    assert np.sqrt(np.mean(middle ** 2)) > 0.05 and not np.array_equal(middle[:, 0], middle[:, 1])
