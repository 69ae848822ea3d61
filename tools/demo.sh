#!/usr/bin/env bash
# The main job on the built-in sample data, from a fresh machine: install, then run it; results in runs/demo/.
# Steps: environment report, sample set, loader benchmark, 20 steps of stage 1, evaluation of the trained
# checkpoint on the sample evaluation set (per-clip / per-frame CSVs), a converted video, the documentation site.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
run=runs/demo
mkdir -p "$run"
.venv/bin/python - "$run" <<'PY'
import sys
from rvm_nb.config import environment_report, save_json
print('environment ->', save_json(environment_report(), f'{sys.argv[1]}/environment.json'))
PY
.venv/bin/python -m rvm_nb.samples                # the built-in sample set (first time: ~30 s)
.venv/bin/python -m rvm_nb.bench data --iters 3 --out "$run"   # how fast its training loaders run here
# stage 1 of the seed on the sample set, shrunk to run in about two minutes on 2 CPU cores
.venv/bin/python -m rvm_nb.train --stage 1 --sample-data --max-steps 20 --resolution-lr 128 --seq-length-lr 4 \
    --num-workers 1 --log-train-loss-interval 5 --checkpoint-dir "$run/checkpoints" --log-dir "$run/train"
# score the trained checkpoint with RVM's metrics on the sample evaluation set (composed on first use)
.venv/bin/python -m rvm_nb.evaluate --checkpoint "$run/checkpoints/epoch-0.pth" --variant unireplknet --true-dir sample \
    --pred-dir "$run/eval" --downsample-ratio 1
# and matte a real video with it (the "carphone" test sequence from the sample set: a man talking in a car)
.venv/bin/python -m rvm_nb.inference --checkpoint "$run/checkpoints/epoch-0.pth" --variant unireplknet \
    --input-source data/sample/videos/carphone_pristine.mp4 --output-composition "$run/carphone_composition.mp4" --output-alpha "$run/carphone_alpha.mp4" --device cpu
.venv/bin/rvm-docs --dest "$run/docs" --no-readme
echo "demo finished: see $run/"
