#!/usr/bin/env bash
# Install (idempotent), then run every test: notebooks (as nbdev_test does), export/clean in sync, docs,
# integration tests. Extra arguments go to pytest, e.g. `bash tools/test.sh --flags slow -k model`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
bash tools/install_browser.sh   # chromium (apt) and playwright-core (npm) for tests/test_browser.py
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
# the data every suite uses, built once up front (first time ~3 min): the sample set, RVM's published weights, the human set
.venv/bin/python -m rvm_nb.published > /dev/null
.venv/bin/python -m rvm_nb.human_samples 2> /dev/null
exec .venv/bin/python -m pytest tests -q -p no:cacheprovider --durations=8 "$@"
