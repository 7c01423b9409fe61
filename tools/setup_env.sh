#!/usr/bin/env bash
# Create .venv with the pinned OpenMMLab stack. Idempotent: a second run only verifies.
# mmcv 2.1.0 ships only as an sdist; it is built once with its compiled ops (~14 min on 2 cores)
# and pip's wheel cache makes later venvs install it in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
STAMP="$VENV/.mmiml-setup-ok"
REQ_HASH=$(cat tools/setup_env.sh pyproject.toml | sha256sum | cut -c1-16)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$REQ_HASH" ] \
   && "$VENV/bin/python" -c "import mmcv._ext, mmseg.models, mmdet.models, mmiml" 2>/dev/null; then
  echo "[setup] $VENV is up to date"
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# the libraries whose output enters SynthIML's bytes are pinned exactly (JPEG/PNG coding,
# resampling, inpainting): the committed content hash holds for these versions
BYTE_PINS='numpy==2.4.6 pillow==13.0.0 opencv-python==5.0.0.93 scikit-image==0.26.0 scipy==1.17.1'
$PIP install -q 'setuptools<81' wheel ninja numpy==2.4.6
# torch==2.13.0 resolves to the CPU build that this kind of machine keeps on disk
$PIP install -q torch==2.13.0
$PIP install -q mmengine==0.10.7
if ! "$VENV/bin/python" -c "import mmcv._ext" 2>/dev/null; then
  # torch pulls a recent setuptools; mmcv's setup.py still needs pkg_resources (setuptools<81)
  $PIP install -q 'setuptools<81'
  echo "[setup] building mmcv 2.1.0 with ops (first time only: ~14 min on 2 cores)"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} $PIP install --no-build-isolation mmcv==2.1.0
fi
$PIP install -q mmsegmentation==1.2.2 mmdet==3.3.0 ftfy regex \
  jpeglib lmdb jsonschema pandas tabulate matplotlib scikit-learn $BYTE_PINS pytest ruff
$PIP install -q --no-build-isolation --no-deps -e .
"$VENV/bin/python" -c "import mmcv._ext, mmseg.models, mmdet.models, mmiml; print('[setup] ok')"
echo "$REQ_HASH" > "$STAMP"
