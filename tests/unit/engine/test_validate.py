"""The render-spec validator: every invariant of seed-apis §A5.8, paths of violations, defaults,
catalog support, limits, and that no JSON input makes it raise."""

from __future__ import annotations

import copy
import random

import pytest

from framelane_renderer.engine import catalog, validate

VIDEO = {"type": "video", "id": "v", "source_url": "https://example.com/clip.mp4"}
IMAGE = {"type": "image", "id": "i", "source_url": "https://example.com/a.png", "duration": 2}
TEXT = {"type": "text", "text": "Hello", "duration": 2}


def codes(result, severity: str = "error") -> set[tuple[str, str]]:
    items = result.errors if severity == "error" else result.warnings
    return {(v.path, v.code) for v in items}


def spec(*elements, **top) -> dict:
    return {"elements": list(elements), **top}


def test_minimal_example_is_valid_with_defaults():
    result = validate(spec(VIDEO, {**TEXT, "time": 1, "motion": [{"type": "fade", "time": 1, "duration": 0.5}]}))
    assert result.ok, result.errors
    top = result.normalized
    assert (top["width"], top["height"], top["frame_rate"], top["output_format"]) == (1280, 720, 30, "mp4")
    assert top["background_color"] == "#000000ff" and top["alpha"] is False and top["duration"] is None
    video, text = top["elements"]
    assert video["x"] == "50%" and video["width"] == "100%" and video["speed"] == 1 and video["volume"] == 100
    assert video["z_index"] == 0 and text["z_index"] == 1
    assert text["font_family"] == "Inter" and text["font_size"] == 16 and text["text_align"] == "center"
    assert text["motion"][0]["easing"] == "linear"


def test_unknown_keys_are_dropped():
    result = validate(spec({**VIDEO, "mystery": 1}, surprise=True))
    assert result.ok and "surprise" not in result.normalized and "mystery" not in result.normalized["elements"][0]


def test_duplicate_ids_are_an_error_only_when_a_transition_refers_to_them():
    duplicated = spec({**IMAGE, "id": "t1"}, {**IMAGE, "id": "t1", "time": 2})
    result = validate(duplicated)
    assert result.ok
    assert ("$.elements[1].id", "DUPLICATE_ELEMENT_ID") in codes(result, "warning")
    duplicated["elements"].append({**IMAGE, "id": "x", "time": 4})
    duplicated["transitions"] = [{"type": "cross_dissolve", "duration": 1, "from_id": "t1", "to_id": "x"}]
    result = validate(duplicated)
    assert {("$.elements[0].id", "DUPLICATE_ELEMENT_ID"), ("$.elements[1].id", "DUPLICATE_ELEMENT_ID")} <= codes(result)


@pytest.mark.parametrize("elements", [[], [{**VIDEO, "visible": False}]])
def test_empty_timeline_is_a_warning(elements):
    result = validate(spec(*elements))
    assert result.ok and ("$.elements", "EMPTY_TIMELINE") in codes(result, "warning")


def test_element_after_end_is_a_warning():
    result = validate(spec(VIDEO, {**TEXT, "time": 5}, duration=5))
    assert result.ok and ("$.elements[1].time", "ELEMENT_AFTER_END") in codes(result, "warning")


def test_caption_word_outside_its_element_is_a_warning():
    words = [{"text": "a", "start": 0.5, "end": 1}, {"text": "b", "start": 2.5, "end": 3.5}]
    result = validate(spec({**TEXT, "time": 0, "duration": 3, "word_animation": {"style": "glow", "words": words}}))
    assert result.ok
    assert codes(result, "warning") == {("$.elements[0].word_animation.words[1]", "CAPTION_WORD_OUT_OF_RANGE")}


def test_transition_self_and_dangling_are_errors():
    result = validate(spec(IMAGE, transitions=[
        {"type": "cross_dissolve", "duration": 1, "from_id": "i", "to_id": "i"},
        {"type": "cross_dissolve", "duration": 1, "from_id": "i", "to_id": "nobody"},
    ]))
    assert ("$.transitions[0]", "TRANSITION_SELF") in codes(result)
    assert ("$.transitions[1].to_id", "DANGLING_TRANSITION") in codes(result)


def test_transition_rules():
    audio = {"type": "audio", "id": "a", "source_url": "https://example.com/a.mp3"}
    result = validate(spec(IMAGE, {**IMAGE, "id": "j", "time": 0}, audio, transitions=[
        {"type": "cross_dissolve", "duration": 1, "from_id": "i", "to_id": "a"},
        {"type": "cross_dissolve", "duration": 1, "from_id": "i", "to_id": "j"},
        {"type": "fade", "duration": 0, "from_id": "j"},
    ]))
    assert {("$.transitions[0].to_id", "invalid_transition"), ("$.transitions[1]", "invalid_transition"),
            ("$.transitions[2].type", "invalid_value"), ("$.transitions[2].duration", "out_of_range"),
            ("$.transitions[2].to_id", "required")} <= codes(result)


def test_incoming_element_must_start_after_the_outgoing_one():
    result = validate(spec({**IMAGE, "time": 3}, {**IMAGE, "id": "j", "time": 1},
                           transitions=[{"type": "iris", "duration": 1, "from_id": "i", "to_id": "j"}]))
    assert codes(result) == {("$.transitions[0].to_id", "invalid_transition")}


def test_every_violation_is_listed_with_its_path():
    result = validate({
        "width": 8, "frame_rate": 0, "output_format": "avi", "background_color": "red", "alpha": "yes",
        "elements": [
            {**VIDEO, "speed": 9, "volume": -1, "in_point": 5, "out_point": 2, "source_url": "https://e.com/a.avi"},
            {"type": "image", "source_url": "https://e.com/a.png"},
            {"type": "text", "text": "", "font_weight": 1000, "text_align": "middle", "x": "fifty"},
            {"type": "composition"},
            {"type": "spaceship"},
            "not an object",
        ],
        "metadata": {"k": 1},
    })
    expected = {
        ("$.width", "out_of_range"), ("$.height", "required"), ("$.frame_rate", "out_of_range"),
        ("$.output_format", "invalid_value"), ("$.background_color", "invalid_format"), ("$.alpha", "invalid_type"),
        ("$.elements[0].speed", "out_of_range"), ("$.elements[0].volume", "out_of_range"),
        ("$.elements[0].out_point", "invalid_combination"), ("$.elements[0].source_url", "unsupported_video_format"),
        ("$.elements[1].id", "required"), ("$.elements[1].duration", "required"),
        ("$.elements[2].text", "out_of_range"), ("$.elements[2].duration", "required"),
        ("$.elements[2].font_weight", "out_of_range"), ("$.elements[2].text_align", "invalid_value"),
        ("$.elements[2].x", "invalid_format"),
        ("$.elements[3].type", "unsupported_element_type"), ("$.elements[4].type", "invalid_value"),
        ("$.elements[5]", "invalid_type"), ("$.metadata.k", "invalid_type"),
    }
    assert expected <= codes(result)
    assert all(v.severity == "error" and v.message for v in result.errors)


def test_alpha_requires_webm_or_mov():
    assert ("$.alpha", "invalid_combination") in codes(validate(spec(VIDEO, alpha=True)))
    assert validate(spec(VIDEO, alpha=True, output_format="webm")).ok
    assert validate(spec(VIDEO, alpha=True, output_format="mov")).ok


def test_text_allows_one_of_background_stroke_shadow():
    result = validate(spec({**TEXT, "background": True, "shadow": True}))
    assert ("$.elements[0].shadow", "invalid_combination") in codes(result)


def test_word_animation_needs_words():
    result = validate(spec({**TEXT, "word_animation": {"style": "glow", "words": []}}))
    assert ("$.elements[0].word_animation.words", "required") in codes(result)
    result = validate(spec({**TEXT, "word_animation": {"style": "glow", "words": [{"text": "a", "start": 2, "end": 1}]}}))
    assert ("$.elements[0].word_animation.words[0].end", "invalid_combination") in codes(result)


def test_video_extension_is_checked_without_query():
    assert validate(spec({**VIDEO, "source_url": "https://e.com/clip.MOV?sig=abc.png"})).ok
    result = validate(spec({**VIDEO, "source_url": "https://e.com/clip.mkv?x=.mp4"}))
    assert ("$.elements[0].source_url", "unsupported_video_format") in codes(result)


def unsupported(table: dict) -> list[str]:
    return [name for name, row in table.items() if not row.supported]


@pytest.mark.parametrize("name", unsupported(catalog.EFFECTS))
def test_unsupported_effects_are_refused(name):
    result = validate(spec({**VIDEO, "effects": [{"type": name}]}))
    assert codes(result) == {("$.elements[0].effects[0].type", "unsupported_effect")}


@pytest.mark.parametrize("name", unsupported(catalog.MOTIONS))
def test_unsupported_motions_are_refused(name):
    result = validate(spec({**TEXT, "motion": [{"type": name, "time": 0, "duration": 1}]}))
    assert codes(result) == {("$.elements[0].motion[0].type", "unsupported_motion")}


@pytest.mark.parametrize("name", unsupported(catalog.TRANSITIONS))
def test_unsupported_transitions_are_refused(name):
    result = validate(spec(IMAGE, {**IMAGE, "id": "j", "time": 2},
                           transitions=[{"type": name, "duration": 1, "from_id": "i", "to_id": "j"}]))
    assert codes(result) == {("$.transitions[0].type", "unsupported_transition")}


@pytest.mark.parametrize("name", unsupported(catalog.ELEMENT_TYPES))
def test_unsupported_element_types_are_refused(name):
    assert codes(validate(spec({"type": name}))) == {("$.elements[0].type", "unsupported_element_type")}


@pytest.mark.parametrize("field, value", [("x_rotation", 30), ("clip", True), ("color_overlay", "#ff000080"),
                                          ("border_radius", 8), ("lut_url", "https://e.com/a.cube")])
def test_fields_the_renderer_cannot_draw_are_refused(field, value):
    assert codes(validate(spec({**VIDEO, field: value}))) == {(f"$.elements[0].{field}", "unsupported_field")}


def test_character_scope_and_loop_are_refused():
    result = validate(spec({**TEXT, "motion": [{"type": "fade", "time": 0, "duration": 1, "scope": "character", "loop": True}]}))
    assert codes(result) == {("$.elements[0].motion[0].scope", "unsupported_motion_scope"),
                             ("$.elements[0].motion[0].loop", "unsupported_field")}


def test_limits_cap_absurd_requests():
    result = validate({"width": 8192, "height": 8192, "duration": 4000, "elements": [TEXT] * 501})
    assert {("$.width", "limit_exceeded"), ("$.duration", "out_of_range"), ("$.elements", "limit_exceeded")} <= codes(result)
    assert validate({"width": 4096, "height": 4096, "elements": [TEXT]}).ok


def test_font_substitution_is_a_warning():
    result = validate(spec({**TEXT, "font_family": "Poppins"}))
    assert result.ok and ("$.elements[0].font_family", "FONT_SUBSTITUTED") in codes(result, "warning")


def test_dimensions_and_angles_accept_documented_forms():
    element = {**VIDEO, "x": "10%", "y": 12, "width": "120px", "z_rotation": "45°", "x_anchor": "0%"}
    assert validate(spec(element)).ok
    assert validate(spec({**element, "z_rotation": "1.5rad"})).ok
    assert ("$.elements[0].z_rotation", "invalid_format") in codes(validate(spec({**element, "z_rotation": "north"})))


def test_capabilities_list_every_catalog_row():
    caps = catalog.capabilities()
    assert len(caps["effects"]) == 46 and len(caps["motions"]) == 43 and len(caps["transitions"]) == 31
    assert len(caps["word_animation_styles"]) == 6
    assert {row["type"] for row in caps["element_types"] if row["supported"]} == {"video", "image", "text", "audio"}
    assert {"Inter", "DejaVu Serif", "DejaVu Sans Mono", "Bebas Neue"} <= {f["family"] for f in caps["fonts"]}
    assert {f["format"] for f in caps["output_formats"] if f["supported"]} == {"mp4", "webm", "mov", "gif", "png", "jpg"}
    assert caps["limits"]["duration"]["max"] == 3600


def random_json(rng: random.Random, depth: int = 0):
    choice = rng.randrange(9 if depth < 4 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, -1, 1, 2**63, 3.5, -1e308, 1e308, 0.25, 100, 8193])
    if choice == 3:
        return rng.choice(["", "50%", "x", "#fff", "#ff00ff", "-3px", "1e5%", "video", "text", "glow", "∞", "NaN"])
    if choice == 4:
        return float(rng.choice(["nan", "inf", "-inf"])) if rng.random() < 0.3 else rng.random() * 1000
    if choice == 5:
        return rng.choice(["fade", "cross_dissolve", "sepia", "none", "mp4", "webm", "https://e.com/a.mp4"])
    keys = ["type", "id", "time", "duration", "elements", "transitions", "words", "style", "effects", "motion",
            "source_url", "width", "height", "x", "text", "from_id", "to_id", "word_animation", "chroma_settings",
            "metadata", "in_point", "out_point", "alpha", "output_format", "opacity", "z_index", "start", "end"]
    if choice == 6:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(6))}


def mutate(rng: random.Random, value):
    if isinstance(value, dict) and value:
        key = rng.choice(list(value))
        value[key] = random_json(rng) if rng.random() < 0.5 else mutate(rng, value[key])
    elif isinstance(value, list) and value:
        index = rng.randrange(len(value))
        value[index] = random_json(rng) if rng.random() < 0.5 else mutate(rng, value[index])
    return value


VALID = {
    "width": 640, "height": 360, "duration": 6, "output_format": "webm", "alpha": True,
    "elements": [
        {**VIDEO, "effects": [{"type": "sepia", "intensity": 50}, {"type": "chroma_key", "chroma_settings": {"hue_min": 80}}],
         "motion": [{"type": "zoom_in", "time": 0, "duration": 1}]},
        {**IMAGE, "time": 1, "motion": [{"type": "ken_burns_in", "time": 1, "duration": 2}]},
        {**TEXT, "word_animation": {"style": "box", "words": [{"text": "Hello", "start": 0, "end": 1}]}},
        {"type": "audio", "source_url": "https://example.com/a.mp3", "volume": 50},
    ],
    "transitions": [{"type": "iris", "duration": 0.5, "from_id": "v", "to_id": "i"}],
    "metadata": {"job": "1"},
}


def test_valid_fixture_is_valid():
    assert validate(VALID).ok, validate(VALID).errors


@pytest.mark.parametrize("seed", range(20))
def test_arbitrary_json_never_raises(seed):
    rng = random.Random(seed)
    for _ in range(150):
        result = validate(random_json(rng))
        assert isinstance(result.errors, list) and isinstance(result.normalized, dict)
        mutated = mutate(rng, mutate(rng, copy.deepcopy(VALID)))
        result = validate(mutated)
        assert all(v.path.startswith("$") for v in result.errors + result.warnings)
