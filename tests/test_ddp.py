"""Data-parallel training on CPU (gloo): two ranks equal one process over the same global batch, torchrun runs
the same code (one agent, two agents as two nodes, an elastic restart after a killed worker), and a rank killed
with SIGKILL ends the whole run quickly with a message naming it, as the last thing printed."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch

from rvm_nb.config import stage_config
from rvm_nb.checkpoints import load_matting_checkpoint
from rvm_nb.model import MattingNetwork
from rvm_nb.train import train

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(sample_data=True, model_variant='mobilenetv3', checkpoint=None, resolution_lr=128, seq_length_lr=3, num_workers=0,
            device='cpu', disable_progress_bar=True, log_train_loss_interval=1, distributed_port='0')


def _flags(**kw):
    out = []
    for k, v in kw.items():
        flag = '--' + k.replace('_', '-')
        if v is True: out.append(flag)
        elif v is not None and v is not False: out += [flag, str(v)]
    return out


def _records(run: Path) -> list:
    return [json.loads(l) for l in (run / 'metrics.jsonl').read_text().splitlines()]


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Two iterations of stage 1 in float64: one process with B=2, and two spawned ranks with B=1 each."""
    root = tmp_path_factory.mktemp('ddp')
    for name, kw in (('one', dict(batch_size_per_gpu=2)), ('two', dict(batch_size_per_gpu=1, world_size=2))):
        train(stage_config(1, **TINY, dtype='float64', max_steps=2, checkpoint_dir=str(root / name / 'checkpoints'),
                           log_dir=str(root / name), **kw))
    return root


def test_two_ranks_equal_one_process_over_the_global_batch(runs):
    one = torch.load(runs / 'one' / 'checkpoints' / 'epoch-0.pth', weights_only=True)
    two = torch.load(runs / 'two' / 'checkpoints' / 'epoch-0.pth', weights_only=True)
    assert list(one) == list(two)  # the synchronised batch norm keeps the published key layout
    start = MattingNetwork('mobilenetv3').state_dict()
    moved = max((one[k] - start[k].double()).abs().max().item() for k in one if one[k].is_floating_point())
    assert moved > 1e-5  # the runs did train
    worst = max((one[k] - two[k]).abs().max().item() for k in one)
    assert worst < 1e-5, worst
    # logged losses are the mean over ranks, so they equal the single process's losses on the global batch
    for a, b in zip(_records(runs / 'one'), _records(runs / 'two'), strict=True):
        assert a.keys() == b.keys()
        for k in a:
            if not k.startswith('time_'): assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-12), k
    assert any('valid_loss' in r for r in _records(runs / 'two'))
    load_matting_checkpoint(MattingNetwork('mobilenetv3'), runs / 'two' / 'checkpoints' / 'epoch-0.pth')


def test_torchrun_runs_the_same_training(runs, tmp_path):
    run = tmp_path / 'torchrun'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2', '-m', 'rvm_nb.train',
           '--stage', '1', *_flags(**{**TINY, 'distributed_port': None}), '--dtype', 'float64', '--max-steps', '2',
           '--batch-size-per-gpu', '1', '--checkpoint-dir', str(run / 'checkpoints'), '--log-dir', str(run)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((run / 'config.json').read_text())['world_size'] == 2
    ref = torch.load(runs / 'two' / 'checkpoints' / 'epoch-0.pth', weights_only=True)
    got = torch.load(run / 'checkpoints' / 'epoch-0.pth', weights_only=True)
    assert max((ref[k] - got[k]).abs().max().item() for k in ref) < 1e-9


def _train_flags(run: Path, **kw) -> list:
    return ['--stage', '1', *_flags(**{**TINY, 'distributed_port': None, **kw}), '--checkpoint-dir', str(run / 'checkpoints'), '--log-dir', str(run)]


def test_two_torchrun_agents_as_two_nodes_equal_one_process(runs, tmp_path):
    """Scaling out as users do: one `torchrun` agent per node, c10d rendezvous, here two nodes on 127.0.0.1."""
    from rvm_nb.distributed import free_port
    run, port = tmp_path / 'nodes', free_port()
    agent = [sys.executable, '-m', 'torch.distributed.run', '--nnodes', '2', '--nproc-per-node', '1', '--rdzv-backend', 'c10d',
             '--rdzv-endpoint', f'127.0.0.1:{port}', '--rdzv-id', 'rvm-nb-test', '--local-addr', '127.0.0.1', '-m', 'rvm_nb.train',
             *_train_flags(run, dtype='float64', max_steps=2, batch_size_per_gpu=1)]
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}  # two "machines" share this one's cores
    nodes = [subprocess.Popen(agent, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try: outs = [n.communicate(timeout=600) for n in nodes]
    finally:
        for n in nodes:
            if n.poll() is None: n.kill()
    assert all(n.returncode == 0 for n in nodes), '\n'.join(o[1][-2000:] for o in outs)
    assert json.loads((run / 'config.json').read_text())['world_size'] == 2
    one = torch.load(runs / 'one' / 'checkpoints' / 'epoch-0.pth', weights_only=True)
    got = torch.load(run / 'checkpoints' / 'epoch-0.pth', weights_only=True)
    assert max((one[k] - got[k]).abs().max().item() for k in one) < 1e-5  # as the spawned two-rank run
    for a, b in zip(_records(runs / 'one'), _records(run), strict=True):
        for k in a:
            if not k.startswith('time_'): assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-12), k


def _losses(run: Path) -> dict:
    out = {}
    for line in (run / 'metrics.jsonl').read_text().splitlines():
        try: rec = json.loads(line)
        except json.JSONDecodeError: continue  # a line torn by the kill
        if 'train_lr_total' in rec: out[rec['step']] = rec['train_lr_total']  # a step redone after the restart: the last
    return out


def test_elastic_restart_after_a_killed_worker_resumes_from_the_last_checkpoint(tmp_path):
    """`torchrun --max-restarts 1`: the worker is SIGKILLed mid-run, torchrun starts it again, it resumes from resume.pth."""
    full, elastic = tmp_path / 'full', tmp_path / 'elastic'
    kw = dict(max_steps=6, checkpoint_save_interval=1, disable_validation=True)
    subprocess.run([sys.executable, '-m', 'rvm_nb.train', *_train_flags(full, **kw)], cwd=ROOT, check=True, capture_output=True, timeout=600)
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '1', '--max-restarts', '1',
           '-m', 'rvm_nb.train', *_train_flags(elastic, **kw)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if (elastic / 'metrics.jsonl').exists() and len(_losses(elastic)) >= 3: break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True) if 'rvm_nb.train' in ' '.join(p.cmdline())]
        assert len(workers) == 1
        workers[0].send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None: proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert re.search(r'resumed from step [1-5] \(epoch 0\)', out), out[-2000:]
    assert _losses(elastic) == _losses(full) and sorted(_losses(full)) == list(range(6))


def _rank_processes(parent: psutil.Process) -> list:
    kids = [p for p in parent.children(recursive=True) if 'spawn_main' in ' '.join(p.cmdline())]
    return sorted(kids, key=lambda p: p.create_time())


def test_a_killed_rank_ends_the_run_quickly(tmp_path):
    run = tmp_path / 'killed'
    cmd = [sys.executable, '-m', 'rvm_nb.train', '--stage', '1', *_flags(**TINY), '--world-size', '2', '--max-steps', '500',
           '--disable-validation', '--checkpoint-dir', str(run / 'checkpoints'), '--log-dir', str(run)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:  # wait until both ranks are training
            if (run / 'metrics.jsonl').exists() and len(_records(run)) >= 2: break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        ranks = _rank_processes(psutil.Process(proc.pid))
        assert len(ranks) == 2
        ranks[-1].send_signal(signal.SIGKILL)
        killed = time.time()
        _, err = proc.communicate(timeout=60)
        elapsed = time.time() - killed
    finally:
        if proc.poll() is None: proc.kill()
    assert elapsed < 30, elapsed
    assert proc.returncode != 0
    errors = [l for l in err.splitlines() if l.startswith('python -m rvm_nb.train: error: ')]
    # the survivor is stopped with SIGTERM; it may still be leaving a collective with the dead rank when it exits
    assert len(errors) == 1 and re.fullmatch(r'.*error: rank [01] killed by SIGKILL; rank [01] (killed by SIGTERM|exited with code 1)', errors[0]), err[-3000:]
    assert err.strip().splitlines()[-1] == errors[0], err[-3000:]  # no resource-tracker warning after it
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in ranks)  # no orphan rank
