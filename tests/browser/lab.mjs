// Open a notebook in JupyterLab, run all cells, then act on its app as a user would: each action (move a slider,
// pick a dropdown option, tick a checkbox) must redraw at least `redraws` of the app's pictures, leave every picture
// loaded and the status line free of errors. Prints one JSON line: {ok, images, steps: [{action, changed, ...}], errors,
// seconds}; screenshots <out>-0.png (after the run) and <out>-<k>.png after action k.
import { launch, args } from './common.mjs';

const a = args();
const actions = JSON.parse(a.actions || '[]');
const wait = +(a.timeout || 300) * 1000;
const t0 = Date.now();
const result = { notebook: a.notebook, ok: false, errors: [], steps: [] };
const browser = await launch();
let page;
const visible = '.jp-NotebookPanel:not(.lm-mod-hidden)';
const pictures = () => page.evaluate(sel => [...document.querySelectorAll(sel + ' .widget-image')]
  .map(e => ({ src: e.getAttribute('src') || '', w: e.naturalWidth, shown: e.getBoundingClientRect().width })), visible);
const idle = () => page.waitForFunction(() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle',
  null, { timeout: wait });
const appShot = async () => {  // the app alone, for the docs (nbs/images/): a window taller than it, so nothing of JupyterLab shows
  const app = page.locator(visible).locator('.jp-OutputArea-output .widget-vbox').first();
  const old = page.viewportSize();
  await page.setViewportSize({ width: old.width, height: Math.max(old.height, Math.ceil((await app.boundingBox()).height) + 400) });
  await page.waitForTimeout(800);
  await app.scrollIntoViewIfNeeded();
  await app.screenshot({ path: `${a.out}-app.png` }).catch(e => result.errors.push('app screenshot: ' + e));
  await page.setViewportSize(old);
  await page.waitForTimeout(500);
};
try {
  page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
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
  const panel = page.locator(visible);
  await panel.locator('.widget-image').first().waitFor({ timeout: wait });
  await idle();
  await page.waitForTimeout(1500);
  let before = await pictures();
  result.images = before.length;
  result.selected = await panel.locator('.widget-dropdown select').evaluateAll(ss => ss.map(s => s.options[s.selectedIndex]?.text));
  result.widths = before.map(p => p.shown);
  await panel.locator('.widget-image').first().scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${a.out}-0.png` });
  for (const [k, act] of actions.entries()) {
    const box = panel.locator(`.widget-${act.widget}`, { hasText: act.label }).first();
    await box.scrollIntoViewIfNeeded();
    if (act.widget === 'hslider') {
      await box.locator('.noUi-handle').first().focus();
      await page.keyboard.press('ArrowRight');
    } else if (act.widget === 'dropdown') {
      const select = box.locator('select');  // index 'next': the option after the chosen one (the app may reorder options)
      const index = act.index === 'next' ? await select.evaluate(e => (e.selectedIndex + 1) % e.options.length) : act.index;
      await select.selectOption({ index });
    } else if (act.widget === 'checkbox') {
      await box.locator('input').check();
    } else throw new Error('unknown action ' + JSON.stringify(act));
    let sawBusy = null;  // act.busy: text the status line must show while the app computes (a busy indicator)
    if (act.busy) sawBusy = await page.waitForFunction(([sel, text]) => [...document.querySelectorAll(sel + ' .widget-html .rvm-busy')]
      .some(e => e.textContent.includes(text)), [visible, act.busy], { timeout: 60000, polling: 50 }).then(() => true, () => false);
    const need = act.redraws || 1;
    await page.waitForFunction(([sel, old, need]) => {
      const now = [...document.querySelectorAll(sel + ' .widget-image')];
      return now.length === old.length && now.filter((e, i) => e.getAttribute('src') !== old[i]).length >= need &&
        now.every(e => e.complete && e.naturalWidth > 0);
    }, [visible, before.map(p => p.src), need], { timeout: wait });
    await idle();
    await page.waitForTimeout(800);
    const after = await pictures();
    const status = await panel.locator('.widget-html').allInnerTexts();
    const errors = await panel.locator('.widget-html span[style*="b00020"]').allInnerTexts();
    result.steps.push({ action: act, sawBusy, changed: after.filter((p, i) => p.src !== before[i].src).length,
                        blank: after.filter(p => !p.w).length, errors, status: status.join(' | ').slice(0, 300) });
    await page.screenshot({ path: `${a.out}-${k + 1}.png` });
    if (act.shot) await appShot();  // the state the docs show
    before = after;
  }
  if (!actions.some(x => x.shot)) await appShot();
  const tracebacks = await panel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], .jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]').allInnerTexts();
  result.errors.push(...tracebacks.filter(t => /Traceback|Error/.test(t)).map(t => t.slice(0, 500)));
  result.ok = result.errors.length === 0 && result.steps.length === actions.length &&
    result.steps.every(s => s.changed >= (s.action.redraws || 1) && !s.blank && !s.errors.length && s.sawBusy !== false);
} catch (e) {
  result.errors.push(String(e).slice(0, 1000));
  if (page) await page.screenshot({ path: `${a.out}-failed.png` }).catch(() => {});
} finally {
  result.seconds = (Date.now() - t0) / 1000;
  await browser.close();
  console.log(JSON.stringify(result));
}
