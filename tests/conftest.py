"""Shared pytest options: which nbdev test flags to force (`--flags slow`)."""
import pytest


def pytest_addoption(parser):
    parser.addoption('--flags', default='', help='space-separated nbdev test flags to run (e.g. "slow")')


@pytest.fixture(scope='session')
def forced_flags(request):
    return request.config.getoption('--flags').split()
