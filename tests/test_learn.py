"""`python -m rvm_nb.bench learn` as it is meant to be run, for an hour in the background: Ctrl-C in the middle, then the
same command again goes on where it stopped and finishes the curve, with its CSV and picture."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_learn_ctrl_c_then_the_same_command_goes_on(tmp_path):
    cmd = [sys.executable, '-m', 'rvm_nb.bench', 'learn', '--steps', '4', '--every', '2', '--eval-clips', '1', '--eval-frames', '6', '--out', str(tmp_path)]
    curve = tmp_path / 'learn' / '1-clips-6-frames' / 'seed_cpu_hour' / 'curve.json'
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    end = time.monotonic() + 300
    while not curve.is_file() and p.poll() is None and time.monotonic() < end: time.sleep(0.2)
    time.sleep(4)  # into the first chunk's training
    os.killpg(p.pid, signal.SIGINT)  # what a terminal sends its foreground job on Ctrl-C
    stdout, stderr = p.communicate(timeout=300)
    assert p.returncode == 1, (stdout + stderr)[-3000:]
    assert 'Traceback' not in stderr, stderr[-3000:]
    assert stderr.strip().splitlines()[-1] == (f'python -m rvm_nb.bench learn: interrupted; the curves so far are in '
                                               f'{tmp_path / "learn.csv"}: run the same command again to go on')
    state = json.loads(curve.read_text())
    assert [r['step'] for r in state['rows']] == [0] and state['train_s'] > 0  # the interrupted chunk's time is counted
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    state2 = json.loads(curve.read_text())
    assert [row['step'] for row in state2['rows']] == [0, 2, 4] and state2['rows'][0] == state['rows'][0]
    assert state2['train_s'] > state['train_s']
    logged = [json.loads(l)['step'] for l in (curve.parent / 'log' / 'metrics.jsonl').read_text().splitlines()]
    assert logged == sorted(set(logged)) and logged[-1] == 3  # each step once, however the interruption fell
    rows = list(csv.DictReader(open(tmp_path / 'learn.csv')))
    assert [row['step'] for row in rows] == ['0', '2', '4', ''] and rows[-1]['model'] == 'published rvm_mobilenetv3'
    assert all(float(row['pha_mad']) > 0 for row in rows) and float(rows[1]['train_lr_distill'] or 0) >= 0
    assert (tmp_path / 'learn.png').stat().st_size > 10_000
