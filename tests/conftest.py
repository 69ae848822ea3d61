"""Shared pytest options: which nbdev test flags to force (`--flags slow`); and, for a run on several workers
(`tools/test.sh` runs `-n 2`), the order and grouping that let the workers finish together."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The slowest tests first (measured with --durations on the 2-core CI machine), so that no worker is left with a long one
# at the end while the other idles. Everything else keeps its file order behind them.
SLOWEST_FIRST = (
    'test_notebook[tutorial_own_footage.ipynb]', 'test_readme_stages.py::test_the_four_stages_through_papermill',
    'test_notebook[21_train.ipynb]',
    'test_notebook[23_memory.ipynb]', 'test_browser.py', 'test_docs.py', 'test_notebook[32_inference.ipynb]', 'test_ddp.py',
    'test_readme_stages.py::test_the_four_stages_through_the_cli', 'test_card_command.py::test_card_command_talks',
    'test_own_footage.py::test_ctrl_c', 'test_notebook[34_pseudolabel.ipynb]', 'test_learn.py',
    'test_notebook[12_published.ipynb]', 'test_notebook[33_export.ipynb]', 'test_papermill.py::test_train_then_evaluate_the_run',
    'test_papermill.py::test_published_weights_on_the_human_set', 'test_train_crash.py::test_sigkill',
    'test_notebook[95c_bench_train.ipynb]', 'test_notebook[31_evaluate.ipynb]', 'test_papermill.py::test_two_ranks_spawned',
)

# Tests that stay on one worker, in order (xdist groups): files whose tests share a module fixture that takes a minute to build
# (a JupyterLab server, two DDP runs, a dataset tree), and the docs tests, which share one build of the site (`docs_site`).
GROUPS = {'test_docs.py': 'docs', 'test_browser.py::test_docs_pages_render': 'docs', 'test_browser.py': 'browser',
          'test_ddp.py': 'ddp', 'test_bad_inputs.py': 'bad_inputs'}


def pytest_addoption(parser):
    parser.addoption('--flags', default='', help='space-separated nbdev test flags to run (e.g. "slow")')


@pytest.fixture(scope='session')
def forced_flags(request):
    return request.config.getoption('--flags').split()


@pytest.fixture(scope='session')
def docs_site(tmp_path_factory):
    """(folder, seconds): the documentation site built once by the console script a user runs, `rvm-docs`, for the docs
    tests and the browser's docs test (one 'docs' group, so one worker builds it)."""
    dest, t0 = tmp_path_factory.mktemp('docs'), time.time()
    r = subprocess.run([str(Path(sys.executable).parent / 'rvm-docs'), '--dest', str(dest), '--no-readme'], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f'rvm-docs failed:\n{(r.stdout + r.stderr)[-3000:]}'
    return dest, time.time() - t0


def _rank(nodeid: str) -> int:
    return next((i for i, name in enumerate(SLOWEST_FIRST) if name in nodeid), len(SLOWEST_FIRST))


def pytest_itemcollected(item):
    # as each test is collected, before xdist turns the groups into node-id suffixes
    group = next((g for name, g in GROUPS.items() if name in item.nodeid), None)
    if group: item.add_marker(pytest.mark.xdist_group(group))


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: _rank(item.nodeid))  # stable: the rest keep their order


def pytest_configure(config):
    # every temporary file of this process and of what it starts (kernels, DDP ranks, the browser) goes into one folder
    # that is removed at the end: a test run would otherwise leave gigabytes in /tmp
    config._rvm_nb_tmp = tempfile.mkdtemp(prefix='rvm_nb_tests_')
    os.environ['TMPDIR'] = tempfile.tempdir = config._rvm_nb_tmp
    # pytest 9.2 renamed the node-id attribute that pytest-xdist 3.8 writes the groups into: xdist then drops the
    # groups silently, builds the shared fixtures twice and runs the two docs builds at once; say so instead
    version = tuple(int(part) for part in pytest.__version__.split('.')[:2])
    if config.getoption('dist', 'no') == 'loadgroup' and version >= (9, 2):
        raise pytest.UsageError(f'pytest {pytest.__version__} loses the xdist test groups; '
                                'install the pinned pytest<9.2 (bash tools/install.sh)')


def pytest_unconfigure(config):
    if hasattr(config, '_rvm_nb_tmp'): shutil.rmtree(config._rvm_nb_tmp, ignore_errors=True)
