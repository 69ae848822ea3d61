#!/usr/bin/env bash
# Install (idempotent), then run every test: notebooks (as nbdev_test does), export/clean in sync, docs,
# integration tests. Extra arguments go to pytest, e.g. `bash tools/test.sh --flags slow -k model`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec < /dev/null  # nothing here reads a terminal, and pytest + IPython fail to start when standard input is closed
# where a failure below happened is easier to read with the machine it happened on
echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/{print $7}') GiB memory available, $(df -h . | awk 'NR==2{print $4}') disk free, $(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || echo 'no AVX-512')"
bash tools/install.sh
bash tools/install_browser.sh   # chromium (apt) and playwright-core (npm) for tests/test_browser.py
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
# the data every suite uses, built once up front (first time ~5 min): the sample set, RVM's published weights,
# the human set; their progress bars are left out, their errors are not
echo "== the shared data: sample set, RVM's published weights, human sample set =="
.venv/bin/python -m rvm_nb.published
.venv/bin/python -m rvm_nb.human_samples --quiet
# one worker per core (at most 4), each with one thread: two workers of two threads on two cores would oversubscribe
# OpenMP; tests sharing a slow module fixture stay together, the slowest start first (tests/conftest.py)
workers=$(( $(nproc) < 4 ? $(nproc) : 4 ))
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
exec .venv/bin/python -m pytest tests -q -p no:cacheprovider -n "$workers" --dist loadgroup --no-loadscope-reorder --durations=15 "$@"
