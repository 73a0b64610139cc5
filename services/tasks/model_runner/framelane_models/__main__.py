"""`python -m framelane_models <command>`: remove-background and gaze-redirect filter raw frames
from --input to --output (see the package docstring); check loads every model once (the install
script and the image build run it, so a broken environment fails there, not on the first task)."""

import argparse
import os
import sys

# mediapipe's C++ logging (glog/absl) writes on stderr: errors only, so the runner's log stays short.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="framelane_models")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="load every model once")
    for name in ("remove-background", "gaze-redirect"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--width", type=int, required=True)
        cmd.add_argument("--height", type=int, required=True)
        cmd.add_argument("--input", default="-", help="raw rgb24 frames (a named pipe; - for stdin)")
        cmd.add_argument("--output", default="-", help="where processed frames go (- for stdout)")
        cmd.add_argument("--video", action="store_true", help="a sequence of frames (temporal smoothing on)")
        if name == "remove-background":
            cmd.add_argument("--model", choices=["auto", "person", "general"], default="auto")
        else:
            cmd.add_argument("--intensity", type=float, default=1.0)
    args = parser.parse_args(argv)

    from framelane_models import frames, gaze, segmentation  # noqa: PLC0415 - after the log settings

    if args.command == "check":
        import numpy as np  # noqa: PLC0415

        still = np.zeros((64, 64, 3), np.uint8)
        segmentation.PersonModel()(still)
        segmentation.GeneralModel()(still)
        gaze.GazeRedirector(1.0, video=False)(still)
        print("model runner ok: mediapipe selfie segmentation, face mesh with iris, u2netp")
        return 0
    with _open(args.input, "rb", sys.stdin) as stream, _open(args.output, "wb", sys.stdout) as out:
        source = frames.read_frames(stream, args.width, args.height)
        reporter = frames.Reporter(out)
        if args.command == "remove-background":
            segmentation.remove_background(source, reporter, args.width, args.height, args.model, args.video)
        else:
            gaze.redirect_gaze(source, reporter, min(1.0, max(0.0, args.intensity)), args.video)
    return 0


def _open(path: str, mode: str, standard):
    return open(standard.fileno(), mode, closefd=False) if path == "-" else open(path, mode)


if __name__ == "__main__":
    sys.exit(main())
