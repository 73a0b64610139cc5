"""Property tests: for ANY JSON the validator answers with violations (never an exception), and for
any spec it accepts, the planner and compiler either compile or refuse with a PlanError."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framelane_renderer import engine
from framelane_renderer.engine.catalog import capabilities

CAPS = capabilities()
SUPPORTED = {kind: [row["type"] for row in CAPS[kind] if row.get("supported")]
             for kind in ("effects", "motions", "transitions")}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)

KEYS = ["width", "height", "duration", "frame_rate", "output_format", "elements", "transitions", "alpha",
        "background_color", "metadata", "time", "type", "text", "source_url", "in_point", "out_point", "speed",
        "x", "y", "opacity", "effects", "motion", "word_animation", "from_id", "to_id", "id", "z_index"]
spec_like = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5000) | st.floats(-10, 5000, allow_nan=False)
    | st.sampled_from(["video", "image", "text", "audio", "mp4", "gif", "50%", "#ff0000", "https://e.com/a.mp4",
                       *SUPPORTED["effects"][:3], *SUPPORTED["transitions"][:3], *SUPPORTED["motions"][:3]]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=8),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_validator_never_raises_on_any_json(value):
    result = engine.validate(value)
    assert all(v.path.startswith("$") and v.code and v.severity == "error" for v in result.errors)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_like)
def test_validator_never_raises_on_spec_shaped_json(value):
    result = engine.validate(value)
    assert isinstance(result.errors, list)


def _source(url: str) -> engine.SourceInfo:
    image = url.endswith(".png")
    return engine.SourceInfo(path="/nonexistent/" + url.rsplit("/", 1)[-1], duration=None if image else 10.0,
                             width=640, height=360, fps=None if image else 30.0, has_video=not url.endswith(".wav"),
                             has_audio=not image, video_codec=None if url.endswith(".wav") else "h264",
                             audio_codec=None if image else "aac", format_name="mp4")


elements = st.one_of(
    st.fixed_dictionaries({"type": st.just("video"), "id": st.sampled_from(["a", "b", "c"]),
                           "source_url": st.just("https://e.com/v.mp4"), "time": st.floats(0, 5),
                           "out_point": st.floats(0.5, 8), "speed": st.sampled_from([0.5, 1, 2]),
                           "effects": st.lists(st.fixed_dictionaries({"type": st.sampled_from(SUPPORTED["effects"])}),
                                               max_size=2)}),
    st.fixed_dictionaries({"type": st.just("image"), "id": st.sampled_from(["a", "b", "c"]),
                           "source_url": st.just("https://e.com/i.png"), "time": st.floats(0, 5),
                           "duration": st.floats(0.5, 5),
                           "motion": st.lists(st.fixed_dictionaries({
                               "type": st.sampled_from(SUPPORTED["motions"]), "time": st.floats(0, 5),
                               "duration": st.floats(0.2, 3)}), max_size=2)}),
    st.fixed_dictionaries({"type": st.just("text"), "text": st.text(string.ascii_letters + " ", min_size=1, max_size=20),
                           "time": st.floats(0, 5), "duration": st.floats(0.5, 5)}),
    st.fixed_dictionaries({"type": st.just("audio"), "source_url": st.just("https://e.com/a.wav"),
                           "volume": st.floats(1, 100)}),
)
specs = st.fixed_dictionaries({
    "width": st.sampled_from([64, 160, 321]), "height": st.sampled_from([64, 90, 241]), "frame_rate": st.sampled_from([10, 30]),
    "output_format": st.sampled_from(["mp4", "webm", "gif", "png"]), "elements": st.lists(elements, max_size=5),
    "transitions": st.lists(st.fixed_dictionaries({"type": st.sampled_from(SUPPORTED["transitions"]),
                                                   "duration": st.floats(0.1, 2), "from_id": st.sampled_from(["a", "b"]),
                                                   "to_id": st.sampled_from(["b", "c"])}), max_size=2),
})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs)
def test_every_accepted_spec_compiles_or_is_refused_by_the_planner(spec, tmp_path_factory):
    result = engine.validate(spec)
    if not result.ok:
        return
    urls = [e["source_url"] for e in result.normalized["elements"] if e.get("source_url")]
    try:
        plan = engine.build_plan(result.normalized, {u: _source(u) for u in urls})
    except engine.PlanError as err:
        assert err.path.startswith("$") and err.code
        return
    argv = engine.compile_ffmpeg(plan, tmp_path_factory.mktemp("c") / f"out.{spec['output_format']}").argv
    assert argv[0].endswith("ffmpeg") and str(argv[-1]).endswith(spec["output_format"])
