#!/usr/bin/env bash
# The main job on the built-in sample data, from a fresh machine: install, then run it; results in runs/demo/.
# Steps: environment report; the sample sets; RVM's published MobileNetV3 imported from its ONNX export; a real
# people video matted with it; the seed network (UniRepLKNet) trained with the stage-1 preset on the human sample set;
# both scored on the human evaluation set (whose ground truth is the published model's output: agreement with RVM,
# not absolute accuracy); a side-by-side table and picture; the documentation site. About 10 minutes after the install.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
run=runs/demo
rm -rf "$run"; mkdir -p "$run"   # one demo, one folder: nothing of an older demo is mixed in
py=.venv/bin/python
$py - "$run" <<'PY'
import sys
from rvm_nb.config import environment_report, save_json
print('environment ->', save_json(environment_report(), f'{sys.argv[1]}/environment.json'))
PY
$py -m rvm_nb.samples                  # the built-in sample set (first time: ~40 s)
$py -m rvm_nb.published                # RVM's published weights -> data/weights/rvm_mobilenetv3.pth (first time: ~20 s)
$py -m rvm_nb.human_samples            # people footage matted by it: training clips + evaluation set (first time: ~2 min)
# a real people video (the "carphone" test sequence: a man talking in a car), matted by RVM's published model
$py -m rvm_nb.inference --checkpoint rvm_mobilenetv3 --input-source data/sample/videos/carphone_pristine.mp4 \
    --output-composition "$run/carphone_composition.mp4" --output-alpha "$run/carphone_alpha.mp4" --device cpu --disable-progress
# the seed network, stage-1 preset, on the human sample set, shrunk to ~4 minutes on 2 CPU cores (~2.6 s a step)
$py -m rvm_nb.train --stage 1 --sample-data --sample-set humans --max-steps 80 --resolution-lr 128 --seq-length-lr 4 \
    --num-workers 1 --log-train-loss-interval 20 --checkpoint-dir "$run/checkpoints" --log-dir "$run/train" --disable-progress-bar
# both networks on the human evaluation set, with RVM's metrics (per-clip / per-frame CSVs in each folder)
$py -m rvm_nb.evaluate --checkpoint rvm_mobilenetv3 --true-dir humans --pred-dir "$run/eval_published" --downsample-ratio 1 --disable-progress
$py -m rvm_nb.evaluate --checkpoint "$run/checkpoints/epoch-0.pth" --true-dir humans --pred-dir "$run/eval_seed" --downsample-ratio 1 --disable-progress
$py - "$run" <<'PY'
import sys
from pathlib import Path
from rvm_nb.human_samples import human_eval_set
from rvm_nb.viz import compare_evaluations
run = Path(sys.argv[1])
note = ("Human evaluation set; its ground truth is RVM's published model's output, so these numbers measure agreement "
        "with RVM, not absolute accuracy (metrics x1e3 as RVM reports them).")
compare_evaluations(human_eval_set(), {'published rvm_mobilenetv3': run / 'eval_published',
                                       'seed unireplknet, 80 steps': run / 'eval_seed'}, run, note=note)
print((run / 'comparison.md').read_text()); print(f'picture: {run / "comparison.png"}')
PY
.venv/bin/rvm-docs --dest "$run/docs" --no-readme
echo "demo finished: see $run/"
