"""MoviePy 2.x renderings of the bench specs (bench/specs), for `make bench-render`.

Runs in .run/bench-moviepy-venv (MoviePy 2.2.1 needs pillow<12, which the project venv cannot have):

    python bench/moviepy_timelines.py SPEC.json OUT.mp4 --preset veryfast --crf 20 --threads 2

SPEC.json is a bench spec whose {{placeholders}} were replaced by local file paths. It is read with
the same meaning as Framelane gives it, for the features the bench specs use, written the way a
MoviePy user would write them:

- video: `subclipped(in_point, out_point)`, `with_start(time)`, scaled to cover the canvas (no
  resize when the source already has the canvas size), `FadeIn`/`FadeOut`, `with_volume_scaled`;
- image: resized once to cover the canvas, Ken Burns as `resized(lambda t: zoom)` (a per-frame
  resize, which is how MoviePy animates a scale), centred so the composite crops it;
- a transition extends the outgoing element by its duration (as Framelane's planner does);
  `cross_dissolve` is `CrossFadeIn` on the incoming clip, `wipe_left` a moving mask (the incoming
  clip is revealed from the right edge, like FFmpeg's xfade=wipeleft);
- text: `TextClip` with the Inter ExtraBold font file; its shadow is an image made once from the
  text's alpha, offset and Gaussian-blurred with Pillow; `slide_up` moves the position, `fade`
  (exit) is `CrossFadeOut`;
- captions (word_animation scale_pop): the whole caption as one wrapped `TextClip` (with its
  stroke) for the element's duration, and each spoken word as its own `TextClip` that
  pops (`resized(lambda t: ...)`) centred over it. Framelane instead re-draws the caption line
  with the active word scaled in place: the words sit elsewhere, the per-frame work is alike;
- audio: `AudioFileClip` with `AudioFadeIn`/`AudioFadeOut`, mixed with the clips' own audio.

The output is written with write_videofile(codec="libx264", preset, crf, threads, aac 192k,
48 kHz), through whichever ffmpeg IMAGEIO_FFMPEG_EXE names (the bench points it at /usr/bin/ffmpeg,
the binary Framelane uses).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from moviepy import (AudioFileClip, CompositeAudioClip, CompositeVideoClip, ImageClip, TextClip, VideoClip,
                     VideoFileClip, afx, vfx)
from PIL import Image, ImageFilter

FONT = "/usr/share/fonts/opentype/inter/Inter-ExtraBold.otf"
EASINGS = {
    "linear": lambda p: p,
    "ease_in": lambda p: p * p,
    "ease_out": lambda p: p * (2 - p),
    "ease_in_out": lambda p: p * p * (3 - 2 * p),
}
KEN_BURNS_ZOOM = 0.25
POP_SECONDS = 0.2


def percent(value, reference: float, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, str) and value.endswith("%"):
        return float(value[:-1]) / 100 * reference
    return float(value)


def hex_rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return tuple(int(color[i:i + 2], 16) for i in (0, 2, 4))


def hex_alpha(color: str) -> float:
    color = color.lstrip("#")
    return int(color[6:8], 16) / 255 if len(color) == 8 else 1.0


def progress(t: float, start: float, duration: float, easing: str) -> float:
    raw = min(1.0, max(0.0, (t - start) / duration)) if duration > 0 else 1.0
    return EASINGS.get(easing, EASINGS["linear"])(raw)


def cover(clip, width: int, height: int):
    """Scale to cover width×height and crop the centre (nothing when the size already matches)."""
    w, h = clip.size
    if (w, h) == (width, height):
        return clip
    scale = max(width / w, height / h)
    clip = clip.resized((round(w * scale), round(h * scale)))
    return clip.cropped(x_center=clip.w / 2, y_center=clip.h / 2, width=width, height=height)


def wipe_left(clip, duration: float):
    """Reveal `clip` from the right edge leftwards over `duration` (FFmpeg's xfade=wipeleft)."""
    w, h = clip.size
    columns = np.arange(w)[None, :]

    def mask_frame(t):
        p = min(1.0, max(0.0, t / duration))
        return np.broadcast_to((columns >= w * (1 - p)).astype(float), (h, w))

    return clip.with_mask(VideoClip(mask_frame, is_mask=True, duration=clip.duration))


def shadow_of(text: TextClip, color: str, blur: float):
    """An image clip of the text's shadow: its alpha in the shadow colour, blurred once."""
    alpha = text.mask.get_frame(0) * hex_alpha(color)
    pad = int(blur * 3)
    padded = np.pad(alpha, pad)
    if blur > 0:
        image = Image.fromarray((padded * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(blur))
        padded = np.asarray(image).astype(float) / 255
    rgb = np.zeros((*padded.shape, 3), np.uint8)
    rgb[:] = hex_rgb(color)
    return ImageClip(rgb).with_mask(ImageClip(padded, is_mask=True)), pad


def text_clip(element: dict, text: str, **extra) -> TextClip:
    kwargs = {"font": FONT, "text": text, "font_size": int(element.get("font_size") or 48),
              "color": element.get("text_color") or "#ffffff", "margin": (8, 8)}
    if element.get("stroke"):
        kwargs["stroke_color"] = element.get("stroke_color") or "#000000"
        kwargs["stroke_width"] = int(element.get("stroke_width") or 2)
    if element.get("background"):  # a plate only when asked: background_color alone is the highlight colour
        kwargs["bg_color"] = element.get("background_color") or "#000000"
    kwargs.update(extra)
    return TextClip(**kwargs)


class Timeline:
    def __init__(self, spec: dict):
        self.spec = spec
        self.width, self.height = int(spec["width"]), int(spec["height"])
        self.fps, self.duration = int(spec["frame_rate"]), float(spec["duration"])
        self.outgoing = {t["from_id"]: t for t in spec.get("transitions", [])}
        self.incoming = {t["to_id"]: t for t in spec.get("transitions", [])}
        self.audio: list = []

    def extension(self, element: dict) -> float:
        transition = self.outgoing.get(element.get("id"))
        if transition is None:
            return 0.0
        target = next(e for e in self.spec["elements"] if e.get("id") == transition["to_id"])
        return max(0.0, target["time"] + transition["duration"] - (element["time"] + self.length(element)))

    def length(self, element: dict) -> float:
        if element.get("duration") is not None:
            return float(element["duration"])
        return float(element["out_point"]) - float(element.get("in_point") or 0)

    def transition_in(self, element: dict, clip):
        transition = self.incoming.get(element.get("id"))
        if transition is None:
            return clip
        if transition["type"] == "cross_dissolve":
            return clip.with_effects([vfx.CrossFadeIn(transition["duration"])])
        if transition["type"] == "wipe_left":
            return wipe_left(clip, transition["duration"])
        raise SystemExit(f"transition {transition['type']} is not in the MoviePy bench")

    def video(self, element: dict):
        start, in_point = float(element["time"]), float(element.get("in_point") or 0)
        volume = element.get("volume", 100) / 100
        source = VideoFileClip(element["source_url"], audio=volume > 0)
        end = min(source.duration, in_point + self.length(element) + self.extension(element))
        clip = cover(source.subclipped(in_point, end), self.width, self.height)
        effects = []
        if element.get("fade_in_duration"):
            effects.append(vfx.FadeIn(element["fade_in_duration"]))
        if element.get("fade_out_duration"):
            effects.append(vfx.FadeOut(element["fade_out_duration"]))
        if effects:
            clip = clip.with_effects(effects)
        if clip.audio is not None:
            audio = clip.audio.with_volume_scaled(volume)
            fades = [afx.AudioFadeIn(element["fade_in_duration"])] if element.get("fade_in_duration") else []
            fades += [afx.AudioFadeOut(element["fade_out_duration"])] if element.get("fade_out_duration") else []
            self.audio.append((audio.with_effects(fades) if fades else audio).with_start(start))
            clip = clip.without_audio()
        return self.transition_in(element, clip).with_start(start)

    def image(self, element: dict):
        start = float(element["time"])
        length = self.length(element) + self.extension(element)
        clip = cover(ImageClip(element["source_url"]).with_duration(length), self.width, self.height)
        for motion in element.get("motion", []):
            if motion["type"] != "ken_burns_in":
                raise SystemExit(f"image motion {motion['type']} is not in the MoviePy bench")
            local, duration, easing = motion["time"] - start, motion["duration"], motion.get("easing", "linear")
            clip = clip.resized(lambda t, a=local, d=duration, e=easing: 1 + KEN_BURNS_ZOOM * progress(t, a, d, e))
        clip = clip.with_position(("center", "center"))
        return self.transition_in(element, clip).with_start(start)

    def title(self, element: dict) -> list:
        start, length = float(element["time"]), self.length(element)
        text = text_clip(element, element["text"]).with_duration(length)
        cx = percent(element.get("x"), self.width, self.width / 2)
        cy = percent(element.get("y"), self.height, self.height / 2)
        left, top = cx - text.w / 2, cy - text.h / 2
        slide, exit_effects = None, []
        for motion in element.get("motion", []):
            local = motion["time"] - start
            if motion["type"] == "slide_up":
                slide = (local, motion["duration"], motion.get("easing", "linear"), self.height - top)
            elif motion["type"] == "fade":
                exit_effects.append(vfx.CrossFadeOut(motion["duration"]))
            else:
                raise SystemExit(f"text motion {motion['type']} is not in the MoviePy bench")

        def at(dx: float, dy: float):
            if slide is None:
                return left + dx, top + dy
            local, duration, easing, distance = slide
            return lambda t: (left + dx, top + dy + distance * (1 - progress(t, local, duration, easing)))

        layers = []
        if element.get("shadow"):
            blur = float(element.get("shadow_blur") or 0)
            shadow, pad = shadow_of(text, element.get("shadow_color") or "#00000080", blur)
            shadow = shadow.with_duration(length)
            layers.append(shadow.with_position(at(float(element.get("shadow_x") or 0) - pad,
                                                  float(element.get("shadow_y") or 0) - pad)))
        layers.append(text.with_position(at(0, 0)))
        if exit_effects:
            layers = [layer.with_effects(exit_effects) for layer in layers]
        return [layer.with_start(start) for layer in layers]

    def captions(self, element: dict) -> list:
        start, length = float(element["time"]), self.length(element)
        box_width = round(percent(element.get("width"), self.width, self.width))
        cy = percent(element.get("y"), self.height, self.height / 2)
        block = text_clip(element, element["text"], method="caption", size=(box_width, None),
                          text_align="center").with_duration(length)
        layers = [block.with_position(("center", cy - block.h / 2)).with_start(start)]
        for word in element["word_animation"]["words"]:
            duration = word["end"] - word["start"]
            popped = text_clip(element, word["text"]).with_duration(duration)

            def pop(t):
                p = min(1.0, t / POP_SECONDS)
                return 1 + 0.3 * np.sin(np.pi * p) + 0.1 * p

            popped = popped.resized(pop)
            layers.append(popped.with_position(lambda t, c=popped: ("center", cy - c.get_frame(t).shape[0] / 2))
                          .with_start(start + word["start"]))
        return layers

    def music(self, element: dict):
        start, in_point = float(element["time"]), float(element.get("in_point") or 0)
        audio = AudioFileClip(element["source_url"])
        end = min(audio.duration, in_point + (self.length(element) if element.get("out_point") or element.get("duration")
                                              else audio.duration - in_point), self.duration - start + in_point)
        audio = audio.subclipped(in_point, end).with_volume_scaled(element.get("volume", 100) / 100)
        fades = [afx.AudioFadeIn(element["fade_in_duration"])] if element.get("fade_in_duration") else []
        fades += [afx.AudioFadeOut(element["fade_out_duration"])] if element.get("fade_out_duration") else []
        self.audio.append((audio.with_effects(fades) if fades else audio).with_start(start))

    def build(self):
        ordered = sorted(enumerate(self.spec["elements"]), key=lambda item: (item[1].get("z_index", 0), item[0]))
        visuals = []
        for _, element in ordered:
            kind = element["type"]
            if kind == "video":
                visuals.append(self.video(element))
            elif kind == "image":
                visuals.append(self.image(element))
            elif kind == "text" and element.get("word_animation"):
                visuals += self.captions(element)
            elif kind == "text":
                visuals += self.title(element)
            elif kind == "audio":
                self.music(element)
        only = visuals[0] if len(visuals) == 1 else None
        if only is not None and only.start == 0 and tuple(only.size) == (self.width, self.height) \
                and only.duration >= self.duration - 1e-6:
            video = only  # one full-canvas clip: write it as is, no composite (what a MoviePy user does)
        else:
            video = CompositeVideoClip(visuals, size=(self.width, self.height), bg_color=(0, 0, 0))
        video = video.with_duration(self.duration)
        if self.audio:
            video = video.with_audio(CompositeAudioClip(self.audio).with_duration(self.duration))
        return video


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec")
    parser.add_argument("output")
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--crf", default="20")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=None, help="render only the first SECONDS of the timeline")
    ns = parser.parse_args()
    spec = json.loads(open(ns.spec).read())
    started = time.perf_counter()
    timeline = Timeline(spec)
    video = timeline.build()
    if ns.seconds is not None and ns.seconds < video.duration:
        video = video.subclipped(0, ns.seconds)
    built = time.perf_counter()
    video.write_videofile(ns.output, fps=timeline.fps, codec="libx264", preset=ns.preset, threads=ns.threads,
                          ffmpeg_params=["-crf", str(ns.crf)], pixel_format="yuv420p", audio_codec="aac",
                          audio_bitrate="192k", audio_fps=48000, logger=None)
    done = time.perf_counter()
    print(json.dumps({"build_s": built - started, "write_s": done - built}))


if __name__ == "__main__":
    main()
