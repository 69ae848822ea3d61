"""The stage notebook driven the way users drive it: papermill from a shell, with parameters."""
import csv
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
    # the training curves are drawn under MPLBACKEND=Agg too (as tools/demo.sh runs it)
    last = [c for c in nb['cells'] if c['cell_type'] == 'code'][-1]
    assert any('image/png' in o.get('data', {}) for o in last['outputs']), last['outputs']


def _last_line(r):
    return [l for l in (r.stdout + r.stderr).splitlines() if l.strip()][-1]


def test_unknown_stage_fails_in_one_line_at_the_end(tmp_path):
    r = _papermill(tmp_path, '-p', 'stage', '7')
    assert r.returncode != 0
    assert _last_line(r) == (f'NotebookError: -p stage 7: unknown stage; the seed defines stages 1, 2, 3 and 4 '
                             f'(executed notebook: {tmp_path / "out.ipynb"})'), r.stderr[-2000:]
    assert not (tmp_path / 'runs').exists()  # a configuration that cannot run leaves no run folder


def test_misspelt_parameter_fails_at_once_naming_the_closest(tmp_path):
    r = _papermill(tmp_path, '-p', 'stages', '3')
    assert r.returncode != 0
    assert _last_line(r).startswith('NotebookError: unknown parameter -p stages: did you mean -p stage? (parameters: stage, run_name, '), r.stderr[-2000:]
    assert not (tmp_path / 'runs').exists()
    r = _papermill(tmp_path, '-p', 'max_steps', 'four')
    assert "NotebookError: -p max_steps 'four': expected int (default 4; step budget" in _last_line(r)


def test_every_parameter_of_every_parameterized_notebook_is_read_by_papermill():
    import ast
    import papermill as pm
    for nb in sorted((ROOT / 'nbs').glob('*.ipynb')):
        cells = [c for c in json.loads(nb.read_text())['cells'] if 'parameters' in c['metadata'].get('tags', [])]
        if not cells: continue
        names = [n.target.id if isinstance(n, ast.AnnAssign) else n.targets[0].id for n in ast.parse(''.join(cells[0]['source'])).body]
        assert list(pm.inspect_notebook(str(nb))) == names, nb.name  # a comment papermill cannot parse hides a parameter from --help-notebook


def test_stage_notebook_shows_the_current_config_and_takes_the_learning_rates():
    """Its saved output is the config as it is now (every TrainConfig field), and the learning rates, where the seed's
    stages differ, are parameters."""
    import dataclasses
    import papermill as pm
    from rvm_nb.config import STAGES, TrainConfig
    cells = json.loads((ROOT / 'nbs' / 'train_stage.ipynb').read_text())['cells']
    shown = next(''.join(o['data']['text/plain']) for c in cells if c['cell_type'] == 'code' and ''.join(c['source']).rstrip().endswith('\ncfg')
                 for o in c['outputs'] if 'text/plain' in o.get('data', {}))
    assert [f.name for f in dataclasses.fields(TrainConfig) if f'{f.name}=' not in shown] == []
    rates = {k for s in STAGES.values() for k in s if k.startswith('learning_rate_')}
    assert rates and rates <= set(pm.inspect_notebook(str(ROOT / 'nbs' / 'train_stage.ipynb')))


def test_out_of_range_parameter_fails_before_training(tmp_path):
    r = _papermill(tmp_path, '-p', 'device', 'gpu', '-p', 'run_name', 'badvalue')
    assert r.returncode != 0
    assert _last_line(r).startswith('NotebookError: -p device gpu: choose from auto, cpu, cuda, cuda:N (executed notebook: '), r.stderr[-2000:]
    assert not (tmp_path / 'runs' / 'badvalue').exists()


def test_help_lists_the_parameters():
    r = subprocess.run([str(PAPERMILL), '--help-notebook', 'nbs/train_stage.ipynb'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0
    for name in ('stage', 'run_name', 'sample_data', 'data_config', 'max_steps', 'device', 'world_size'):
        assert f'  {name}:' in r.stdout, r.stdout
    assert 'stage: int (default 1)' in r.stdout and 'seed stage preset' in r.stdout


def test_two_ranks_spawned_from_the_kernel(tmp_path):
    r = _papermill(tmp_path, '-p', 'world_size', '2', '-p', 'run_name', 'ddp', '-p', 'max_steps', '2', '-p', 'model_variant', 'mobilenetv3',
                   '-p', 'device', 'cpu')
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path / 'runs' / 'ddp'
    assert json.loads((run / 'config.json').read_text())['world_size'] == 2
    records = [json.loads(l) for l in (run / 'metrics.jsonl').read_text().splitlines()]
    assert [rec['step'] for rec in records if 'train_lr_total' in rec] == [0, 1]
    assert (run / 'checkpoints' / 'epoch-0.pth').is_file()


def _evaluate_run(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if k != 'MPLBACKEND'}  # the kernel's inline backend, so figures are saved
    env['RVM_NB_RUNS'] = str(tmp_path / 'runs')
    return subprocess.run([str(PAPERMILL), 'nbs/evaluate_run.ipynb', str(tmp_path / 'eval.ipynb'), '--no-progress-bar', *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_train_then_evaluate_the_run(tmp_path):
    r = _papermill(tmp_path, '-p', 'run_name', 'tiny', '-p', 'max_steps', '1', '-p', 'model_variant', 'mobilenetv3')
    assert r.returncode == 0, r.stderr[-3000:]
    r = _evaluate_run(tmp_path, '-p', 'run_name', 'tiny', '-p', 'metrics', 'pha_mad pha_dtssd fgr_mse')
    assert r.returncode == 0, r.stderr[-3000:]
    out = tmp_path / 'runs' / 'tiny' / 'eval' / 'sample_eval'
    with open(out / 'sample_eval_per_clip.csv') as f: rows = list(csv.DictReader(f))
    assert len(rows) == 8 and {r['dataset'] for r in rows} == {'videomatte_motion', 'videomatte_static'}
    assert all(float(r['pha_mad']) > 0 for r in rows) and list(rows[0])[3:] == ['pha_mad', 'pha_dtssd', 'fgr_mse']
    nb = json.loads((tmp_path / 'eval.ipynb').read_text())
    text = ''.join(''.join(o.get('text', '')) for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', []))
    assert 'mobilenetv3 from' in text and 'epoch-0.pth' in text  # the run's variant and newest checkpoint were used
    images = [o for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', []) if 'image/png' in o.get('data', {})]
    assert len(images) == 2  # per-clip bars and per-frame curves


def test_evaluate_run_with_a_missing_set_fails_clearly(tmp_path):
    r = _evaluate_run(tmp_path, '-p', 'eval_set', str(tmp_path / 'nowhere'), '-p', 'model_variant', 'mobilenetv3')
    assert r.returncode != 0
    assert f'evaluation folder not found: {tmp_path / "nowhere"}' in r.stdout + r.stderr


def test_evaluate_run_of_a_run_that_does_not_exist_fails(tmp_path):
    r = _evaluate_run(tmp_path, '-p', 'run_name', 's3_typo')
    assert r.returncode != 0
    assert f"no run 's3_typo' under {tmp_path / 'runs'}; runs with checkpoints there: none" in r.stdout + r.stderr
    assert not (tmp_path / 'runs' / 's3_typo').exists()


def test_published_weights_on_the_human_set(tmp_path):
    r = _evaluate_run(tmp_path, '-p', 'run_name', 'published', '-p', 'checkpoint', 'rvm_mobilenetv3', '-p', 'eval_set', 'humans',
                      '-p', 'metrics', 'pha_mad pha_grad', '-p', 'downsample_ratio', '1')
    assert r.returncode == 0, r.stderr[-3000:]
    nb = json.loads((tmp_path / 'eval.ipynb').read_text())
    text = ''.join(''.join(o.get('text', '')) for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', []))
    assert 'mobilenetv3 from rvm_mobilenetv3' in text and "ground truth = RVM's published model's output" in text
    summary = json.loads((tmp_path / 'runs' / 'published' / 'eval' / 'eval' / 'eval_evaluation.json').read_text())['summary']
    assert 0 < summary['all']['pha_mad'] < 20  # x1e-3: RVM agrees closely with its own pseudo-ground-truth


def test_fine_tune_published_weights_through_the_stage_notebook(tmp_path):
    r = _papermill(tmp_path, '-p', 'stage', '2', '-p', 'run_name', 'ft', '-p', 'max_steps', '1', '-p', 'model_variant', 'mobilenetv3',
                   '-p', 'checkpoint', 'rvm_mobilenetv3', '-p', 'sample_set', 'humans')
    assert r.returncode == 0, r.stderr[-3000:]
    config = json.loads((tmp_path / 'runs' / 'ft' / 'config.json').read_text())
    assert (config['checkpoint'], config['sample_set'], config['model_variant']) == ('rvm_mobilenetv3', 'humans', 'mobilenetv3')
    nb = json.loads((tmp_path / 'out.ipynb').read_text())
    text = ''.join(''.join(o.get('text', '')) for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', []))
    assert 'starting from checkpoint' in text and 'rvm_mobilenetv3.pth' in text
