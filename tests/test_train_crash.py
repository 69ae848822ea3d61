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
