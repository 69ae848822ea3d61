"""Every notebook under nbs/ is a test case, run exactly as `nbdev_test` runs it (in-process, execnb)."""
import os
from pathlib import Path

import nbdev
import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook

# Every notebook ends with `nbdev.nbdev_export()`, which rewrites the whole package: run by the tests, on two workers, one
# worker would import modules the other is rewriting. The tests run it as a no-op; test_hygiene checks the export instead.
nbdev.nbdev_export = lambda *args, **kwargs: None

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / 'nbs').rglob('*.ipynb')
                   if not any(part.startswith(('_', '.')) for part in p.relative_to(ROOT / 'nbs').parts))


@pytest.mark.parametrize('nb', NOTEBOOKS, ids=[str(p.relative_to(ROOT / 'nbs')) for p in NOTEBOOKS])
def test_notebook(nb, forced_flags, capsys):
    os.chdir(ROOT)
    skip = get_config().get('tst_flags', '').split()
    ok, secs = run_notebook(nb, skip_flags=skip, force_flags=forced_flags, showerr=True)
    assert ok, f'{nb.name} failed (traceback above)'
