"""The model runner: the task worker's child process that runs the mediapipe and u2netp models in
their own environment (.venv-models; mediapipe 0.10.21 needs numpy<2 and protobuf<5, the services
run protobuf 7). Nothing here talks to the network, the database or NATS.

Protocol (`python -m framelane_models <command> --width W --height H --input IN --output OUT ...`,
IN and OUT usually named pipes, `-` for stdin/stdout): raw rgb24 frames of W×H arrive back to back
from FFmpeg's decoder; each processed frame is written (rgba for remove-background, rgb24 for
gaze-redirect) before the next one is read, into FFmpeg's encoder, so memory stays at a few frames
whatever the length. At the end one `@facts {json}` line on stderr tells the worker what was done
(the model used, frames changed); everything else on stderr is log."""
