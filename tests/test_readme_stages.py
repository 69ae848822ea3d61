"""README's small-budget chain of the seed's four stages, run exactly as README writes it: through the CLI and through
papermill. Each stage must find the previous stage's last epoch, say which file it loaded, and continue RVM's step count."""
import json
import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EPOCH_START = {1: 0, 2: 15, 3: 17, 4: 19}  # the seed's stage presets


def _blocks():
    section = (ROOT / 'README.md').read_text().split('## Runs: one folder each')[1].split('\n## ')[0]
    return re.findall(r'```sh\n(.*?)```', section, re.S)


def _run(script, tmp_path):
    env = {**os.environ, 'RVM_NB_RUNS': str(tmp_path / 'runs'), 'MPLBACKEND': 'Agg'}
    return subprocess.run(['bash', '-euo', 'pipefail', '-c', script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)


def _steps(path):
    return [json.loads(l)['step'] for l in Path(path).read_text().splitlines() if 'train_lr_total' in l]


def test_the_readme_has_both_chains():
    cli, nb = _blocks()
    assert [f'--stage {s}' in cli for s in (1, 2, 3, 4)] == [True] * 4
    assert [f'-p stage {s}' in nb for s in (1, 2, 3, 4)] == [True] * 4


def test_the_four_stages_through_the_cli(tmp_path):
    r = _run(_blocks()[0], tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    runs = tmp_path / 'runs'
    for stage in (2, 3, 4):  # a 2-step stage writes the epoch it started in; the next stage takes it, and says so
        found = runs / f'checkpoint/stage{stage - 1}/epoch-{EPOCH_START[stage - 1]}.pth'
        assert f'starting from checkpoint {found} (epoch-' in r.stdout, r.stdout[-3000:]
        assert json.loads((runs / f'checkpoint/stage{stage}/checkpoint.json').read_text())['started_from'] == str(found)
    assert f'checkpoints -> {runs}/checkpoint/stage1; metrics.jsonl, config.json and TensorBoard events -> {runs}/log/stage1' in r.stdout
    steps = {s: _steps(runs / f'log/stage{s}/metrics.jsonl') for s in (1, 2, 3, 4)}
    assert steps[1] == [0, 1]
    for s in (2, 3, 4):  # RVM's count: epoch * batches per epoch, so the stages follow each other
        assert steps[s] and max(steps[s - 1]) < min(steps[s]), steps
    assert not (ROOT / 'checkpoint' / 'stage1' / 'checkpoint.json').exists()  # nothing in the repository root


def test_the_four_stages_through_papermill(tmp_path):
    r = _run(_blocks()[1], tmp_path)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    runs = tmp_path / 'runs'
    for s in (1, 2, 3, 4):
        executed = json.loads((runs / f's{s}' / 'train_stage.ipynb').read_text())  # the executed notebook is in its run's folder
        assert executed['metadata']['papermill']['parameters']['stage'] == s
        config = json.loads((runs / f's{s}' / 'config.json').read_text())
        want = None if s == 1 else str(runs / f's{s - 1}' / 'checkpoints' / f'epoch-{EPOCH_START[s - 1]}.pth')
        assert (config['stage'], config['checkpoint']) == (s, want)
        if s > 1: assert max(_steps(runs / f's{s - 1}' / 'metrics.jsonl')) < min(_steps(runs / f's{s}' / 'metrics.jsonl'))
    listing = r.stdout.splitlines()
    header = next(i for i, l in enumerate(listing) if l.split()[:4] == ['run', 'status', 'stage', 'variant'])
    assert [l.split()[:3] for l in listing[header + 1:header + 5]] == [['s4', 'finished', '4'], ['s3', 'finished', '3'],
                                                                      ['s2', 'finished', '2'], ['s1', 'finished', '1']]
