// Headless-browser test of the web UI (server/ui/index.html) against the real
// `pls serve`: Debian's chromium driven by playwright-core, pools written by
// real `pls` processes.
//
// Usage: node run-test.mjs   (scripts/test runs it; see docs/testing.md)
//   PLS=path/to/pls       the binary under test (default: target/ci/pls)
//   UI_TEST_OUT=dir       screenshots (default: target/ui-test)
//   CHROMIUM=path         the browser (default: /usr/bin/chromium)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..', '..');
const PLS = process.env.PLS || path.join(repo, 'target', 'ci', 'pls');
const OUT = process.env.UI_TEST_OUT || path.join(repo, 'target', 'ui-test');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TOKEN = 's3cret-ui-token';

if (!fs.existsSync(PLS)) {
  console.log(`FAIL: ${PLS} not found (build it: cargo build --profile ci -p plasmite-cli --bins)`);
  process.exit(1);
}
fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(OUT, { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-ui-test-'));
const poolDir = path.join(tmp, 'pools');
const env = { PATH: process.env.PATH || '/usr/bin:/bin', HOME: tmp, PLASMITE_DIR: poolDir };
// Servers still running and directories to remove when this process ends,
// however it ends (a crash must not leave a `pls serve` behind).
const servers = new Set();
const cleanup = [tmp];
process.on('exit', () => {
  for (const c of servers) { try { c.kill('SIGTERM'); } catch { /* gone */ } }
  for (const d of cleanup) fs.rmSync(d, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));
// Nothing here should take long; a hang fails the run instead of stalling CI.
const watchdog = setTimeout(() => { console.log('FAIL: the UI test did not finish within 240 s'); process.exit(1); }, 240_000);

/** Runs `pls ARGS` with optional stdin; resolves to {code, stdout, stderr}. */
function pls(args, input) {
  return new Promise((resolve, reject) => {
    const p = spawn(PLS, args, { env, stdio: [input == null ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`pls ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
      else resolve({ code, stdout, stderr });
    });
    if (input != null) { p.stdin.on('error', () => {}); p.stdin.end(input); }
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Starts `pls serve` on a free (or the given) loopback port; waits for /healthz. */
async function startServer(extra, port) {
  port = port || await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(PLS, ['serve', '--bind', `127.0.0.1:${port}`, ...extra], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  servers.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', () => { servers.delete(child); resolve(); }));
  const t0 = Date.now();
  for (;;) {
    try { if ((await fetch(base + '/healthz')).ok) break; } catch { /* not up yet */ }
    if (child.exitCode !== null || Date.now() - t0 > 10_000) throw new Error(`pls serve did not start: ${stderr.trim()}`);
    await sleep(30);
  }
  return {
    port, base,
    async stop() { if (child.exitCode === null) { child.kill('SIGTERM'); await exited; } },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const jsonl = (rows) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

// Pools: alpha (250 messages), beta (empty), gamma-logs (40), and a file
// that is not a pool at all, which the list must show as an error.
await pls(['pool', 'create', 'alpha', 'beta', 'gamma-logs']);
const levels = ['info', 'debug', 'warn', 'error'];
for (const lvl of levels) {
  const rows = [];
  for (let i = 1; i <= 250; i++) if (i % 4 === levels.indexOf(lvl)) rows.push({ msg: `boot step ${i}`, i, nested: { ok: i % 2 === 0, list: [1, 2, 3] } });
  await pls(['poke', 'alpha', '--tag', 'boot', '--tag', lvl], jsonl(rows));
}
await pls(['poke', 'gamma-logs'], jsonl(Array.from({ length: 40 }, (_, i) => ({ line: `log line ${i + 1}` }))));
fs.writeFileSync(path.join(poolDir, 'broken.plasmite'), Buffer.alloc(4096, 0x5a));

// Streams end after 2 s without a message, so the test sees the UI resume them.
const serveArgs = ['--max-tail-timeout-ms', '2000'];
let server = await startServer(serveArgs);
const base = server.base;
const authed = await startServer([...serveArgs, '--token', TOKEN]);
const bases = [base, authed.base];

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-ui-chromium-'));
cleanup.push(userDataDir);
const ctx = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 1200, height: 800 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
// Every page records when each message row enters the DOM (wall clock, like
// this script's), so latency is measured from before `pls poke` starts to
// the moment the row exists.
await ctx.addInitScript(() => {
  window.__seen = {};
  document.addEventListener('DOMContentLoaded', () => {
    const list = document.getElementById('messages');
    if (!list) return;
    new MutationObserver((recs) => {
      const now = Date.now();
      for (const r of recs) for (const n of r.addedNodes) if (n.dataset && n.dataset.seq && !window.__seen[n.dataset.seq]) window.__seen[n.dataset.seq] = now;
    }).observe(list, { childList: true });
  });
});
const requests = [];
const externals = [];
const pageErrors = [];
const dialogs = [];
const watch = (p) => {
  p.on('request', (r) => {
    if (!bases.some((b) => r.url().startsWith(b))) externals.push(r.url());
    else requests.push({ url: r.url(), auth: r.headers().authorization });
  });
  p.on('pageerror', (e) => pageErrors.push(e.message));
  p.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
};
ctx.on('page', watch);

let failures = 0;
const check = async (name, fn) => {
  try { await fn(); console.log(`ok   ${name}`); } catch (e) { failures++; console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`); }
};
const assert = (c, msg) => { if (!c) throw new Error(msg); };
const events = () => requests.filter((r) => /\/events(\?|$)/.test(r.url));
const latencies = [];

/** Pokes from a real `pls` process; waits (≤ 1 s from before the spawn) for the row. */
async function pokeAndSee(page, pool, data, tags = [], url = pool) {
  const t0 = Date.now();
  const r = await pls(['poke', url, JSON.stringify(data), ...tags.flatMap((t) => ['--tag', t])]);
  const { seq } = JSON.parse(r.stdout);
  await page.waitForFunction((s) => window.__seen[s], seq, { timeout: Math.max(1, 1000 - (Date.now() - t0)) })
    .catch(() => { throw new Error(`message ${seq} not shown within 1 s of the poke`); });
  const ms = (await page.evaluate((s) => window.__seen[s], seq)) - t0;
  latencies.push(ms);
  assert(ms <= 1000, `message ${seq} took ${ms} ms`);
  return { seq, ms };
}

try {
  const page = await ctx.newPage();
  const shot = (name, p = page, full = false) => p.screenshot({ path: path.join(OUT, name), fullPage: full });

  await check('pool list: rows sorted, counts, sizes, % used, the unreadable file as an error', async () => {
    await page.goto(base + '/ui');
    await page.waitForSelector('#pools .pool-row');
    const names = await page.$$eval('#pools .pool-row .pool-name', (e) => e.map((x) => x.textContent));
    assert(JSON.stringify(names) === JSON.stringify(['alpha', 'beta', 'broken', 'gamma-logs']), 'names ' + names);
    const alpha = await page.$$eval('#pools .pool-row:first-child td', (e) => e.map((x) => x.textContent));
    assert(alpha[1] === '250', 'alpha count: ' + alpha);
    assert(/just now|\ds ago/.test(alpha[2]), 'alpha newest: ' + alpha);
    assert(alpha[3] === '1.0 MB', 'alpha size: ' + alpha);
    assert(/^\d+(\.\d)?%$/.test(alpha[4]), 'alpha used: ' + alpha);
    const beta = await page.textContent('#pools .pool-row[data-name="beta"]');
    assert(/empty/.test(beta), 'beta row: ' + beta);
    const broken = await page.textContent('#pools .pool-row[data-name="broken"]');
    assert(/Corrupt/.test(broken), 'broken row: ' + broken);
    await shot('list-light.png', page, true);
  });

  await check('pool list refreshes', async () => {
    const cell = '#pools .pool-row[data-name="gamma-logs"] td:nth-child(2)';
    assert((await page.textContent(cell)) === '40', 'before');
    await pls(['poke', 'gamma-logs', '{"line":"one more"}']);
    await page.waitForFunction((c) => document.querySelector(c).textContent === '41', cell, { timeout: 5000 });
  });

  await check('click a row: pool view with the last 200 messages, live', async () => {
    await page.click('#pools .pool-row:first-child td:nth-child(3)');
    await page.waitForURL('**/ui/pools/alpha');
    await page.waitForFunction(() => document.querySelectorAll('#messages .msg').length >= 200);
    const seqs = await page.$$eval('#messages .msg', (e) => e.map((x) => Number(x.dataset.seq)));
    assert(seqs.length === 200 && seqs[0] === 51 && seqs[199] === 250, `rows ${seqs.length}: ${seqs[0]}..${seqs.at(-1)}`);
    assert(/since_seq=51\b/.test(events().at(-1).url), 'since_seq: ' + events().at(-1).url);
    await page.waitForFunction(() => document.getElementById('status').textContent === 'live');
    const stats = await page.textContent('#stats');
    assert(stats.includes('250') && stats.includes('1 → 250'), 'stats: ' + stats);
  });

  await check('a message poked from the CLI appears within 1 s, tags as chips', async () => {
    for (let i = 0; i < 5; i++) {
      const { seq } = await pokeAndSee(page, 'alpha', { hello: 'from test', n: i, s: 'a,b:c "q"' }, ['probe', 'warn']);
      const row = await page.$(`#messages .msg[data-seq="${seq}"]`);
      const chips = await row.$$eval('.tag', (e) => e.map((x) => [x.tagName, x.textContent, x.className]));
      assert(JSON.stringify(chips.map((c) => c[1])) === '["probe","warn"]', 'chips ' + chips);
      assert(chips.every((c) => c[0] === 'BUTTON') && /t-warn/.test(chips[1][2]), 'chip elements ' + chips);
      const shown = await row.$eval('.data', (e) => e.textContent);
      assert(shown.includes('"hello": "from test"') && shown.includes(String.raw`"a,b:c \"q\""`), 'data text: ' + shown);
      assert(await row.isVisible(), 'scrolled into view');
      await sleep(150);
    }
    console.log(`     latency poke → row: ${latencies.join(', ')} ms (max ${Math.max(...latencies)})`);
  });

  await check('HTML in data and tags is shown as text', async () => {
    const evil = '<img src=x onerror=alert(1)>';
    const { seq } = await pokeAndSee(page, 'alpha', { html: evil, '<b>k</b>': '<script>alert(2)</script>' }, ['xss-test', '<img src=y onerror=alert(3)>']);
    await sleep(300);
    assert((await page.$$('img')).length === 0, 'an img element exists');
    assert((await page.$$('#messages script, #messages b')).length === 0, 'injected elements exist');
    const txt = await page.textContent(`#messages .msg[data-seq="${seq}"]`);
    assert(txt.includes(evil) && txt.includes('<script>alert(2)</script>') && txt.includes('<img src=y onerror=alert(3)>'), 'not shown literally: ' + txt);
    assert(dialogs.length === 0, 'dialogs: ' + dialogs);
  });

  await check('collapsible JSON: one line, click to expand, click to collapse, keyboard', async () => {
    const d = page.locator('#messages .msg .data').first();
    await d.scrollIntoViewIfNeeded();
    assert(!(await d.textContent()).includes('\n'), 'collapsed is one line');
    await d.click();
    assert((await d.getAttribute('aria-expanded')) === 'true', 'expanded');
    assert((await d.textContent()).includes('\n  '), 'pretty printed');
    await shot('pool-expanded.png');
    await d.click();
    assert((await d.getAttribute('aria-expanded')) === 'false', 'collapsed again');
    await d.focus(); await page.keyboard.press('Enter');
    assert((await d.getAttribute('aria-expanded')) === 'true', 'keyboard expand');
    await page.keyboard.press('Enter');
  });

  await check('relative times, absolute time on hover', async () => {
    const t = page.locator('#messages .msg .time').last();
    assert(/just now|\d+s ago/.test(await t.textContent()), await t.textContent());
    assert(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(await t.getAttribute('title')), 'title: ' + (await t.getAttribute('title')));
  });

  await check('filter by text and by tag, live rows filtered too', async () => {
    const visible = () => page.$$eval('#messages .msg', (e) => e.filter((x) => x.offsetParent !== null).length);
    await page.fill('#filter', 'onerror');
    assert((await visible()) === 1, 'text: ' + (await visible()));
    await page.fill('#filter', 'tag:xss-test');
    assert((await visible()) === 1, 'tag');
    await page.fill('#filter', 'tag:probe');
    assert((await visible()) === 5, 'tag probe: ' + (await visible()));
    await page.fill('#filter', 'tag:warn');
    const w = await visible();
    assert(w > 50, 'tag warn ' + w);
    const { seq } = await pokeAndSee(page, 'alpha', { x: 1 }, ['nope']);
    assert(!(await page.isVisible(`#messages .msg[data-seq="${seq}"]`)), 'live row not hidden by the filter');
    assert(/of \d+ shown/.test(await page.textContent('#count')), 'count text');
    await shot('pool-filtered.png');
    await page.fill('#filter', 'nomatch-zzz');
    assert((await visible()) === 0, 'none');
    assert(await page.isVisible('#no-msgs'), 'no-match notice');
    await page.fill('#filter', '');
    assert((await visible()) > 200, 'cleared');
  });

  await check('the server ends an idle stream; the page resumes it quietly', async () => {
    const before = events().length;
    await sleep(2600); // > --max-tail-timeout-ms
    assert(events().length > before, 'no new /events request');
    assert((await page.textContent('#status')) === 'live', 'status ' + (await page.textContent('#status')));
    await pokeAndSee(page, 'alpha', { after: 'idle end' });
    const seqs = await page.$$eval('#messages .msg', (e) => e.map((x) => Number(x.dataset.seq)));
    for (let i = 1; i < seqs.length; i++) assert(seqs[i] === seqs[i - 1] + 1, `gap or duplicate at ${seqs[i - 1]} -> ${seqs[i]}`);
    await shot('pool-light.png');
  });

  await check('server restart: the page reconnects and resumes without gaps or duplicates', async () => {
    await server.stop();
    await page.waitForFunction(() => /reconnect/.test(document.getElementById('status').textContent), null, { timeout: 5000 });
    await shot('pool-reconnecting.png');
    // Written while the server is down: must arrive after the reconnect.
    await pls(['poke', 'alpha', '{"while":"down"}']);
    server = await startServer(serveArgs, server.port);
    await page.waitForFunction(() => document.getElementById('status').textContent === 'live', null, { timeout: 10_000 });
    await page.waitForFunction(() => [...document.querySelectorAll('#messages .msg .data')].some((e) => e.textContent.includes('down')), null, { timeout: 2000 });
    await pokeAndSee(page, 'alpha', { after: 'restart' });
    const seqs = await page.$$eval('#messages .msg', (e) => e.map((x) => Number(x.dataset.seq)));
    for (let i = 1; i < seqs.length; i++) assert(seqs[i] === seqs[i - 1] + 1, `gap or duplicate at ${seqs[i - 1]} -> ${seqs[i]}`);
  });

  await check('keeps at most 2000 rows', async () => {
    const out = await pls(['poke', 'alpha'], jsonl(Array.from({ length: 2100 }, (_, i) => ({ bulk: i }))));
    const last = JSON.parse(out.stdout.trim().split('\n').at(-1)).seq;
    await page.waitForSelector(`#messages .msg[data-seq="${last}"]`, { timeout: 5000, state: 'attached' });
    const n = await page.$$eval('#messages .msg', (e) => e.length);
    assert(n === 2000, 'rows ' + n);
  });

  await check('dark mode', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await sleep(300);
    await shot('pool-dark.png');
    await page.goto(base + '/ui');
    await page.waitForSelector('#pools .pool-row');
    await shot('list-dark.png', page, true);
    await page.emulateMedia({ colorScheme: 'light' });
  });

  await check('an empty pool streams from its first message', async () => {
    await page.goto(base + '/ui/pools/beta');
    await page.waitForSelector('#no-msgs:not(.hidden)');
    assert(!events().at(-1).url.includes('since_seq'), 'since_seq on an empty pool: ' + events().at(-1).url);
    await page.waitForFunction(() => document.getElementById('status').textContent === 'live', null, { timeout: 2000 });
    await shot('pool-empty.png');
    const { seq } = await pokeAndSee(page, 'beta', { first: true }, ['hello']);
    assert(seq === 1, 'seq ' + seq);
    assert(await page.isHidden('#no-msgs'), 'empty notice still shown');
  });

  await check('an unknown pool shows a not-found notice', async () => {
    await page.goto(base + '/ui/pools/nope');
    await page.waitForSelector('#notice:not(.hidden)');
    assert(/not found/i.test(await page.textContent('#notice')), await page.textContent('#notice'));
    assert(await page.isHidden('#no-msgs'), '"waiting" text for a missing pool');
    await shot('pool-missing.png');
  });

  await check('token server: prompt, rejection, Bearer header, sessionStorage only', async () => {
    const p2 = await ctx.newPage();
    await p2.goto(authed.base + '/ui');
    await p2.waitForSelector('#token', { state: 'visible' });
    assert((await p2.textContent('#auth')).includes('Authentication required'), 'auth message');
    assert(await p2.evaluate(() => document.activeElement.id === 'token'), 'token input not focused');
    assert((await p2.getAttribute('#token', 'type')) === 'password', 'not a password input');
    await shot('token-prompt.png', p2);
    await p2.fill('#token', 'wrong');
    await p2.press('#token', 'Enter');
    await p2.waitForFunction(() => /rejected/.test(document.getElementById('auth-msg').textContent));
    await p2.fill('#token', TOKEN);
    await p2.click('#auth button');
    await p2.waitForSelector('#pools .pool-row');
    assert(!(await p2.isVisible('#token')), 'prompt still shown');
    const api = requests.filter((r) => r.url.startsWith(authed.base + '/v0/'));
    assert(api.at(-1).auth === `Bearer ${TOKEN}`, 'bearer header: ' + api.at(-1).auth);
    assert((await p2.evaluate(() => sessionStorage.getItem('plasmite.token'))) === TOKEN, 'not in sessionStorage');
    assert((await p2.evaluate(() => localStorage.length)) === 0, 'something in localStorage');
    await p2.click('#pools .pool-row:first-child .pool-name a');
    await p2.waitForSelector('#messages .msg');
    await p2.waitForFunction(() => document.getElementById('status').textContent === 'live', null, { timeout: 2000 });
    await pokeAndSee(p2, 'alpha', { authed: true }, ['probe']);
    assert(events().at(-1).auth === `Bearer ${TOKEN}`, 'stream without the bearer header');
    await p2.close();
  });

  await check('token server: ?token= on the page URL is taken and removed; ?n= honoured', async () => {
    const p3 = await ctx.newPage();
    await p3.goto(authed.base + '/ui/pools/alpha');
    await p3.waitForSelector('#token', { state: 'visible' });
    await p3.goto(authed.base + `/ui/pools/alpha?token=${TOKEN}&n=50`);
    await p3.waitForSelector('#messages .msg');
    assert(!p3.url().includes('token='), 'token left in the URL: ' + p3.url());
    await sleep(300);
    const n = await p3.$$eval('#messages .msg', (e) => e.length);
    assert(n === 50, 'rows: ' + n);
    await p3.close();
  });

  await check('narrow viewport', async () => {
    const p4 = await ctx.newPage();
    await p4.setViewportSize({ width: 420, height: 800 });
    await p4.goto(base + '/ui/pools/alpha?n=30');
    await p4.waitForSelector('#messages .msg');
    await sleep(400);
    await shot('pool-narrow.png', p4);
    await p4.goto(base + '/ui');
    await p4.waitForSelector('#pools .pool-row');
    await shot('list-narrow.png', p4);
    await p4.close();
  });

  await check('no page errors, no requests beyond the server', async () => {
    assert(pageErrors.length === 0, 'errors: ' + pageErrors.join('; '));
    assert(externals.length === 0, 'external: ' + externals.join(', '));
  });
} finally {
  await ctx.close();
  await server.stop();
  await authed.stop();
  clearTimeout(watchdog);
}
if (latencies.length) {
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(`latency from starting \`pls poke\` to the row in the page: ${latencies.length} messages, median ${sorted[sorted.length >> 1]} ms, max ${sorted.at(-1)} ms`);
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed', `— screenshots in ${OUT}`);
process.exit(failures ? 1 : 0);
