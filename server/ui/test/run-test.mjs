// Headless-browser test of server/ui/index.html against mock-server.mjs.
// Usage: node run-test.mjs (runs `npm install` here if playwright-core is missing)   (screenshots go to $UI_SHOTS or /tmp/ui-shots)
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createMock } from './mock-server.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(CHROMIUM)) { console.log(`SKIP: ${CHROMIUM} not found (apt-get install -y chromium)`); process.exit(0); }
let chromium;
try { ({ chromium } = await import('playwright-core')); } catch {
  const here = new URL('.', import.meta.url).pathname;
  console.log('installing playwright-core (npm install) ...');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit' });
  try { ({ chromium } = await import('playwright-core')); } catch { console.log(`SKIP: playwright-core unavailable (npm exit ${r.status})`); process.exit(0); }
}

const shots = process.env.UI_SHOTS || '/tmp/ui-shots';
fs.mkdirSync(shots, { recursive: true });
const mock = createMock();
const port = await mock.listen();
const base = `http://127.0.0.1:${port}`;
const ctl = (p, body) => fetch(base + p, { method: 'POST', body: body ? JSON.stringify(body) : undefined }).then((r) => r.json());
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
let failures = 0;
const check = async (name, fn) => {
  try { await fn(); console.log(`ok   ${name}`); } catch (e) { failures++; console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`); }
};
const assert = (c, msg) => { if (!c) throw new Error(msg); };

try {
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await ctx.newPage();
  const dialogs = [];
  const pageErrors = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const externals = [];
  page.on('request', (r) => { if (!r.url().startsWith(base)) externals.push(r.url()); });

  await check('pool list renders sorted rows', async () => {
    await page.goto(base + '/ui');
    await page.waitForSelector('#pools .pool-row');
    const names = await page.$$eval('#pools .pool-row .pool-name', (e) => e.map((x) => x.textContent));
    assert(JSON.stringify(names) === JSON.stringify(['alpha', 'beta', 'broken', 'gamma-logs']), 'names ' + names);
    assert((await page.textContent('body')).includes('Plasmite UI'), 'title text');
    const alphaRow = await page.textContent('#pools .pool-row:first-child');
    assert(/250|2\d\d/.test(alphaRow) && /%/.test(alphaRow) && /MB/.test(alphaRow), 'alpha row: ' + alphaRow);
    assert((await page.textContent('#pools')).includes('invalid pool header magic'), 'error entry shown');
    await page.screenshot({ path: `${shots}/list-light.png`, fullPage: true });
  });

  await check('pool list refreshes', async () => {
    const before = await page.textContent('#pools .pool-row:first-child td:nth-child(2)');
    await page.waitForFunction((b) => document.querySelector('#pools .pool-row td:nth-child(2)').textContent !== b, before, { timeout: 5000 });
  });

  await check('click row opens pool view with ~200 backlog messages', async () => {
    await page.click('#pools .pool-row:first-child td:nth-child(3)');
    await page.waitForURL('**/ui/pools/alpha');
    await page.waitForSelector('#messages .msg');
    await page.waitForFunction(() => document.querySelectorAll('#messages .msg').length >= 200);
    const first = await page.$eval('#messages .msg', (e) => Number(e.dataset.seq));
    const infoReq = mock.log.filter((l) => l.path.endsWith('/events')).pop();
    assert(/since_seq=\d+/.test(infoReq.query), 'since_seq used: ' + infoReq.query);
    const since = Number(infoReq.query.match(/since_seq=(\d+)/)[1]);
    assert(first === since, `first row seq ${first} == since_seq ${since}`);
    await page.waitForFunction(() => document.getElementById('status').textContent === 'live');
  });

  await check('streamed message appears within 1 s', async () => {
    const { last } = await ctl('/__mock/poke?pool=alpha', { data: { hello: 'from test', n: 42, s: 'a,b:c "q"' }, tags: ['probe'] });
    const t0 = Date.now();
    await page.waitForSelector(`#messages .msg[data-seq="${last.seq}"]`, { timeout: 1000 });
    const row = await page.$(`#messages .msg[data-seq="${last.seq}"]`);
    assert((await row.$eval('.tag', (e) => e.textContent)) === 'probe', 'tag chip');
    const shown = await row.$eval('.data', (e) => e.textContent);
    assert(shown.includes('"hello": "from test"') && shown.includes(String.raw`"a,b:c \"q\""`), 'data text: ' + shown);
    assert(await row.isVisible(), 'auto-scrolled into view');
    console.log(`     (appeared after ${Date.now() - t0} ms)`);
  });

  await check('ticks keep streaming (mock emits every 300 ms)', async () => {
    const n0 = await page.$$eval('#messages .msg', (e) => e.length);
    await page.waitForTimeout(1000);
    const n1 = await page.$$eval('#messages .msg', (e) => e.length);
    assert(n1 - n0 >= 2, `${n0} -> ${n1}`);
  });

  await check('HTML in data and tags is rendered as text', async () => {
    const evil = '<img src=x onerror=alert(1)>';
    const { last } = await ctl('/__mock/poke?pool=alpha', { data: { html: evil, '<b>k</b>': '<script>alert(2)</script>' }, tags: ['xss-test', '<img src=y onerror=alert(3)>'] });
    await page.waitForSelector(`#messages .msg[data-seq="${last.seq}"]`, { timeout: 1000 });
    await page.waitForTimeout(300);
    assert((await page.$$('img')).length === 0, 'no img element');
    assert((await page.$$('#messages script, #messages b')).length === 0, 'no injected elements');
    const txt = await page.textContent(`#messages .msg[data-seq="${last.seq}"]`);
    assert(txt.includes('onerror=alert(1)'), 'shown literally');
    assert(dialogs.length === 0, 'dialogs: ' + dialogs);
  });

  await check('collapsible JSON: one line, click to expand, click to collapse', async () => {
    const d = page.locator('#messages .msg .data').first();
    await d.scrollIntoViewIfNeeded();
    assert(!(await d.textContent()).includes('\n'), 'collapsed is one line');
    await d.click();
    assert((await d.getAttribute('aria-expanded')) === 'true', 'expanded');
    assert((await d.textContent()).includes('\n  '), 'pretty printed');
    await page.screenshot({ path: `${shots}/pool-expanded.png` });
    await d.click();
    assert((await d.getAttribute('aria-expanded')) === 'false', 'collapsed again');
    await d.focus(); await page.keyboard.press('Enter');
    assert((await d.getAttribute('aria-expanded')) === 'true', 'keyboard expand');
    await page.keyboard.press('Enter');
  });

  await check('relative time with absolute time on hover', async () => {
    const t = page.locator('#messages .msg .time').last();
    assert(/just now|\d+s ago/.test(await t.textContent()), await t.textContent());
    assert(/^\d{4}-\d\d-\d\dT/.test(await t.getAttribute('title')), 'title ISO');
    const old = await page.locator('#messages .msg .time').first().textContent();
    assert(/m ago|h ago/.test(old), 'old backlog: ' + old);
  });

  await check('filter by substring and by tag', async () => {
    const visible = () => page.$$eval('#messages .msg', (e) => e.filter((x) => x.offsetParent !== null).length);
    await page.fill('#filter', 'onerror');
    assert((await visible()) === 1, 'substring: ' + (await visible()));
    await page.fill('#filter', 'tag:xss-test');
    assert((await visible()) === 1, 'tag');
    await page.fill('#filter', 'tag:probe');
    assert((await visible()) === 1, 'tag probe');
    await page.fill('#filter', 'tag:warn');
    const w = await visible();
    assert(w > 10, 'tag warn ' + w);
    // live messages are filtered too
    const { last } = await ctl('/__mock/poke?pool=alpha', { data: { x: 1 }, tags: ['nope'] });
    await page.waitForSelector(`#messages .msg[data-seq="${last.seq}"]`, { state: 'attached' });
    assert(!(await page.isVisible(`#messages .msg[data-seq="${last.seq}"]`)), 'live row hidden by filter');
    await page.screenshot({ path: `${shots}/pool-filtered.png` });
    await page.fill('#filter', 'nomatch-zzz');
    assert((await visible()) === 0, 'none');
    assert(await page.isVisible('#no-msgs'), 'no-match notice');
    await page.fill('#filter', '');
    assert((await visible()) > 200, 'cleared');
  });

  await check('screenshot pool view light', async () => {
    await page.waitForTimeout(1200);
    await page.screenshot({ path: `${shots}/pool-light.png` });
  });

  await check('reconnects after drop, resumes from last seq without duplicates', async () => {
    const before = mock.log.filter((l) => l.path.endsWith('/events')).length;
    await ctl('/__mock/drop');
    await page.waitForFunction(() => /reconnect/.test(document.getElementById('status').textContent), null, { timeout: 2000 });
    await page.waitForFunction(() => document.getElementById('status').textContent === 'live', null, { timeout: 5000 });
    const evs = mock.log.filter((l) => l.path.endsWith('/events'));
    assert(evs.length === before + 1, 'one reconnect');
    const lastShown = await page.$eval('#messages .msg:last-child', (e) => Number(e.dataset.seq));
    assert(Number(evs.at(-1).query.match(/since_seq=(\d+)/)[1]) <= lastShown + 1, 'resumed since_seq');
    await page.waitForTimeout(700);
    const seqs = await page.$$eval('#messages .msg', (e) => e.map((x) => Number(x.dataset.seq)));
    assert(new Set(seqs).size === seqs.length, 'no duplicates');
    for (let i = 1; i < seqs.length; i++) assert(seqs[i] === seqs[i - 1] + 1, `gap at ${seqs[i - 1]}->${seqs[i]}`);
  });

  await check('clean end of stream resumes quietly', async () => {
    const before = mock.log.filter((l) => l.path.endsWith('/events')).length;
    await ctl('/__mock/end');
    await page.waitForTimeout(600);
    assert(mock.log.filter((l) => l.path.endsWith('/events')).length === before + 1, 'reconnected once');
    assert((await page.textContent('#status')) === 'live', 'status live');
    const { last } = await ctl('/__mock/poke?pool=alpha', { data: { after: 'end' } });
    await page.waitForSelector(`#messages .msg[data-seq="${last.seq}"]`, { timeout: 1000 });
    const seqs = await page.$$eval('#messages .msg', (e) => e.map((x) => Number(x.dataset.seq)));
    assert(new Set(seqs).size === seqs.length, 'no duplicates');
  });

  await check('keeps at most 2000 rows', async () => {
    const batch = Array.from({ length: 2100 }, (_, i) => ({ data: { bulk: i }, tags: ['bulk'] }));
    const { last } = await ctl('/__mock/poke?pool=alpha', batch);
    await page.waitForSelector(`#messages .msg[data-seq="${last.seq}"]`, { timeout: 5000 });
    const n = await page.$$eval('#messages .msg', (e) => e.length);
    assert(n <= 2000 && n >= 1990, 'rows ' + n);
  });

  await check('dark mode screenshot', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${shots}/pool-dark.png` });
    await page.goto(base + '/ui');
    await page.waitForSelector('#pools .pool-row');
    await page.screenshot({ path: `${shots}/list-dark.png` });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  await check('empty pool view streams from the start', async () => {
    await page.goto(base + '/ui/pools/beta');
    await page.waitForSelector('#no-msgs:not(.hidden)');
    const ev = mock.log.filter((l) => l.path.endsWith('/events')).at(-1);
    assert(ev.path.includes('/beta/') && !ev.query.includes('since_seq'), 'no since_seq: ' + ev.query);
    await page.waitForFunction(() => document.getElementById('status').textContent === 'live', null, { timeout: 2000 });
    await page.screenshot({ path: `${shots}/pool-empty.png` });
    const { last } = await ctl('/__mock/poke?pool=beta', { data: { first: true }, tags: ['hello'] });
    assert(last.seq === 1, 'seq 1');
    await page.waitForSelector('#messages .msg[data-seq="1"]', { timeout: 1000 });
    assert(await page.isHidden('#no-msgs'), 'empty notice hidden');
  });

  await check('unknown pool shows not-found notice', async () => {
    await page.goto(base + '/ui/pools/nope');
    await page.waitForSelector('#notice:not(.hidden)');
    assert(/not found/i.test(await page.textContent('#notice')), await page.textContent('#notice'));
    assert(await page.isHidden('#no-msgs'), 'no "waiting" text for a missing pool');
    await page.screenshot({ path: `${shots}/pool-missing.png` });
  });

  await check('401 shows token prompt; token sent as Bearer header; sessionStorage only', async () => {
    await ctl('/__mock/auth?token=s3cret');
    const p2 = await ctx.newPage();
    p2.on('pageerror', (e) => pageErrors.push(e.message));
    await p2.goto(base + '/ui');
    await p2.waitForSelector('#token', { state: 'visible' });
    assert((await p2.textContent('#auth')).includes('Authentication required'), 'auth message');
    assert(await p2.evaluate(() => document.activeElement.id === 'token'), 'token input focused');
    assert((await p2.getAttribute('#token', 'type')) === 'password', 'password input');
    await p2.screenshot({ path: `${shots}/token-prompt.png` });
    await p2.fill('#token', 'wrong');
    await p2.press('#token', 'Enter');
    await p2.waitForFunction(() => /rejected/.test(document.getElementById('auth-msg').textContent));
    await p2.fill('#token', 's3cret');
    await p2.click('#auth button');
    await p2.waitForSelector('#pools .pool-row');
    assert(!(await p2.isVisible('#token')), 'prompt hidden');
    assert(mock.log.at(-1).auth === 'Bearer s3cret', 'bearer header sent');
    assert((await p2.evaluate(() => sessionStorage.getItem('plasmite.token'))) === 's3cret', 'in sessionStorage');
    assert((await p2.evaluate(() => localStorage.length)) === 0, 'nothing in localStorage');
    await p2.click('#pools .pool-row:first-child .pool-name a');
    await p2.waitForSelector('#messages .msg');
    const { last } = await ctl('/__mock/poke?pool=alpha', { data: { authed: true }, tags: ['probe'] });
    await p2.waitForSelector(`#messages .msg[data-seq="${last.seq}"]`, { timeout: 1000 });
    const ev = mock.log.filter((l) => l.path.endsWith('/events')).at(-1);
    assert(ev.auth === 'Bearer s3cret', 'stream authenticated with header');
    await p2.close();
  });

  await check('401 on pool view; ?token= on page URL is accepted and stripped', async () => {
    const p3 = await ctx.newPage();
    await p3.goto(base + '/ui/pools/alpha');
    await p3.waitForSelector('#token', { state: 'visible' });
    await p3.goto(base + '/ui/pools/alpha?token=s3cret&n=50');
    await p3.waitForSelector('#messages .msg');
    assert(!p3.url().includes('token='), 'token stripped from URL: ' + p3.url());
    await p3.waitForTimeout(200);
    const n = await p3.$$eval('#messages .msg', (e) => e.length);
    assert(n >= 50 && n < 60, 'n=50 honoured: ' + n);
    await p3.close();
    await ctl('/__mock/auth?token=');
  });

  await check('narrow viewport screenshot', async () => {
    const p4 = await browser.newPage({ viewport: { width: 420, height: 800 } });
    await p4.goto(base + '/ui/pools/alpha');
    await p4.waitForSelector('#messages .msg');
    await p4.waitForTimeout(400);
    await p4.screenshot({ path: `${shots}/pool-narrow.png` });
    await p4.goto(base + '/ui');
    await p4.waitForSelector('#pools .pool-row');
    await p4.screenshot({ path: `${shots}/list-narrow.png` });
    await p4.close();
  });

  await check('no page errors and no external requests', async () => {
    assert(pageErrors.length === 0, 'errors: ' + pageErrors.join('; '));
    assert(externals.length === 0, 'external: ' + externals.join(', '));
  });
} finally {
  await browser.close();
  mock.close();
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed', `— screenshots in ${shots}`);
process.exit(failures ? 1 : 0);
