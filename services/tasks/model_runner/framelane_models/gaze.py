"""gaze-redirect: mediapipe face mesh with iris refinement (478 landmarks) finds each eye's opening
and iris; the gaze is the iris centre's offset from the centre of the opening, in eye widths along
and across the line of the eye corners. Each open eye's iris slides toward the centre by
`intensity` × that offset, through a smooth backward warp that moves the iris rigidly and
compresses or stretches the white of the eye around it; only pixels inside the (feathered) eye
opening change, so lids, lashes and skin stay as they were.

Natural motion: on video the offsets are smoothed over time; closing eyes (blinks) fade the
correction out, as do strongly turned heads (where a centred iris would no longer look at the
camera); frames without a face are written back untouched, and so is everything at intensity 0."""

import cv2
import numpy as np

MODEL_NAME = "mediapipe-face-mesh-iris"
MAX_FACES = 4
# (contour of the opening, corners, upper and lower lid midpoints, iris centre, iris ring)
EYES = (
    ([33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246], (33, 133), (159, 145), 468,
     (469, 470, 471, 472)),
    ([362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398], (362, 263), (386, 374), 473,
     (474, 475, 476, 477)),
)
NOSE_TIP = 1
# Openness (lid gap / eye width): at or below CLOSED the eye is left alone, from OPEN on it is fully
# corrected; in between the correction fades, so a blink never shows a sliding iris.
CLOSED, OPEN = 0.12, 0.20
# Head yaw (nose tip off the eyes' midpoint, in inter-ocular distances) above which nothing moves.
YAW_FULL, YAW_NONE = 0.25, 0.45
# The iris never moves by more than this many of its radii (a larger offset is not a gaze at a screen).
MAX_SHIFT_RADII = 1.5
SMOOTHING = 0.5
MIN_SHIFT_PX = 0.05


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def _ramp(value: float, low: float, high: float) -> float:
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))


class Eye:
    """One eye's geometry in pixels, measured from the face's landmarks."""

    def __init__(self, points: np.ndarray, spec):
        contour, corners, lids, iris, ring = spec
        self.contour = points[contour]
        self.centre = self.contour.mean(axis=0)
        a, b = points[corners[0]], points[corners[1]]
        self.width = float(np.linalg.norm(b - a)) or 1.0
        self.u = (b - a) / self.width
        self.v = np.array([-self.u[1], self.u[0]])
        self.iris = points[iris]
        self.radius = float(np.linalg.norm(points[list(ring)] - self.iris, axis=1).mean())
        self.openness = float(np.linalg.norm(points[lids[0]] - points[lids[1]])) / self.width

    def gaze(self) -> np.ndarray:
        """The iris offset from the opening's centre, in eye widths (along, across the eye)."""
        offset = self.iris - self.centre
        return np.array([offset @ self.u, offset @ self.v]) / self.width

    def to_pixels(self, gaze: np.ndarray) -> np.ndarray:
        return (gaze[0] * self.u + gaze[1] * self.v) * self.width


def landmarks(result, width: int, height: int) -> list[np.ndarray]:
    """Pixel coordinates (478×2) of every face mesh found, left to right."""
    faces = [np.array([(p.x * width, p.y * height) for p in face.landmark])
             for face in result.multi_face_landmarks or []]
    return sorted(faces, key=lambda f: f[:, 0].mean())


def head_yaw(points: np.ndarray) -> float:
    left, right = points[EYES[0][3]], points[EYES[1][3]]
    span = float(np.linalg.norm(right - left)) or 1.0
    return float((points[NOSE_TIP] - (left + right) / 2) @ ((right - left) / span)) / span


def move_iris(image: np.ndarray, eye: Eye, shift: np.ndarray) -> None:
    """Slides the iris by `shift` px in place: a backward warp inside a crop around the eye, blended
    in through the feathered opening mask."""
    reach = abs(shift).max() + eye.radius * 2.5
    lo = np.floor(np.minimum(eye.contour.min(axis=0), eye.iris - reach)).astype(int) - 2
    hi = np.ceil(np.maximum(eye.contour.max(axis=0), eye.iris + reach)).astype(int) + 3
    x0, y0 = np.maximum(lo, 0)
    x1, y1 = min(hi[0], image.shape[1]), min(hi[1], image.shape[0])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    crop = image[y0:y1, x0:x1]
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    target = eye.iris + shift
    distance = np.hypot(xs - target[0], ys - target[1])
    inner = eye.radius * 1.1
    # Falloff at least twice the shift wide: the map stays one-to-one (no folds).
    falloff = max(2.0 * float(np.hypot(*shift)), 0.8 * eye.radius, 1.0)
    t = np.clip(1.0 - (distance - inner) / falloff, 0.0, 1.0)
    weight = t * t * (3 - 2 * t)
    warped = cv2.remap(crop, xs - x0 - shift[0] * weight, ys - y0 - shift[1] * weight, cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    # The opening, drawn at 1/16 px precision, grown by a pixel and feathered over about one.
    mask = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round((eye.contour - (x0, y0)) * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    mask = cv2.GaussianBlur(cv2.dilate(mask, np.ones((3, 3), np.uint8)), (0, 0), 0.8)
    mask = mask.astype(np.float32)[..., None] / 255
    blended = crop.astype(np.float32) * (1 - mask) + warped.astype(np.float32) * mask
    image[y0:y1, x0:x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


class GazeRedirector:
    """Per frame: find faces, estimate each eye's gaze, slide each open iris toward the centre."""

    def __init__(self, intensity: float, video: bool):
        import mediapipe as mp  # noqa: PLC0415

        self.mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=not video, max_num_faces=MAX_FACES,
                                                    refine_landmarks=True, min_detection_confidence=0.5,
                                                    min_tracking_confidence=0.5)
        self.intensity = intensity
        self.video = video
        self.smoothed: dict[tuple[int, int], np.ndarray] = {}
        self.faces = 0
        self.changed = 0
        self.gaze_before: list[float] = []
        self.gaze_after: list[float] = []

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        faces = landmarks(self.mesh.process(rgb), width, height)
        if not faces:
            self.smoothed.clear()
            return rgb
        self.faces += 1
        out = None
        for f, points in enumerate(faces):
            facing = 1.0 - _ramp(abs(head_yaw(points)), YAW_FULL, YAW_NONE)
            for e, spec in enumerate(EYES):
                eye = Eye(points, spec)
                open_ = _ramp(eye.openness, CLOSED, OPEN)
                if open_ == 0.0:
                    continue
                gaze = self._smooth((f, e), eye.gaze())
                strength = self.intensity * open_ * facing
                shift = -eye.to_pixels(gaze) * strength
                limit = MAX_SHIFT_RADII * eye.radius
                if np.hypot(*shift) > limit:
                    shift *= limit / np.hypot(*shift)
                self.gaze_before.append(float(np.hypot(*gaze)))
                self.gaze_after.append(float(np.hypot(*(eye.to_pixels(gaze) + shift))) / eye.width)
                if np.hypot(*shift) < MIN_SHIFT_PX:
                    continue
                if out is None:
                    out = rgb.copy()
                move_iris(out, eye, shift)
        if out is None:
            return rgb
        self.changed += 1
        return out

    def _smooth(self, key: tuple[int, int], gaze: np.ndarray) -> np.ndarray:
        previous = self.smoothed.get(key)
        if self.video and previous is not None:
            gaze = previous + SMOOTHING * (gaze - previous)
        self.smoothed[key] = gaze
        return gaze

    def facts(self, frames: int) -> dict:
        """What was done; the gaze offsets (mean iris offset from the eye's centre, in eye widths, over
        every open eye) are the estimates the correction worked from, before and after it."""
        return {"model": MODEL_NAME, "frames": frames, "frames_with_face": self.faces, "frames_changed": self.changed,
                "gaze_offset_before": _mean(self.gaze_before), "gaze_offset_after": _mean(self.gaze_after)}


def redirect_gaze(frames, reporter, intensity: float, video: bool) -> None:
    """rgb24 frames in, rgb24 frames out: irises moved toward the camera by `intensity`."""
    if intensity <= 0:  # exactly the input: the model is not even loaded
        for rgb in frames:
            reporter.frame(rgb)
        reporter.facts({"model": MODEL_NAME, "frames": reporter.frames, "frames_changed": 0})
        return
    redirector = GazeRedirector(intensity, video)
    for rgb in frames:
        reporter.frame(redirector(rgb))
    reporter.facts(redirector.facts(reporter.frames))
