"""Shared pytest options: which nbdev test flags to force (`--flags slow`); and, for a run on several workers
(`tools/test.sh` runs `-n 2`), the order and grouping that let the workers finish together."""
import pytest

# The slowest tests first (measured with --durations on the 2-core CI machine), so that no worker is left with a long one
# at the end while the other idles. Everything else keeps its file order behind them.
SLOWEST_FIRST = (
)

# Files whose tests share a module fixture that takes a minute to build (a JupyterLab server, the docs site, two DDP runs,
# a dataset tree): their tests stay on one worker, so it is built once.
SHARED_FIXTURE_FILES = ('test_browser.py', 'test_docs.py', 'test_ddp.py', 'test_bad_inputs.py')


def pytest_addoption(parser):
    parser.addoption('--flags', default='', help='space-separated nbdev test flags to run (e.g. "slow")')


@pytest.fixture(scope='session')
def forced_flags(request):
    return request.config.getoption('--flags').split()


def _rank(nodeid: str) -> int:
    return next((i for i, name in enumerate(SLOWEST_FIRST) if name in nodeid), len(SLOWEST_FIRST))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SHARED_FIXTURE_FILES: item.add_marker(pytest.mark.xdist_group(item.path.stem))
    items.sort(key=lambda item: _rank(item.nodeid))  # stable: the rest keep their order
