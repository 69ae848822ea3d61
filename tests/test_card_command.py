"""The design card's command, `papermill nbs/train_stage.ipynb -p stage 3`, as a person runs it: it says where the run goes,
prints its steps, stops cleanly on Ctrl-C (SIGINT to the terminal's process group) and resumes with the command it printed."""
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def default_sigint():
    "Ctrl-C as a terminal's foreground job gets it: a suite started in the background (SIGINT ignored) must not pass that on."
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Terminal:
    "A command in its own process group, as a shell's foreground job; standard error read line by line while it runs."
    def __init__(self, argv, env, stdout):
        self.p = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                  text=True, start_new_session=True, preexec_fn=default_sigint)
        self.lines, self.t0 = [], time.monotonic()
        self.reader = threading.Thread(target=lambda: [self.lines.append((time.monotonic() - self.t0, l.rstrip('\n'))) for l in self.p.stderr])
        self.reader.start()

    def wait_for(self, text, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            hit = next((t for t, l in self.lines if text in l), None)
            if hit is not None: return hit
            if self.p.poll() is not None and not self.reader.is_alive(): break
            time.sleep(0.2)
        raise AssertionError(f'{text!r} not printed within {timeout} s:\n' + self.text())

    def ctrl_c(self): os.killpg(self.p.pid, signal.SIGINT)  # what the terminal sends to its foreground job

    def text(self): return '\n'.join(l for _, l in self.lines)


def _without_papermills_lost_task(text: str) -> str:
    """`text` less the one traceback that is papermill's own: on Ctrl-C papermill shuts the kernel down while nbclient's
    cell task still waits on another thread; when the kernel is gone (or its heartbeat late, on a loaded machine) before
    that cell's reply, asyncio reports the task's `DeadKernelError` at exit. Nothing of rvm_nb runs in that process."""
    start, end = 'Task exception was never retrieved', 'nbclient.exceptions.DeadKernelError: Kernel died'
    while start in text and end in text[text.index(start):]:
        i = text.index(start)
        text = text[:i] + text[text.index(end, i) + len(end):]
    return text


def test_papermills_lost_task_is_the_only_traceback_left_out():
    lost = ("Task exception was never retrieved\nfuture: <Task finished name='Task-22' coro=<...>>\nTraceback (most recent call last):\n"
            '  File ".../nbclient/client.py", line 1009\nnbclient.exceptions.DeadKernelError: Kernel died')
    assert 'Traceback' not in _without_papermills_lost_task(f'before\n{lost}\nafter')
    ours = 'Traceback (most recent call last):\n  File ".../rvm_nb/session.py"\nValueError: x'
    assert 'Traceback' in _without_papermills_lost_task(f'{lost}\n{ours}') and 'Traceback' in _without_papermills_lost_task(ours)


def _status(runs, name):
    return json.loads((runs / name / 'checkpoints' / 'checkpoint.json').read_text()).get('status')


def test_card_command_talks_stops_on_ctrl_c_and_resumes(tmp_path):
    runs = tmp_path / 'runs'
    env = {**os.environ, 'RVM_NB_RUNS': str(runs), 'MPLBACKEND': 'Agg', 'PATH': f'{BIN}:{os.environ["PATH"]}'}
    out = open(tmp_path / 'executed.ipynb', 'w')  # papermill without an output path writes the notebook to standard output
    term = Terminal(['papermill', 'nbs/train_stage.ipynb', '-p', 'stage', '3', '-p', 'max_steps', '8'], env, out)
    took = term.wait_for('stage 3 -> run folder ', 60)
    first = next(l for _, l in term.lines if 'run folder' in l)
    name = first.split('run folder ')[1].split(' ')[0].rsplit('/', 1)[1]
    assert first == f'stage 3 -> run folder {runs / name} (executed notebook: standard output (papermill was given no output path))'
    print(f'the run folder was named after {took:.1f} s')
    term.wait_for('step 2/8 (step 6801, epoch 17): lr_total ', 120)
    term.ctrl_c()
    assert term.p.wait(60) != 0
    term.reader.join(120)  # the training process holds the terminal until it has saved
    text = term.text()
    assert 'SIGINT: the training process finishes its step, saves resume.pth and prints how to resume' in text, text
    resume = f'papermill nbs/train_stage.ipynb -p stage 3 -p max_steps 8 -p run_name {name} -p resume True'
    assert f'saved {runs / name / "checkpoints" / "resume.pth"}. Resume with:\n  {resume}' in text, text
    assert 'Traceback' not in _without_papermills_lost_task(text) and 'TCP without encryption' not in text, text
    assert _status(runs, name) == 'interrupted' and (runs / name / 'checkpoints' / 'resume.pth').is_file()
    listed = subprocess.run([str(BIN / 'python'), '-m', 'rvm_nb.runs', 'list'], env=env, capture_output=True, text=True).stdout
    assert f'{name}  interrupted: resumable  3' in listed, listed
    # the printed command, as printed
    r = subprocess.run(shlex.split(resume), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'resumed from step' in r.stderr and 'step 8/8 (step 6807, epoch 17)' in r.stderr, r.stderr
    assert 'starts from random weights' not in r.stderr  # a resumed run does not warn about its start again
    steps = [json.loads(l)['step'] for l in (runs / name / 'metrics.jsonl').read_text().splitlines()]
    assert steps == list(range(6800, 6808)), steps  # every step once
    assert _status(runs, name) == 'finished'


def test_runs_notebook_keeps_the_executed_notebook_and_leaves_no_folder_for_bad_values(tmp_path):
    env = {**os.environ, 'RVM_NB_RUNS': str(tmp_path / 'runs'), 'MPLBACKEND': 'Agg'}
    run = lambda *a: subprocess.run([str(BIN / 'python'), '-m', 'rvm_nb.runs', 'notebook', 'nbs/train_stage.ipynb', '--no-progress-bar', *a],
                                    cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    r = run('-p', 'stages', '3')
    assert r.returncode != 0 and r.stderr.strip().splitlines()[-1].startswith(
        'python -m rvm_nb.runs: error: unknown parameter -p stages: did you mean -p stage? (parameters: stage, '), r.stderr
    assert not (tmp_path / 'runs').exists()  # refused before papermill started
    r = run('-p', 'stage', '5', '-p', 'run_name', 'five')
    failed = tmp_path / 'runs' / '.failed' / 'five-train_stage.ipynb'
    assert r.stderr.strip().splitlines()[-1] == (f'python -m rvm_nb.runs: error: NotebookError: -p stage 5: unknown stage; the seed defines '
                                                 f'stages 1, 2, 3 and 4 (executed notebook: {failed})'), r.stderr
    assert failed.is_file() and not (tmp_path / 'runs' / 'five').exists()


def test_interrupt_button_in_jupyterlab_saves_and_says_how_to_resume(tmp_path):
    "JupyterLab's interrupt button sends SIGINT to the kernel: the cell waits for the training process to save, then says what to set."
    script = f'''
import os, signal, threading, time
from rvm_nb.config import stage_config, runs_dir
from rvm_nb.session import train_in_child, NotebookError, resume_command
run = runs_dir() / 'jl'
cfg = stage_config(1, sample_data=True, model_variant='mobilenetv3', max_steps=40, resolution_lr=128, seq_length_lr=2, num_workers=0,
                   log_train_loss_interval=1, disable_progress_bar=True, disable_validation=True, skip_memory_check=True,
                   checkpoint_dir=str(run / 'checkpoints'), log_dir=str(run))
def interrupt():
    while not (run / 'metrics.jsonl').exists(): time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=interrupt, daemon=True).start()
try: train_in_child(cfg, resume_command('jl', launch=None))
except NotebookError as e: print('NotebookError:', e)
'''
    env = {**os.environ, 'RVM_NB_RUNS': str(tmp_path)}
    r = subprocess.run([sys.executable, '-c', script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                       preexec_fn=default_sigint)
    assert 'SIGINT: the training process finishes its step, saves resume.pth and prints how to resume (this cell waits for it)' in r.stdout, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == (f"NotebookError: training interrupted: saved {tmp_path / 'jl' / 'checkpoints' / 'resume.pth'}; "
                                                 "resume with: set run_name = 'jl' and resume = True in the parameters cell, then run all cells")
    assert (tmp_path / 'jl' / 'checkpoints' / 'resume.pth').is_file()
    assert json.loads((tmp_path / 'jl' / 'checkpoints' / 'checkpoint.json').read_text())['status'] == 'interrupted'
