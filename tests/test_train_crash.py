"""A training process killed with SIGKILL resumes from its last atomic checkpoint and produces exactly the
losses of an uninterrupted run (CPU, same seed)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cmd(run: Path, *extra):
    return [sys.executable, '-m', 'rvm_nb.train', '--stage', '1', '--sample-data', '--model-variant', 'mobilenetv3',
            '--resolution-lr', '128', '--seq-length-lr', '3', '--num-workers', '0', '--device', 'cpu', '--max-steps', '6',
            '--checkpoint-save-interval', '1', '--log-train-loss-interval', '1', '--disable-progress-bar', '--disable-validation',
            '--checkpoint-dir', str(run / 'checkpoints'), '--log-dir', str(run), *extra]


def _losses(run: Path) -> dict:
    out = {}
    for line in (run / 'metrics.jsonl').read_text().splitlines():
        try: rec = json.loads(line)
        except json.JSONDecodeError: continue  # a line torn by the kill
        if 'train_lr_total' in rec: out[rec['step']] = rec['train_lr_total']  # a step redone after the kill: keep the last
    return out


def _records(run: Path) -> dict:
    "step -> its whole logged record (every loss term's last value), timings left out: they are the only thing allowed to differ."
    out = {}
    for line in (run / 'metrics.jsonl').read_text().splitlines():
        try: rec = json.loads(line)
        except json.JSONDecodeError: continue
        if 'train_lr_total' in rec: out[rec['step']] = {k: v for k, v in rec.items() if not k.startswith('time_')}
    return out


def test_sigkill_then_resume_matches_uninterrupted(tmp_path):
    full, crashed = tmp_path / 'full', tmp_path / 'crashed'
    subprocess.run(_cmd(full), cwd=ROOT, check=True, capture_output=True, timeout=600)
    proc = subprocess.Popen(_cmd(crashed), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if (crashed / 'metrics.jsonl').exists() and len(_losses(crashed)) >= 3: break
        time.sleep(0.05)
    assert proc.poll() is None, 'the run finished before it could be killed'
    os.kill(proc.pid, signal.SIGKILL); proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = len(_losses(crashed))
    assert killed_at < 6 and (crashed / 'checkpoints' / 'resume.pth').is_file()
    subprocess.run(_cmd(crashed, '--resume'), cwd=ROOT, check=True, capture_output=True, timeout=600)
    assert _losses(crashed) == _losses(full) and sorted(_losses(full)) == list(range(6))
    assert _records(crashed) == _records(full)  # the first record after the resume too: seg_image_loss included


def test_ctrl_c_saves_and_the_resume_logs_each_step_once(tmp_path):
    """SIGINT (Ctrl-C) mid-run with the default 500-step interval: the step finishes, resume.pth is written, the last line
    says how to go on, exit status 130; the resumed run says where it resumed and its log has every step exactly once."""
    run = tmp_path / 'ctrl_c'
    cmd = [c for c in _cmd(run) if c != '6']
    cmd[cmd.index('--max-steps') + 1:cmd.index('--max-steps') + 1] = ['40']
    cmd[cmd.index('--checkpoint-save-interval') + 1] = '500'
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if (run / 'metrics.jsonl').exists() and len(_losses(run)) >= 3: break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    lines = err.strip().splitlines()
    assert lines[-2].startswith('python -m rvm_nb.train: interrupted by SIGINT after step ') and 'saved' in lines[-2], err[-2000:]
    assert lines[-1].strip().startswith('python -m rvm_nb.train ') and lines[-1].endswith(' --resume')
    stopped = int(lines[-2].split('after step ')[1].split(':')[0])
    assert (run / 'checkpoints' / 'resume.pth').is_file() and 'Traceback' not in err
    more = [c for c in cmd]; more[more.index('--max-steps') + 1] = str(stopped + 3)
    r = subprocess.run(more + ['--resume'], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f'resumed from step {stopped + 1} (epoch 0)' in r.stdout
    steps = [json.loads(l)['step'] for l in (run / 'metrics.jsonl').read_text().splitlines() if 'train_lr_total' in l]
    assert steps == list(range(stopped + 3)), steps
