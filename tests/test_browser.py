"""The explore notebooks in a real JupyterLab in a real browser (Debian's chromium driven by playwright-core), and
every documentation page rendered in it. Screenshots go to runs/screens/ (look at them)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rvm_nb.distributed import free_port

ROOT = Path(__file__).resolve().parents[1]
BROWSER = ROOT / 'tests' / 'browser'
SCREENS = ROOT / 'runs' / 'screens'
# each notebook's app, driven as a user would: (widget, label[, option index], pictures that must redraw)
EXPLORE = {
    'explore_data.ipynb': [{'widget': 'hslider', 'label': 'frame'},
                           {'widget': 'checkbox', 'label': 'horizontal flip', 'redraws': 2, 'shot': True},
                           {'widget': 'dropdown', 'label': 'dataset', 'index': 2, 'redraws': 2}],
    'explore_predictions.ipynb': [{'widget': 'hslider', 'label': 'frame'},
                                  {'widget': 'dropdown', 'label': 'clip', 'index': 'next', 'busy': 'computing'},
                                  {'widget': 'dropdown', 'label': 'compare with', 'index': 2, 'shot': True},
                                  {'widget': 'dropdown', 'label': 'weights', 'index': 'next'},
                                  {'widget': 'dropdown', 'label': 'error scale', 'index': 0}],
    'explore_metrics.ipynb': [{'widget': 'dropdown', 'label': 'metric', 'index': 1, 'redraws': 3},
                              {'widget': 'dropdown', 'label': 'clip', 'index': 'next', 'redraws': 2},
                              {'widget': 'hslider', 'label': 'frames'}],
}
PICTURES = {'explore_data.ipynb': 2, 'explore_predictions.ipynb': 1, 'explore_metrics.ipynb': 3}


def _require_tools():
    missing = [what for what, ok in (('chromium', shutil.which('chromium') or os.environ.get('CHROMIUM')),
                                     ('node', shutil.which('node')),
                                     ('playwright-core', (BROWSER / 'node_modules' / 'playwright-core').is_dir())) if not ok]
    assert not missing, f'browser tests need {missing}: run bash tools/install_browser.sh'


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 with a token, serving copies of the explore notebooks (Lab saves what it runs)."""
    _require_tools()
    root = tmp_path_factory.mktemp('lab')
    for name in EXPLORE: shutil.copy(ROOT / 'nbs' / name, root / name)
    port, token = free_port(), 'rvm-nb-test-token'
    env = {k: v for k, v in os.environ.items() if k != 'MPLBACKEND'}  # kernels draw with the inline backend
    env['RVM_NB_RUNS'] = str(root / 'runs')
    log = open(root / 'lab.log', 'w')
    proc = subprocess.Popen([str(Path(sys.executable).parent / 'jupyter'), 'lab', '--no-browser', '--allow-root', '--ip', '127.0.0.1',
                             '--port', str(port), f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}',
                             '--LabApp.expose_app_in_browser=True', '--LabApp.news_url=None'],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f'http://127.0.0.1:{port}'
    deadline = time.time() + 90
    while True:
        try:
            if urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=2).status == 200: break
        except OSError: pass
        assert proc.poll() is None and time.time() < deadline, (root / 'lab.log').read_text()[-3000:]
        time.sleep(0.5)
    yield {'url': url, 'token': token, 'root': root}
    os.killpg(proc.pid, signal.SIGTERM)
    try: proc.wait(timeout=20)
    except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize('notebook', list(EXPLORE))
def test_explore_app_redraws_what_the_user_changes(lab, notebook):
    SCREENS.mkdir(parents=True, exist_ok=True)
    out = SCREENS / notebook.replace('.ipynb', '')
    r = subprocess.run(['node', 'lab.mjs', '--url', lab['url'], '--token', lab['token'], '--notebook', notebook,
                        '--actions', json.dumps(EXPLORE[notebook]), '--out', str(out)], cwd=BROWSER, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result['ok'], result
    assert result['images'] == PICTURES[notebook], result
    assert min(result['widths']) > 600, result  # readable: pictures drawn at the notebook's width, not thumbnails
    for k in range(len(EXPLORE[notebook]) + 1): assert Path(f'{out}-{k}.png').stat().st_size > 10_000
    if notebook == 'explore_predictions.ipynb':  # it opens on weights that work, and compares two on the same clip and frame
        assert result['selected'][0].replace('\xa0', ' ') == "rvm_mobilenetv3 (RVM's published weights)", result['selected']
        assert result['steps'][1]['sawBusy'] and '2 weights side by side' in result['steps'][2]['status'], result['steps']


def test_docs_pages_render_with_their_api(docs_site):
    _require_tools()
    dest = docs_site[0]  # built by `rvm-docs` (tests/conftest.py), as the docs tests read it
    pages = sorted(p.name for p in dest.glob('*.html'))
    (SCREENS / 'docs').mkdir(parents=True, exist_ok=True)
    r = subprocess.run(['node', 'docs.mjs', '--dir', str(dest), '--pages', ','.join(pages), '--out', str(SCREENS / 'docs'), '--query', 'resume'],
                       cwd=BROWSER, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    seen = {d['page']: d for d in map(json.loads, r.stdout.strip().splitlines())}
    assert sorted(seen) == pages and 'index.html' in seen
    for name, d in seen.items():
        assert not d['errors'], (name, d['errors'])
        assert d['title'] and d['headings'], name
        nav, here, h1 = (d['layout'][k] for k in ('nav', 'here', 'h1'))
        assert nav and here and h1, (name, d['layout'])
        assert 0 <= here['y'] and here['y'] + here['height'] <= 900, (name, 'the current page is out of the sidebar\'s view', here)
        assert h1['x'] >= nav['x'] + nav['width'], (name, 'the title lies under the sidebar', nav, h1)
        looks = d['looks']
        assert looks['search'] and looks['results'], (name, 'a search box that finds pages', looks)
        assert looks['toc'] >= looks['h2'] or looks['h2'] < 2, (name, 'an on-page contents list', looks)
        assert looks['boxed'] == looks['pres'], (name, 'shell and JSON blocks in a box that scrolls', looks)
        assert looks['scrolling'] == looks['code'] and looks['widest'] <= looks['viewport'], (name, 'code cells scroll inside the page', looks)
        assert '/tmp/pytest-of-' not in d['text'], (name, 'a temporary path on the page')
    import importlib
    for page in pages:  # module pages show their API: every exported name is visible text
        module = page.removesuffix('.html')
        try: mod = importlib.import_module(f'rvm_nb.{module}')
        except ImportError: continue
        missing = [n for n in getattr(mod, '__all__', []) if n not in seen[page]['text']]
        assert not missing, (page, missing)
    assert 'The flow of data' in seen['index.html']['text']
