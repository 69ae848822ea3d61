"""The stage notebook driven the way users drive it: papermill from a shell, with parameters."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPERMILL = Path(sys.executable).parent / 'papermill'


def _papermill(tmp_path, *args):
    env = {**os.environ, 'RVM_NB_RUNS': str(tmp_path / 'runs'), 'MPLBACKEND': 'Agg'}
    return subprocess.run([str(PAPERMILL), 'nbs/train_stage.ipynb', str(tmp_path / 'out.ipynb'), '--no-progress-bar', *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_stage_3_from_the_command_line(tmp_path):
    r = _papermill(tmp_path, '-p', 'stage', '3', '-p', 'run_name', 'pm3', '-p', 'max_steps', '1')
    assert r.returncode == 0, r.stderr[-3000:]
    nb = json.loads((tmp_path / 'out.ipynb').read_text())
    injected = [c for c in nb['cells'] if 'injected-parameters' in c['metadata'].get('tags', [])]
    assert len(injected) == 1 and 'stage = 3' in ''.join(injected[0]['source'])
    assert nb['metadata']['papermill']['parameters']['stage'] == 3
    config = json.loads((tmp_path / 'runs' / 'pm3' / 'config.json').read_text())
    assert (config['stage'], config['train_hr'], config['learning_rate_refiner']) == (3, True, 2e-4)
    records = [json.loads(l) for l in (tmp_path / 'runs' / 'pm3' / 'metrics.jsonl').read_text().splitlines()]
    assert any('train_hr_total' in rec for rec in records)  # stage 3 runs the high-resolution pass
    assert (tmp_path / 'runs' / 'pm3' / 'checkpoints' / 'epoch-17.pth').is_file()


def test_unknown_stage_fails_clearly(tmp_path):
    r = _papermill(tmp_path, '-p', 'stage', '7')
    assert r.returncode != 0
    assert 'unknown stage 7; the seed defines stages [1, 2, 3, 4]' in r.stdout + r.stderr


def test_help_lists_the_parameters():
    r = subprocess.run([str(PAPERMILL), '--help-notebook', 'nbs/train_stage.ipynb'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0
    for name in ('stage', 'run_name', 'sample_data', 'data_config', 'max_steps', 'device'):
        assert f'  {name}:' in r.stdout, r.stdout
    assert 'stage: int (default 1)' in r.stdout and 'seed stage preset' in r.stdout
