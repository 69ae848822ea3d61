// Render documentation pages in headless chromium; for each: title, visible text, console and page errors, a screenshot.
// Usage: node docs.mjs --dir _docs --pages a.html,b.html --out runs/screens/docs. Prints one JSON line per page.
import { launch, args } from './common.mjs';
import path from 'node:path';

const a = args();
const browser = await launch();
try {
  for (const name of a.pages.split(',')) {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors = [];
    page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', e => errors.push(e.message));
    page.on('requestfailed', r => errors.push('request failed: ' + r.url()));
    await page.goto('file://' + path.resolve(a.dir, name), { waitUntil: 'load' });
    const text = await page.locator('body').innerText();
    const headings = await page.locator('h1, h2, h3, h4').allInnerTexts();
    // where the sidebar, its current page's link and the page title are drawn (CSS pixels in the viewport)
    const layout = await page.evaluate(() => {
      const box = s => { const e = document.querySelector(s); if (!e) return null; const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; };
      return { nav: box('.rvm-nav'), here: box('.rvm-nav a.here'), h1: box('h1') };
    });
    // what a reader of nbdev or fastai docs expects: a search box that answers, the page's contents, code in boxes that scroll
    const looks = await page.evaluate(() => {
      const css = e => getComputedStyle(e);
      const pres = [...document.querySelectorAll('.jp-RenderedHTMLCommon pre')];
      const code = [...document.querySelectorAll('.jp-InputArea-editor')];
      return { search: !!document.querySelector('input.rvm-search'), toc: document.querySelectorAll('.rvm-toc a').length,
               h2: document.querySelectorAll('main h2[id], body > h2[id]').length,
               boxed: pres.filter(e => css(e).backgroundColor !== 'rgba(0, 0, 0, 0)' && ['auto', 'scroll'].includes(css(e).overflowX)).length,
               pres: pres.length, scrolling: code.filter(e => ['auto', 'scroll'].includes(css(e).overflowX)).length, code: code.length,
               widest: Math.max(0, ...code.map(e => e.getBoundingClientRect().right)), viewport: innerWidth };
    });
    if (a.query) {  // type into the search box as a reader would
      await page.fill('input.rvm-search', a.query);
      looks.results = await page.locator('.rvm-results a').evaluateAll(as => as.map(x => x.getAttribute('href')));
    }
    await page.screenshot({ path: `${a.out}/${name.replace(/\.html$/, '')}.png` });
    console.log(JSON.stringify({ page: name, title: await page.title(), text, headings, errors, layout, looks }));
    await page.close();
  }
} finally {
  await browser.close();
}
