"""`make bench-render`: the reference render specs (bench/specs) rendered four ways in one run.

1. ours, end to end: POST /v1/renders through Envoy on a local mesh, polled with
   GET /v1/renders/{id}?wait=25 until completed (submit → completed wall time). A first render of
   the spec's first second fetches every source (cold cache; --full-cold renders it whole); the
   measured render then finds them in the renderer's cache, revalidated with a 304 (warm).
2. FFmpeg alone: the command the engine compiles for the same spec (validate → probe → build_plan
   → compile_ffmpeg), run by hand; peak RSS of the ffmpeg process from wait4. Caption frames, which
   a render draws into a FIFO while FFmpeg reads it, are drawn into a file first, so FFmpeg alone
   finds every input ready.
3. the encoder's floor: the spec's main clip looped, fitted to the canvas and encoded for the same
   length with the same encoder arguments as (2), and no compositing.
4. MoviePy 2.2.1 rendering the same timeline (bench/moviepy_timelines.py), in its own venv
   (.run/bench-moviepy-venv, from bench/requirements-moviepy.txt), through /usr/bin/ffmpeg.

Paths 2-4 and the warm render of 1 run --rounds times (default 2), one of each per round in that
order, so that a slow spell of the shared machine falls on one round of every path rather than on
every run of one; the table shows each path's fastest run, and each round's MoviePy / ours is
listed under it.

Sources are generated with FFmpeg's lavfi into .run/bench-render/media (kept between runs) and
served from 127.0.0.1. Results: a markdown table per spec on stdout and bench/results/render.json.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / ".run" / "bench-render"
MEDIA = RUN / "media"
SPECS_DIR = ROOT / "bench" / "specs"
MOVIEPY_VENV = ROOT / ".run" / "bench-moviepy-venv"
MOVIEPY_REQUIREMENTS = ROOT / "bench" / "requirements-moviepy.txt"
MOVIEPY_SCRIPT = ROOT / "bench" / "moviepy_timelines.py"
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
SPECS = ("timeline_1080p30_60s", "captions_720p_vertical_15s", "clip_4k_10s")
MAIN_CLIP = {"timeline_1080p30_60s": "clip1", "captions_720p_vertical_15s": "clip_vertical", "clip_4k_10s": "clip4k"}
TERMINAL = ("completed", "failed", "cancelled")
COLD_SECONDS = 1
ROUND_PATHS = ("ffmpeg_alone", "encoder_floor", "ours_warm", "moviepy")
STALL_SECONDS = 90


def _clip(pattern: str, seconds: int, tone: int) -> list[str]:
    """A 30 fps H.264/AAC clip: a lavfi pattern with light temporal grain (so it encodes like footage)."""
    return ["-f", "lavfi", "-i", pattern, "-f", "lavfi", "-i", f"sine=f={tone}:beep_factor=2:sample_rate=48000",
            "-t", str(seconds), "-vf", "noise=alls=6:allf=t,format=yuv420p", "-r", "30",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "60",
            "-c:a", "aac", "-b:a", "128k", "-ac", "2"]


MEDIA_RECIPES = {
    "clip1": ("clip1.mp4", _clip("testsrc2=s=1920x1080:r=30", 25, 440)),
    "clip2": ("clip2.mp4", _clip("gradients=s=1920x1080:r=30:speed=0.03", 25, 550)),
    "clip3": ("clip3.mp4", _clip("mandelbrot=s=1920x1080:r=30", 14, 660)),
    "image1": ("image1.jpg", ["-f", "lavfi", "-i", "mandelbrot=s=2400x1600", "-frames:v", "1", "-q:v", "3"]),
    "music": ("music.m4a", ["-f", "lavfi", "-i",
                            "aevalsrc=0.25*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*0.5*t))+0.1*sin(2*PI*330*t)"
                            "|0.25*sin(2*PI*277*t)*(0.6+0.4*sin(2*PI*0.5*t)):s=48000:d=60",
                            "-c:a", "aac", "-b:a", "192k"]),
    "clip_vertical": ("clip_vertical.mp4", _clip("testsrc2=s=720x1280:r=30", 16, 330)),
    "clip4k": ("clip4k.mp4", _clip("testsrc2=s=3840x2160:r=30", 11, 440)),
}


# ---------------------------------------------------------------------------------------- setup

def make_media() -> dict[str, Path]:
    """Every source the specs name, generated once (an interrupted file is never reused)."""
    MEDIA.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (filename, args) in MEDIA_RECIPES.items():
        path = MEDIA / filename
        if not path.exists():
            print(f"generating {filename} ...", flush=True)
            tmp = path.with_name(f".{filename}.part{path.suffix}")
            subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-y", "-v", "error", *args, str(tmp)], check=True)
            tmp.replace(path)
        paths[name] = path
    return paths


def moviepy_python() -> Path:
    """The MoviePy venv's python, created from bench/requirements-moviepy.txt when missing or stale."""
    python = MOVIEPY_VENV / "bin" / "python"
    stamp = MOVIEPY_VENV / ".requirements.sha256"
    digest = hashlib.sha256(MOVIEPY_REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return python
    print(f"creating {MOVIEPY_VENV.relative_to(ROOT)} from {MOVIEPY_REQUIREMENTS.relative_to(ROOT)} ...", flush=True)
    shutil.rmtree(MOVIEPY_VENV, ignore_errors=True)
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", str(MOVIEPY_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "-r", str(MOVIEPY_REQUIREMENTS)], check=True)
    stamp.write_text(digest)
    return python


class MediaHandler(SimpleHTTPRequestHandler):
    """Static files with Last-Modified (If-Modified-Since → 304) and, with --etag, an ETag (If-None-Match
    → 304), like a CDN: the renderer's cache revalidates either way."""

    served: dict[str, int] = {"200": 0, "304": 0, "bytes": 0}
    etags = False
    _etag: str | None = None

    def log_message(self, *args):
        pass

    def send_head(self):
        path = self.translate_path(self.path)
        self._etag = None
        if self.etags and os.path.isfile(path):
            st = os.stat(path)
            self._etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
            if self.headers.get("If-None-Match") == self._etag:
                self.send_response(304)
                self.end_headers()
                return None
        return super().send_head()  # answers If-Modified-Since with a 304 itself

    def send_response(self, code, message=None):
        if code == 304:
            self.served["304"] += 1
        elif code == 200:
            self.served["200"] += 1
            self.served["bytes"] += os.path.getsize(self.translate_path(self.path))
        super().send_response(code, message)

    def end_headers(self):
        if self._etag:
            self.send_header("ETag", self._etag)
        super().end_headers()


def load_spec(name: str, sources: dict[str, str]) -> dict:
    text = (SPECS_DIR / f"{name}.json").read_text()
    for key, value in sources.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        raise SystemExit(f"{name}: unreplaced placeholder in {text[text.index('{{'):][:40]}")
    return json.loads(text)


# -------------------------------------------------------------------------------- measurement

def _tree_rss_kib(root: int) -> int:
    """Resident memory of `root` and all its descendants (from /proc), in KiB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields["PPid"]), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


class TreeSampler:
    """Peak of the summed RSS of a process tree, sampled every `interval` seconds."""

    def __init__(self, root: int, interval: float = 0.25):
        self.root, self.interval, self.peak_kib = root, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.interval):
            self.peak_kib = max(self.peak_kib, _tree_rss_kib(self.root))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# The measured command is started by a small interpreter, which reports its wait4 rusage. A child
# forked (or vforked) straight from this process would inherit this process's RSS high-water mark:
# Linux keeps the larger of the pre-exec and post-exec peaks in ru_maxrss, and this process holds
# the mesh clients and the engine's caption frames (hundreds of MiB).
LAUNCHER = """
import json, os, sys
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump({"code": os.waitstatus_to_exitcode(status), "maxrss_kib": usage.ru_maxrss,
               "cpu": usage.ru_utime + usage.ru_stime}, f)
"""


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have exited (FFmpeg, the model runner)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_measured(argv: list[str], log: Path, env: dict | None = None, sample_tree: bool = False,
                 timeout: float = 1800) -> dict:
    """Run argv to completion: wall seconds, CPU seconds and peak RSS (wait4 in a small launcher: the
    largest of the process and the children it waited for), plus the sampled peak of the whole tree."""
    usage_file = log.with_suffix(".rusage.json")
    with open(log, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER, str(usage_file), *argv],
                                stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env)
        sampler = TreeSampler(proc.pid) if sample_tree else None
        if sampler:
            sampler.__enter__()
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            if sampler:
                sampler.__exit__()
        wall = time.perf_counter() - t0
    measured = json.loads(usage_file.read_text()) if os.waitstatus_to_exitcode(status) == 0 else {"code": -1}
    if measured["code"] != 0:
        raise RuntimeError(f"{argv[0]} exited with {measured['code']}; see {log}:\n{log.read_text()[-2000:]}")
    result = {"seconds": wall, "cpu_seconds": measured["cpu"], "peak_rss_mib": measured["maxrss_kib"] / 1024}
    if sampler:
        result["peak_tree_rss_mib"] = max(sampler.peak_kib / 1024, result["peak_rss_mib"])
    return result


def engine_command(spec: dict, local: dict[str, Path], out: Path, workdir: Path) -> tuple[list[str], dict]:
    """The ffmpeg argv our engine compiles for `spec` (sources already local), and how long that took."""
    from framelane_renderer import engine  # noqa: PLC0415 - the project venv only

    t0 = time.perf_counter()
    result = engine.validate(spec)
    if not result.ok:
        raise SystemExit(f"invalid spec: {[v.as_dict() for v in result.errors]}")
    urls = {e["source_url"] for e in result.normalized["elements"] if e.get("source_url")}
    by_url = {url: str(local[url.rsplit("/", 1)[1]]) for url in urls}
    t1 = time.perf_counter()
    sources = {url: engine.probe(path) for url, path in by_url.items()}
    t2 = time.perf_counter()
    plan = engine.build_plan(result.normalized, sources)
    shutil.rmtree(workdir, ignore_errors=True)
    command = engine.compile_ffmpeg(plan, out, workdir=workdir)
    t3 = time.perf_counter()
    for feed in command.feeds:  # caption frames: drawn while ffmpeg runs in a render, into files here
        feed.write_file()
    t4 = time.perf_counter()
    return command.argv, {"validate_s": t1 - t0, "probe_s": t2 - t1, "plan_compile_s": t3 - t2, "feeds_s": t4 - t3}


def encoder_args(argv: list[str]) -> list[str]:
    """The output arguments of a compiled command: from -c:v up to -t (or the output path)."""
    start = argv.index("-c:v")
    end = argv.index("-t", start) if "-t" in argv[start:] else len(argv) - 1
    return argv[start:end]


def floor_command(spec: dict, clip: Path, argv: list[str], out: Path) -> list[str]:
    w, h, fps, duration = spec["width"], spec["height"], spec["frame_rate"], spec["duration"]
    fit = (f"[0:v]fps={fps},scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1,"
           f"format=yuv420p[v]")
    return [FFMPEG, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-stream_loop", "-1", "-i", str(clip),
            "-filter_complex", fit, "-map", "[v]", "-map", "0:a", "-r", str(fps), *encoder_args(argv),
            "-t", f"{duration:.6f}", str(out)]


def probe_output(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    video = next(s for s in data["streams"] if s["codec_type"] == "video")
    return {"width": video["width"], "height": video["height"], "duration": float(data["format"]["duration"]),
            "size_mib": int(data["format"]["size"]) / 2**20, "has_audio": any(s["codec_type"] == "audio"
                                                                             for s in data["streams"])}


# ------------------------------------------------------------------------------------ the API

def _call(method: str, url: str, key: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _ffmpeg_children_peak(worker_pid: int, stop: threading.Event, peak: list[int]) -> None:
    """Peak VmHWM of ffmpeg processes the render worker starts (sampled; the worker is not our child).

    /proc is scanned only while no such ffmpeg is known; one that is known is read alone (a scan
    costs a few ms of CPU, which the measured render would share)."""
    known: set[str] = set()
    while not stop.wait(0.2):
        found = set()
        for pid in known or (entry.name for entry in os.scandir("/proc") if entry.name.isdigit()):
            try:
                with open(f"/proc/{pid}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
            except OSError:
                continue
            if fields.get("Name", "").strip() == "ffmpeg" and int(fields["PPid"]) == worker_pid:
                found.add(pid)
                peak[0] = max(peak[0], int(fields.get("VmHWM", "0 kB").split()[0]))
        known = found


def api_render(base: str, key: str, spec: dict, worker_pid: int) -> dict:
    stop, peak = threading.Event(), [0]
    sampler = threading.Thread(target=_ffmpeg_children_peak, args=(worker_pid, stop, peak), daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    try:
        job = _call("POST", f"{base}/v1/renders", key, spec)
        while job["status"] not in TERMINAL:
            if job["progress_stage"] == "downloading" and time.perf_counter() - t0 > STALL_SECONDS:
                raise RuntimeError(f"render {job['id']} still fetching its sources after {STALL_SECONDS} s; "
                                   "see .run/bench-render/mesh/logs/renderer_worker.log")
            job = _call("GET", f"{base}/v1/renders/{job['id']}?wait=10", key)
        wall = time.perf_counter() - t0
    finally:
        stop.set()
        sampler.join()
    if job["status"] != "completed":
        raise RuntimeError(f"render {job['id']} {job['status']}: {job.get('error')}")
    return {"seconds": wall, "id": job["id"], "ffmpeg_peak_rss_mib_sampled": peak[0] / 1024,
            "output": {k: job["output"].get(k) for k in ("width", "height", "duration", "size_bytes")}}


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Api:
    """A mesh (PostgreSQL, NATS, every service, the render worker, Envoy) on free ports."""

    def __init__(self, media_allow: str):
        from framelane_core.config import SERVICE_PORTS  # noqa: PLC0415
        from framelane_core.devmesh import Infra, Mesh, free_port  # noqa: PLC0415

        self.run_dir = RUN / "mesh"
        for stale in ("work", "nats"):  # a cold source cache and an empty JetStream store
            shutil.rmtree(self.run_dir / stale, ignore_errors=True)
        (self.run_dir / "nats").mkdir(parents=True)
        # A private nats-server: the JetStream stream and consumer names are fixed, so a NATS shared
        # with another mesh on this machine would hand our queued renders to its workers.
        nats_port = free_port()
        binary = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or "nats-server"
        self.nats_log = open(self.run_dir / "nats.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.nats = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(nats_port), "-js", "-sd",
                                      str(self.run_dir / "nats")], stdout=self.nats_log, stderr=self.nats_log)
        deadline = time.monotonic() + 10
        while not _port_open(nats_port):
            if time.monotonic() > deadline or self.nats.poll() is not None:
                raise RuntimeError(f"nats-server did not start; see {self.run_dir / 'nats.log'}")
            time.sleep(0.05)
        os.environ["NATS_URL"] = f"nats://127.0.0.1:{nats_port}"
        self.dbname = f"fl_bench_{uuid.uuid4().hex[:8]}"
        self.infra = Infra(self.run_dir, self.dbname)
        ports = {svc: (free_port(), free_port()) for svc in SERVICE_PORTS}
        self.infra.start()
        self.mesh = Mesh(self.run_dir, self.infra.database_url, self.infra.nats_url, envoy_port=free_port(),
                         admin_port=free_port(), ports=ports,
                         extra_env={"FRAMELANE_FETCH_ALLOW": media_allow, "FRAMELANE_LOG_LEVEL": "WARNING"})

    def __enter__(self):
        try:
            self.mesh.start(timeout=120)
            self.key = self.mesh.dev_key(self.run_dir / "dev-api-key")
        except BaseException:
            self.__exit__()
            raise
        return self

    def render(self, spec: dict) -> dict:
        return api_render(self.mesh.base_url, self.key, spec, self.mesh.procs["renderer_worker"].pid)

    def __exit__(self, *exc):
        import psycopg  # noqa: PLC0415

        self.mesh.stop()
        self.infra.stop()
        self.nats.terminate()
        self.nats.wait(10)
        admin = psycopg.conninfo.make_conninfo(self.infra.database_url, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')


# ------------------------------------------------------------------------------------- report

def report(results: dict) -> str:
    lines = []
    for name, r in results["specs"].items():
        d = r["duration"]
        ours, alone, floor = r["ours_warm"], r["ffmpeg_alone"], r["encoder_floor"]
        mp = r.get("moviepy")
        lines += [f"\n### {name} ({r['width']}x{r['height']}, {r['fps']} fps, {d:g} s)\n",
                  "| path | seconds | × realtime | ratio | CPU s | peak MiB |", "|---|---:|---:|---|---:|---:|"]

        def row(label, m, ratio, mem):
            rt = d / m["seconds"]
            cpu = f"{m['cpu_seconds']:.1f}" if "cpu_seconds" in m else "–"
            lines.append(f"| {label} | {m['seconds']:.1f} | {rt:.2f} | {ratio} | {cpu} | {mem} |")

        cold = r["ours_cold"]
        if cold["rendered_seconds"] >= d:
            lines.append(f"| ours, API end to end, cold source cache | {cold['seconds']:.1f} | {d / cold['seconds']:.2f} | "
                         f"{cold['seconds'] / ours['seconds']:.2f}× warm | – | "
                         f"{cold['ffmpeg_peak_rss_mib_sampled']:.0f} (ffmpeg, sampled) |")
        else:
            lines.append(f"| ours, API, cold source cache, first {cold['rendered_seconds']:g} s only "
                         f"(fetches {cold['fetched_bytes'] / 2**20:.0f} MiB) | {cold['seconds']:.1f} | – | warm-up | – | – |")
        row("ours, API end to end, warm cache", ours, "1.00",
            f"{ours['ffmpeg_peak_rss_mib_sampled']:.0f} (ffmpeg, sampled)")
        row("FFmpeg alone (our compiled command)", alone,
            f"ours/alone = **{ours['seconds'] / alone['seconds']:.2f}** (target ≤ 1.15)",
            f"{alone['peak_rss_mib']:.0f} (ffmpeg, wait4)")
        row("encoder floor (main clip, no compositing)", floor,
            f"alone/floor = {alone['seconds'] / floor['seconds']:.2f}; ours/floor = {ours['seconds'] / floor['seconds']:.2f}",
            f"{floor['peak_rss_mib']:.0f}")
        if mp and "seconds" in mp:
            scope = "" if mp.get("rendered_seconds", d) >= d else f" (first {mp['rendered_seconds']:g} s only)"
            mp_full = mp["seconds_full_estimate"]
            ratio = f"MoviePy/ours = **{mp_full / ours['seconds']:.2f}**" + (" (target ≥ 3)" if r["height"] == 1080 else "")
            if scope:
                ratio += f", from {mp['seconds']:.1f} s measured × {d / mp['rendered_seconds']:.1f}"
            row(f"MoviePy 2.2.1{scope}", {**mp, "seconds": mp_full,
                                           "cpu_seconds": mp["cpu_seconds"] * d / mp["rendered_seconds"]}, ratio,
                f"{mp['peak_rss_mib']:.0f} (largest process, wait4); {mp['peak_tree_rss_mib']:.0f} (tree, sampled)")
        elif mp:
            lines.append(f"| MoviePy 2.2.1 | – | – | skipped: {mp['skipped']} | – | – |")
        runs = "; ".join(f"{label} " + ", ".join(f"{m['seconds']:.1f}" for m in r[path]["runs"])
                         for label, path in (("ours", "ours_warm"), ("alone", "ffmpeg_alone"),
                                             ("floor", "encoder_floor"), ("MoviePy", "moviepy"))
                         if "runs" in r.get(path, {}))
        lines.append(f"\nthe fastest of {len(ours['runs'])} rounds (memory: the largest); runs in seconds: {runs}")
        if mp and "runs" in mp:
            paired = ", ".join(f"{m['seconds_full_estimate'] / o['seconds']:.2f}" for m, o in zip(mp["runs"], ours["runs"]))
            lines.append(f"MoviePy / ours within each round: {paired}")
        lines.append(f"\nengine before ffmpeg: validate {alone['validate_s'] * 1000:.0f} ms, probe "
                     f"{alone['probe_s'] * 1000:.0f} ms, plan+compile {alone['plan_compile_s'] * 1000:.0f} ms; "
                     f"caption frames {alone['feeds_s'] * 1000:.0f} ms (drawn while ffmpeg runs in ours; "
                     f"into a file before it, here); "
                     f"API overhead (warm e2e − FFmpeg alone) {ours['seconds'] - alone['seconds']:+.1f} s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--specs", nargs="*", default=list(SPECS), choices=SPECS)
    parser.add_argument("--no-moviepy", action="store_true", help="skip the MoviePy renders")
    parser.add_argument("--etag", action="store_true",
                        help="serve sources with ETags too, so the renderer revalidates its cache with If-None-Match "
                             "rather than If-Modified-Since (a 304 either way)")
    parser.add_argument("--full-cold", action="store_true",
                        help=f"render each spec whole with a cold source cache too (default: only its first "
                             f"{COLD_SECONDS:g} s, which fetches every source and warms the cache)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="measure every path this many times, a round at a time; the table shows the fastest "
                             "run of each, and each round's MoviePy / ours")
    parser.add_argument("--moviepy-4k-seconds", type=float, default=5.0,
                        help="MoviePy renders only this many seconds of the 4K spec (time scaled to the full "
                             "length in the table); 0 renders it whole")
    ns = parser.parse_args()
    # Stop cleanly (mesh, nats-server, database) on SIGTERM, and on Ctrl-C even when started with nohup.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.perf_counter()
    media = make_media()
    by_file = {path.name: path for path in media.values()}
    python = None if ns.no_moviepy else moviepy_python()
    out_dir = RUN / "out"
    out_dir.mkdir(parents=True, exist_ok=True)

    MediaHandler.etags = ns.etag
    handler = functools.partial(MediaHandler, directory=str(MEDIA))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    media_base = f"http://127.0.0.1:{httpd.server_address[1]}"
    urls = {name: f"{media_base}/{path.name}" for name, path in media.items()}
    paths = {name: str(path) for name, path in media.items()}

    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "ffmpeg": subprocess.run([FFMPEG, "-version"], capture_output=True, text=True)
                           .stdout.split("\n")[0]},
               "moviepy_ffmpeg": FFMPEG, "specs": {}}
    try:
        with Api(media_base.removeprefix("http://")) as api:
            print(f"mesh up on {api.mesh.base_url}; media on {media_base}", flush=True)
            for name in ns.specs:
                spec = load_spec(name, urls)
                d = float(spec["duration"])
                r = results["specs"][name] = {"width": spec["width"], "height": spec["height"],
                                              "fps": spec["frame_rate"], "duration": d}
                print(f"\n{name}", flush=True)
                before = dict(MediaHandler.served)
                cold_spec = spec if ns.full_cold else {**spec, "duration": COLD_SECONDS}
                r["ours_cold"] = {**api.render(cold_spec), "rendered_seconds": float(cold_spec["duration"])}
                r["ours_cold"]["fetched_bytes"] = MediaHandler.served["bytes"] - before["bytes"]
                print(f"  ours cold     {r['ours_cold']['seconds']:7.1f} s (first {cold_spec['duration']:g} s)",
                      flush=True)

                argv, timings = engine_command(spec, by_file, out_dir / f"{name}.ours.mp4", RUN / "work" / name)
                r["argv"] = argv
                r["filter_complex"] = Path(argv[argv.index("-filter_complex_script") + 1]).read_text()
                floor = floor_command(spec, media[MAIN_CLIP[name]], argv, out_dir / f"{name}.floor.mp4")
                mp_argv, mp_seconds = None, d
                if python is not None:
                    spec_file = out_dir / f"{name}.moviepy.json"
                    spec_file.write_text(json.dumps(load_spec(name, paths)))
                    mp_argv = [str(python), str(MOVIEPY_SCRIPT), str(spec_file), str(out_dir / f"{name}.moviepy.mp4"),
                               "--preset", argv[argv.index("-preset") + 1], "--crf", argv[argv.index("-crf") + 1],
                               "--threads", "2"]
                    if spec["height"] >= 2160 and ns.moviepy_4k_seconds > 0:
                        mp_seconds = min(d, ns.moviepy_4k_seconds)
                        mp_argv += ["--seconds", str(mp_seconds)]
                runs = {path: [] for path in ROUND_PATHS}
                for n in range(1, ns.rounds + 1):
                    # Every path once per round, in the same order: a slow spell of the shared machine
                    # lands on one round of each rather than on every run of one path.
                    alone = {**run_measured(argv, out_dir / f"{name}.ours.log"), **timings}
                    alone["output"] = probe_output(out_dir / f"{name}.ours.mp4")
                    runs["ffmpeg_alone"].append(alone)
                    runs["encoder_floor"].append({**run_measured(floor, out_dir / f"{name}.floor.log"), "argv": floor})
                    before = dict(MediaHandler.served)
                    warm = api.render(spec)
                    warm["fetched_bytes"] = MediaHandler.served["bytes"] - before["bytes"]
                    warm["revalidated_304"] = MediaHandler.served["304"] - before["304"]
                    runs["ours_warm"].append(warm)
                    line = (f"  round {n}: ffmpeg alone {alone['seconds']:.1f} s, encoder floor "
                            f"{runs['encoder_floor'][-1]['seconds']:.1f} s, ours warm {runs['ours_warm'][-1]['seconds']:.1f} s")
                    if mp_argv is not None:
                        env = {**os.environ, "IMAGEIO_FFMPEG_EXE": FFMPEG}
                        mp = run_measured(mp_argv, out_dir / f"{name}.moviepy.log", env=env, sample_tree=True)
                        mp["rendered_seconds"] = mp_seconds
                        mp["seconds_full_estimate"] = mp["seconds"] * d / mp_seconds
                        mp["output"] = probe_output(out_dir / f"{name}.moviepy.mp4")
                        runs["moviepy"].append(mp)
                        line += f", MoviePy {mp['seconds']:.1f} s" + (f" for {mp_seconds:g} s of {d:g}" if mp_seconds < d else "")
                    print(line, flush=True)
                for path, measured in runs.items():
                    if measured:  # the fastest run's times, the largest peak memory of any run
                        peaks = {k: max(m[k] for m in measured) for k in measured[0] if k.startswith("peak_")}
                        r[path] = {**min(measured, key=lambda m: m["seconds"]), **peaks, "runs": measured}
                if mp_argv is None:
                    r["moviepy"] = {"skipped": "--no-moviepy"}
    finally:
        httpd.shutdown()

    results["total_seconds"] = time.perf_counter() - started
    print(f"\nRender bench on {os.cpu_count()} cores ({results['machine']['ffmpeg']}); "
          f"MoviePy writes through {FFMPEG}. Same run, same machine: compare the ratios.")
    print(report(results))
    print(f"\ntotal bench time {results['total_seconds']:.0f} s")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "render.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
