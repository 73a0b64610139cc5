#!/usr/bin/env bash
# Generates the media of the README's walk-through into .run/media (FFmpeg test sources, no download)
# and serves them on http://127.0.0.1:8000 until Ctrl-C. Start the mesh with
# FRAMELANE_FETCH_ALLOW=127.0.0.1:8000 so it may fetch from this loopback server.
set -euo pipefail
dir=.run/media
mkdir -p "$dir"
gen() { [ -f "$dir/$1" ] || ffmpeg -v error -y "${@:2}" "$dir/$1"; }
gen a.mp4 -f lavfi -i testsrc2=s=1280x720:r=30:d=6 -f lavfi -i sine=f=440:d=6 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest
gen b.mp4 -f lavfi -i mandelbrot=s=1280x720:r=30 -f lavfi -i sine=f=660:d=6 -t 6 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest
gen logo.png -f lavfi -i color=0x2060ff:s=320x180:d=1 -frames:v 1
gen music.wav -f lavfi -i "sine=f=220:d=10,volume=0.5"
# 20 s of a plucked note on every beat at 120 BPM: what the music-video workflow cuts on.
gen beat.wav -f lavfi -i "aevalsrc=0.6*sin(2*PI*220*t)*exp(-12*mod(t\,0.5)):s=44100:d=20"
# Speech for the transcribe example (espeak-ng comes with scripts/install-system-deps.sh).
[ -f "$dir/speech.wav" ] || espeak-ng -s 140 -w "$dir/speech.wav" \
  "Framelane turns one JSON request into a finished video. It also transcribes speech like this."
echo "serving $dir on http://127.0.0.1:8000 (Ctrl-C stops)"
exec .venv/bin/python -m http.server 8000 --bind 127.0.0.1 --directory "$dir"
