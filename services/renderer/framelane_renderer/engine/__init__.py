"""Framelane's render engine: validate a render spec, plan it against probed sources, compile it
to one FFmpeg filter graph and run it. Pure Python plus the ffmpeg/ffprobe binaries; no network,
no database."""

from .catalog import capabilities
from .compile import Command, compile_ffmpeg, poster_time
from .plan import Plan, PlanError, build_plan
from .preview import preview_command, render_preview
from .probe import ProbeError, SourceInfo, probe
from .render import render
from .run import Feed, FfmpegError, RenderCancelled, run_ffmpeg
from .validate import ValidationResult, Violation, validate

__all__ = [
    "Command", "Feed", "FfmpegError", "Plan", "PlanError", "ProbeError", "RenderCancelled", "SourceInfo",
    "ValidationResult", "Violation", "build_plan", "capabilities", "compile_ffmpeg",
    "poster_time", "preview_command", "probe", "render", "render_preview", "run_ffmpeg", "validate",
]
