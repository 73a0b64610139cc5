"""Test media and measurements for remove-background and gaze-redirect.

Two halves. Run as a script by the model environment's interpreter (it has mediapipe and, after
`make dev-deps`, scikit-image, whose wheel ships the photos used here; nothing is downloaded):

  make OUT_DIR     writes
    person.png     the astronaut cut out from the chest up, above the helmet she holds (RGBA). Its
                   alpha is the majority vote of three segmentations of the photo (mediapipe general
                   and landscape, u2netp), its largest blob: composites of it over other backgrounds
                   (bottom edge on the frame's, like anyone filmed from the chest up) have that alpha
                   as their truth.
    object.png     scikit-image's horse silhouette filled with the chelsea photo (RGBA): a hand-drawn
                   mask, independent of every model, for the general model.
    face.png       the astronaut's face, 320x240 (she looks at the camera).
    face-side.png  the same with both irises slid sideways by SIDE_GAZE eye widths.
    face-closed.png  face-side.png with both eyes painted shut (skin over the opening, a lash line):
                   face mesh measures them closed, so nothing may move.
  gaze IMAGE...    prints the mean iris offset from the eye centre, in eye widths, of each image
                   (a JSON list; null where no face is found).

Imported by the tests (services' venv): composites over generated backgrounds, frames through
FFmpeg and the runner, IoU and flicker."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

SIDE_GAZE = 0.16
# The astronaut's face in the 512² photo, scaled 2× into 320x240; her chest up, above the helmet.
FACE_BOX = (145, 40, 305, 160)
BUST_BOX = (0, 0, 420, 330)


# --- the model environment's half -------------------------------------------------------------

def _eyes(rgb: np.ndarray) -> list:
    import mediapipe as mp
    from framelane_models import gaze

    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True) as mesh:
        faces = gaze.landmarks(mesh.process(rgb), rgb.shape[1], rgb.shape[0])
    return [gaze.Eye(faces[0], spec) for spec in gaze.EYES] if faces else []


def _make(out: Path) -> None:
    import cv2
    import mediapipe as mp
    from framelane_models import gaze, segmentation
    from skimage import data

    def write(name: str, pixels: np.ndarray) -> None:
        code = cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
        cv2.imwrite(str(out / name), cv2.cvtColor(pixels, code))

    out.mkdir(parents=True, exist_ok=True)
    astronaut = data.astronaut()
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1) as landscape:
        votes = ((segmentation.PersonModel()(astronaut) > 0.5).astype(np.uint8)
                 + (segmentation.GeneralModel()(astronaut) > 0.5)
                 + (landscape.process(astronaut).segmentation_mask > 0.5))
    x0, y0, x1, y1 = BUST_BOX
    _, labels, stats, _ = cv2.connectedComponentsWithStats((votes[y0:y1, x0:x1] >= 2).astype(np.uint8))
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    write("person.png", np.dstack([astronaut[y0:y1, x0:x1], np.where(labels == largest, 255, 0).astype(np.uint8)]))
    horse = ~data.horse()
    cat = cv2.resize(data.chelsea(), (horse.shape[1], horse.shape[0]), interpolation=cv2.INTER_AREA)
    write("object.png", np.dstack([cat, np.where(horse, 255, 0).astype(np.uint8)]))
    x0, y0, x1, y1 = FACE_BOX
    face = cv2.resize(astronaut[y0:y1, x0:x1], (320, 240), interpolation=cv2.INTER_CUBIC)
    write("face.png", face)
    side = face.copy()
    for eye in _eyes(face):
        gaze.move_iris(side, eye, eye.u * SIDE_GAZE * eye.width)
    write("face-side.png", side)
    closed = side.copy()
    for eye in _eyes(side):
        opening = np.zeros(side.shape[:2], np.uint8)
        cv2.fillPoly(opening, [np.round(eye.contour).astype(np.int32)], 255)
        skin = side[int(eye.centre[1] + eye.width * 0.6), int(eye.centre[0])].tolist()
        closed[cv2.dilate(opening, np.ones((5, 5), np.uint8)) > 0] = skin
        cv2.polylines(closed, [np.round(eye.contour[:9]).astype(np.int32)], False, (60, 40, 30), 2, cv2.LINE_AA)
    write("face-closed.png", closed)


def _measure(paths: list[str]) -> list[float | None]:
    import cv2

    offsets = []
    for path in paths:
        found = _eyes(cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB))
        offsets.append(float(np.mean([np.hypot(*eye.gaze()) for eye in found])) if found else None)
    return offsets


# --- the tests' half ----------------------------------------------------------------------------

def models_python() -> str:
    from framelane_tasks.processors.frame_pipeline import models_python as configured

    return configured()


def make_media(folder: Path) -> Path:
    """Writes the media above into `folder` (once: it takes a few seconds)."""
    if not (folder / "face-closed.png").exists():
        subprocess.run([models_python(), __file__, "make", str(folder)], check=True, capture_output=True)
    return folder


def gaze_offsets(*paths: Path) -> list[float | None]:
    out = subprocess.run([models_python(), __file__, "gaze", *map(str, paths)], check=True, capture_output=True)
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def read_rgba(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"))


def resized(rgba: np.ndarray, height: int) -> np.ndarray:
    from PIL import Image

    width = round(rgba.shape[1] * height / rgba.shape[0])
    return np.asarray(Image.fromarray(rgba).resize((width, height), Image.LANCZOS))


def backgrounds(height: int, width: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Generated backgrounds: a colour gradient, grain, a flat colour and soft colour blobs."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    blobs = np.zeros((height, width, 3))
    for _ in range(6):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(0.15, 0.4) * max(height, width)
        blobs += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None] * rng.uniform(40, 120, 3)
    return {
        "gradient": np.dstack([xx * 255 / width, yy * 255 / height, np.full((height, width), 128)]).astype(np.uint8),
        "grain": np.clip(rng.normal(128, 25, (height, width, 3)), 0, 255).astype(np.uint8),
        "flat": np.full((height, width, 3), (40, 90, 160), np.uint8),
        "blobs": np.clip(blobs + 30, 0, 255).astype(np.uint8),
    }


def composite(foreground: np.ndarray, background: np.ndarray, top: int, left: int) -> tuple[np.ndarray, np.ndarray]:
    """(RGB composite, its true mask): `foreground` (RGBA) pasted over `background` at (top, left)."""
    out = background.astype(np.float32)
    h, w = foreground.shape[:2]
    alpha = foreground[..., 3:].astype(np.float32) / 255
    region = out[top:top + h, left:left + w]
    out[top:top + h, left:left + w] = foreground[..., :3] * alpha + region * (1 - alpha)
    truth = np.zeros(background.shape[:2], bool)
    truth[top:top + h, left:left + w] = foreground[..., 3] >= 128
    return (out + 0.5).astype(np.uint8), truth


def iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    cut = alpha >= 128
    return float((cut & truth).sum() / (cut | truth).sum())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float(10 * np.log10(255**2 / mse)) if mse else float("inf")


def flicker(alphas: np.ndarray) -> float:
    """Mean absolute change of alpha (0–1) from one frame to the next."""
    return float(np.abs(np.diff(alphas.astype(np.float32), axis=0)).mean() / 255)


def run_runner(command: list[str], frames: np.ndarray, channels_out: int) -> tuple[np.ndarray, dict]:
    """Frames (N×H×W×3) through `python -m framelane_models <command>` on stdin/stdout."""
    n, height, width = frames.shape[:3]
    done = subprocess.run([models_python(), "-m", "framelane_models", *command, "--width", str(width),
                           "--height", str(height)], input=np.ascontiguousarray(frames).tobytes(),
                          capture_output=True, check=True)
    facts = [line for line in done.stderr.decode().splitlines() if line.startswith("@facts ")]
    out = np.frombuffer(done.stdout, np.uint8).reshape(-1, height, width, channels_out)
    return out, json.loads(facts[-1][len("@facts "):])


def ffmpeg(*args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["ffmpeg", "-v", "error", "-y", *args], input=stdin, capture_output=True, check=True).stdout


def encode_video(frames: np.ndarray, path: Path, fps: int = 20, audio: bool = True) -> Path:
    """rgb24 frames → H.264 MP4, with a 440 Hz AAC tone as long as the video when `audio`."""
    n, height, width = frames.shape[:3]
    tone = ["-f", "lavfi", "-i", f"sine=f=440:d={n / fps}", "-c:a", "aac"] if audio else []
    ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-", *tone,
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "12", str(path),
           stdin=np.ascontiguousarray(frames).tobytes())
    return path


def decode(path: Path, width: int, height: int, pix_fmt: str = "rgb24", decoder: list[str] = ()) -> np.ndarray:
    """Every frame of `path`; decoder=["-c:v", "libvpx-vp9"] reads a WebM's alpha (FFmpeg's own VP9
    decoder drops it)."""
    channels = {"rgb24": 3, "rgba": 4, "gray": 1}[pix_fmt]
    raw = ffmpeg(*decoder, "-i", str(path), "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", pix_fmt, "-")
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, channels)


def streams(path: Path) -> list[dict]:
    """ffprobe's streams of `path`."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)], capture_output=True,
                         check=True).stdout
    return json.loads(out)["streams"]


def audio_md5(path: Path) -> str:
    """MD5 of the first audio stream's packets, as stored (no decoding)."""
    return ffmpeg("-i", str(path), "-map", "0:a:0", "-c", "copy", "-f", "md5", "-").decode().strip()


if __name__ == "__main__":
    if sys.argv[1] == "make":
        _make(Path(sys.argv[2]))
    else:
        print(json.dumps(_measure(sys.argv[2:])))
