"""The exported package and the cleaned notebooks must be exactly what is committed.

Both checks run nbdev on a scratch copy of the project so the working tree is never modified."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _copy_project(dst: Path) -> Path:
    for name in ('settings.ini', 'setup.py'):
        shutil.copy2(ROOT / name, dst / name)
    for name in ('nbs', 'rvm_nb'):
        shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints'))
    return dst


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob('*'))
            if p.is_file() and '__pycache__' not in p.parts and p.suffix in ('.py', '.ipynb')}


def _changed(before: dict, after: dict) -> list:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


@pytest.mark.parametrize('command,folder', [('nbdev_export', 'rvm_nb'), ('nbdev_clean', 'nbs')])
def test_nbdev_command_changes_nothing(tmp_path, command, folder):
    proj = _copy_project(tmp_path)
    before = _snapshot(proj / folder)
    subprocess.run([str(BIN / command)], cwd=proj, check=True, capture_output=True)
    changed = _changed(before, _snapshot(proj / folder))
    assert not changed, f'`{command}` would change {changed}: run it and commit the result'


def test_export_twice_is_stable(tmp_path):
    proj = _copy_project(tmp_path)
    subprocess.run([str(BIN / 'nbdev_export')], cwd=proj, check=True, capture_output=True)
    once = _snapshot(proj / 'rvm_nb')
    subprocess.run([str(BIN / 'nbdev_export')], cwd=proj, check=True, capture_output=True)
    assert not _changed(once, _snapshot(proj / 'rvm_nb'))


def test_parameters_tag_survives_clean(tmp_path):
    """papermill finds its parameters by this cell tag; nbdev_clean must keep it (settings.ini)."""
    import nbformat
    proj = _copy_project(tmp_path)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('stage = 1', metadata={'tags': ['parameters'], 'scrolled': True})])
    nbformat.write(nb, proj / 'nbs' / '_tagged.ipynb')
    subprocess.run([str(BIN / 'nbdev_clean'), '--fname', 'nbs/_tagged.ipynb'], cwd=proj, check=True, capture_output=True)
    meta = nbformat.read(proj / 'nbs' / '_tagged.ipynb', as_version=4).cells[0].metadata
    assert meta == {'tags': ['parameters']}


def test_notebooks_saved_from_jupyterlab_are_cleaned_and_merged_by_nbdev():
    """tools/install.sh runs nbdev_install_hooks: git merges notebooks with nbdev_merge (.gitattributes, .gitconfig, both committed)."""
    assert '*.ipynb merge=nbdev-merge' in (ROOT / '.gitattributes').read_text()
    assert 'driver = nbdev_merge' in (ROOT / '.gitconfig').read_text()
    assert 'nbdev_install_hooks' in (ROOT / 'tools' / 'install.sh').read_text()
