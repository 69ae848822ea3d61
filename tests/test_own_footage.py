"""Training on one's own footage, as a user does it: `python -m rvm_nb.pseudolabel` on a folder of videos, Ctrl-C in the
middle and the same command again, then the seed's stage-4 preset on the pseudo-labelled ImageMatte (which the seed
itself cannot give: Distinctions-646 and Adobe Image Matting are not public)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = [sys.executable, '-m']
SMALL = ['--max-steps', '2', '--resolution-lr', '128', '--seq-length-lr', '3', '--resolution-hr', '256', '--seq-length-hr', '2']


def _footage(tmp_path) -> Path:
    "A folder with the shipped carphone video and a generated 300-frame walk (labelled second: names sort)."
    from rvm_nb.pseudolabel import synthetic_video
    from rvm_nb.samples import ensure_sample_set
    d = tmp_path / 'footage'
    d.mkdir()
    shutil.copy(ensure_sample_set(verbose=False) / 'videos' / 'carphone_pristine.mp4', d)
    synthetic_video(d / 'walk.mp4', 300)
    return d


def test_ctrl_c_then_the_same_command_goes_on(tmp_path):
    feet, out = _footage(tmp_path), tmp_path / 'mine'
    cmd = PY + ['rvm_nb.pseudolabel', str(feet), '--out', str(out), '--clip-frames', '20']
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    end = time.monotonic() + 300
    while not (out / '.partial' / 'walk').is_dir() and p.poll() is None and time.monotonic() < end: time.sleep(0.1)
    time.sleep(1)
    os.killpg(p.pid, signal.SIGINT)  # what a terminal sends its foreground job on Ctrl-C
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 1, (stdout + stderr)[-2000:]
    assert 'Traceback' not in stderr, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == (f'python -m rvm_nb.pseudolabel: interrupted; the finished sources are kept in {out}: '
                                               'run the same command again to go on')
    first = out / 'reports' / 'carphone_pristine.json'
    assert first.is_file() and not (out / 'reports' / 'walk.json').exists()
    before = first.stat().st_mtime_ns
    r = subprocess.run(cmd + ['--quiet'], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert first.stat().st_mtime_ns == before  # carphone was not labelled again
    walk = json.loads((out / 'reports' / 'walk.json').read_text())
    assert (walk['frames'], walk['ranges']) == (300, [['train', 0, 270], ['valid', 270, 30]])
    # RVM's model does not see a person in the generated figure: most of its frames are dropped, each one counted once
    assert walk['kept'] + sum(walk['dropped'].values()) + walk['short_runs'] == 300 and walk['kept'] < 150
    assert not (out / '.partial').exists()
    assert "ground truth = the teacher's output" in r.stdout


def test_stage_4_runs_on_pseudo_labelled_imagematte(tmp_path):
    from rvm_nb.samples import ensure_sample_set
    out, runs = tmp_path / 'mine', tmp_path / 'runs'
    video = ensure_sample_set(verbose=False) / 'videos' / 'carphone_pristine.mp4'
    r = subprocess.run(PY + ['rvm_nb.pseudolabel', str(video), '--out', str(out), '--clip-frames', '20', '--quiet'], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    pairs = sorted(p.name for p in (out / 'imagematte' / 'train' / 'pha').iterdir())
    assert pairs and pairs == sorted(p.name for p in (out / 'imagematte' / 'train' / 'fgr').iterdir())
    env = {**os.environ, 'RVM_NB_RUNS': str(runs)}
    r = subprocess.run(PY + ['rvm_nb.train', '--stage', '4', '--data-config', str(out / 'data_paths.json'), '--checkpoint', '',
                             '--disable-progress-bar', *SMALL], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    config = json.loads((runs / 'log' / 'stage4' / 'config.json').read_text())
    assert (config['dataset'], config['train_hr'], config['learning_rate_decoder']) == ('imagematte', True, 5e-5)  # the seed's stage 4
    steps = [json.loads(l) for l in (runs / 'log' / 'stage4' / 'metrics.jsonl').read_text().splitlines() if 'train_hr_total' in l]
    assert steps and all(s['epoch'] == 19 and s['train_lr_total'] > 0 and s['train_hr_total'] > 0 for s in steps)  # both passes
