"""`make bench-transitions`: what each supported transition costs in a 1080p render, in one run.

For each transition, a 4 s 1080p30 timeline (two of bench-render's generated clips, the second
starting at 2 s, joined by a 1 s transition) is validated, planned, compiled and rendered by the
engine (`run_ffmpeg`, feeds drawn while ffmpeg runs) to an mp4 with the product's encoder settings.
The baseline is the same timeline with a hard cut, rendered in the same run: a transition's cost is
its CPU-seconds (ffmpeg plus this process's feed threads) over the hard cut's. For scale, the same
1 s blend as an xfade custom expression (`-f null`, what mask transitions replaced) and as xfade's
own dissolve.

    .venv/bin/python bench/bench_transitions.py [--only NAME ...] [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path

from bench_render import FFMPEG, ROOT, cpu_seconds, make_media

RUN = ROOT / ".run" / "bench-transitions"
RESULTS = ROOT / "bench" / "results" / "transitions.json"
PINWHEEL_EXPRESSION = "if(lte(mod((atan2(Y-H/2,X-W/2)+PI)*4/(2*PI),1),1-P),B,A)"


def spec(transition: str | None) -> dict:
    elements = [
        {"type": "video", "id": "a", "source_url": "https://media.bench/clip1.mp4", "time": 0, "in_point": 2,
         "out_point": 4},
        {"type": "video", "id": "b", "source_url": "https://media.bench/clip2.mp4", "time": 2, "in_point": 5,
         "out_point": 7},
    ]
    transitions = [{"type": transition, "duration": 1, "from_id": "a", "to_id": "b"}] if transition else []
    return {"width": 1920, "height": 1080, "frame_rate": 30, "duration": 4, "output_format": "mp4",
            "elements": elements, "transitions": transitions}


def render(transition: str | None, sources: dict) -> dict:
    from framelane_renderer import engine  # noqa: PLC0415 - the project venv only

    result = engine.validate(spec(transition))
    if not result.ok:
        raise SystemExit(f"invalid spec: {[v.as_dict() for v in result.errors]}")
    work = RUN / (transition or "cut")
    shutil.rmtree(work, ignore_errors=True)
    plan = engine.build_plan(result.normalized, sources)
    cpu, wall = cpu_seconds(), time.perf_counter()
    command = engine.compile_ffmpeg(plan, work / "out.mp4", workdir=work / "work")
    asyncio.run(engine.run_ffmpeg(command.argv, plan.canvas.duration, feeds=command.feeds))
    return {"seconds": time.perf_counter() - wall, "cpu_s": cpu_seconds() - cpu, "feeds": len(command.feeds)}


def xfade_alone(clips: dict[str, Path], transition: str) -> dict:
    """1 s of the two clips blended by one xfade filter, decoded and blended only (`-f null`)."""
    argv = [FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-ss", "3", "-t", "1", "-i", str(clips["clip1"]),
            "-ss", "5", "-t", "1", "-i", str(clips["clip2"]), "-filter_complex",
            f"[0:v][1:v]xfade=transition={transition}:duration=1:offset=0,format=yuv420p", "-an", "-f", "null", "-"]
    cpu, wall = cpu_seconds(), time.perf_counter()
    subprocess.run(argv, check=True)
    return {"seconds": time.perf_counter() - wall, "cpu_s": cpu_seconds() - cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="these transitions only (the hard cut is always rendered)")
    parser.add_argument("--repeat", type=int, default=2, help="renders per transition; the fastest counts")
    ns = parser.parse_args()
    from framelane_renderer.engine import catalog, probe, transitions  # noqa: PLC0415

    clips = make_media()
    sources = {f"https://media.bench/{name}.mp4": probe(str(clips[name])) for name in ("clip1", "clip2")}
    names = [name for name, row in catalog.TRANSITIONS.items() if row.supported and (not ns.only or name in ns.only)]

    def best(transition: str | None) -> dict:
        runs = [render(transition, sources) for _ in range(ns.repeat)]
        return min(runs, key=lambda run: run["cpu_s"])

    cut = best(None)
    print(f"hard cut: {cut['seconds']:.2f} s, {cut['cpu_s']:.2f} CPU-s", flush=True)
    rows = {}
    for name in names:
        row = rows[name] = best(name)
        row["mask"] = isinstance(catalog.TRANSITIONS[name].impl, transitions.MaskTransition)
        row["extra_cpu_s"] = row["cpu_s"] - cut["cpu_s"]
        print(f"{name:24s} {rows[name]['seconds']:6.2f} s {rows[name]['cpu_s']:6.2f} CPU-s "
              f"(+{rows[name]['extra_cpu_s']:.2f} over the cut)", flush=True)
    reference = {"xfade fade": xfade_alone(clips, "fade"),
                 "xfade custom expression (pinwheel)": xfade_alone(clips, f"custom:expr='{PINWHEEL_EXPRESSION}'")}
    lines = ["| transition | kind | render s | CPU-s | CPU-s over the hard cut |", "|---|---|---:|---:|---:|",
             f"| hard cut (baseline) | – | {cut['seconds']:.2f} | {cut['cpu_s']:.2f} | – |"]
    for name, row in sorted(rows.items(), key=lambda item: item[1]["extra_cpu_s"]):
        lines.append(f"| {name} | {'mask' if row['mask'] else 'xfade'} | {row['seconds']:.2f} | {row['cpu_s']:.2f} "
                     f"| {row['extra_cpu_s']:+.2f} |")
    lines += ["", "| 1 s of blending alone, 1080p (`-f null`) | s | CPU-s |", "|---|---:|---:|"]
    lines += [f"| {name} | {row['seconds']:.2f} | {row['cpu_s']:.2f} |" for name, row in reference.items()]
    print("\n" + "\n".join(lines))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"cut": cut, "transitions": rows, "reference": reference}, indent=2))


if __name__ == "__main__":
    main()
