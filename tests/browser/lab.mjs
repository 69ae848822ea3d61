// Open a notebook in JupyterLab, run all cells, move a slider, and check that the widget's output image changed.
// Prints one JSON line: {ok, before, after, errors, seconds}; screenshots <out>-before.png and <out>-after.png.
import { launch, args } from './common.mjs';

const a = args();
const t0 = Date.now();
const result = { notebook: a.notebook, ok: false, errors: [] };
const browser = await launch();
let page;
try {
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', e => result.errors.push('page error: ' + e.message));
  // a workspace of its own, reset: no tabs restored from an earlier notebook's session
  const ws = a.notebook.replace(/\W/g, '-');
  await page.goto(`${a.url}/lab/workspaces/${ws}/tree/${a.notebook}?token=${a.token}&reset`, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.shell.currentWidget &&
    window.jupyterapp.shell.currentWidget.sessionContext, null, { timeout: 120000 });
  await page.waitForFunction(() => {  // the kernel is up
    const k = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel;
    return k && k.status === 'idle';
  }, null, { timeout: 120000 });
  await page.evaluate(() => window.jupyterapp.commands.execute('notebook:run-all-cells'));
  // the "get notified about Jupyter news?" toast covers the outputs in screenshots: answer it when it shows
  page.locator('.jp-toast-button', { hasText: 'No' }).click({ timeout: 15000 }).catch(() => {});
  const panel = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');  // the visible notebook only
  const slider = panel.locator('.widget-hslider', { hasText: a.slider }).first();
  await slider.waitFor({ timeout: +(a.timeout || 300) * 1000 });
  const image = panel.locator('.widget-output img').first();
  await image.waitFor({ timeout: +(a.timeout || 300) * 1000 });
  await page.waitForFunction(() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle',
    null, { timeout: +(a.timeout || 300) * 1000 });
  // every image the widgets show, in order: the slider must change at least one of them
  const images = () => panel.locator('.widget-output img').evaluateAll(els => els.map(e => e.getAttribute('src')).join('|'));
  const before = await images();
  result.before = before.length;
  await slider.scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${a.out}-before.png` });
  const handle = slider.locator('.noUi-handle').first();
  await handle.focus();
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(([old]) => {
    const now = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .widget-output img')].map(e => e.getAttribute('src')).join('|');
    return now !== old && !now.includes('undefined');
  }, [before], { timeout: 120000 });
  await page.waitForTimeout(1000);
  const after = await images();
  result.after = after.length;
  result.changed = after !== before;
  result.readout = await slider.locator('.widget-readout').first().innerText();
  const tracebacks = await panel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], .jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]').allInnerTexts();
  result.errors.push(...tracebacks.filter(t => /Traceback|Error/.test(t)).map(t => t.slice(0, 500)));
  await page.screenshot({ path: `${a.out}-after.png` });
  result.ok = result.changed && result.errors.length === 0;
} catch (e) {
  result.errors.push(String(e).slice(0, 1000));
  if (page) await page.screenshot({ path: `${a.out}-failed.png` }).catch(() => {});
} finally {
  result.seconds = (Date.now() - t0) / 1000;
  await browser.close();
  console.log(JSON.stringify(result));
}
