// Mock of the `pls serve` routes the web UI uses. Serves ../index.html at /ui and /ui/pools/<name>.
// Control endpoints (test only): POST /__mock/poke?pool=P (body {"data":..,"tags":[..]} or an array of them),
// POST /__mock/auth?token=T (empty token = auth off), POST /__mock/drop (kill SSE sockets), POST /__mock/end (end SSE streams cleanly).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pagePath = path.join(here, '..', 'index.html');

export function createMock({ tickMs = 300 } = {}) {
  let token = '';
  const pools = new Map();
  const streams = new Set();
  const mkPool = (name, fileSize) => ({ name, fileSize, msgs: [], subs: new Set() });
  const poke = (pool, data, tags = [], atMs = Date.now()) => {
    const p = pools.get(pool);
    const seq = p.msgs.length ? p.msgs[p.msgs.length - 1].seq + 1 : 1;
    const m = { data, meta: { tags }, seq, time: new Date(atMs).toISOString().replace('Z', '123456Z') };
    p.msgs.push(m);
    for (const s of p.subs) s(m);
    return m;
  };
  const alpha = mkPool('alpha', 4 * 1024 * 1024);
  const beta = mkPool('beta', 1024 * 1024);
  const gamma = mkPool('gamma-logs', 64 * 1024 * 1024);
  for (const p of [alpha, beta, gamma]) pools.set(p.name, p);
  const levels = ['info', 'debug', 'warn', 'error'];
  for (let i = 1; i <= 250; i++) poke('alpha', { msg: `boot step ${i}`, i, nested: { ok: i % 2 === 0, list: [1, 2, 3] } }, ['boot', levels[i % 4]], Date.now() - (250 - i) * 17000);
  for (let i = 1; i <= 40; i++) poke('gamma-logs', { line: `log line ${i}` }, [], Date.now() - 7200000 + i * 60000);
  let n = 0;
  const timer = setInterval(() => {
    n++;
    poke('alpha', { event: 'tick', n, host: 'web-1', latency_ms: Math.round(Math.random() * 90) / 3 }, n % 5 === 0 ? ['tick', 'warn'] : ['tick']);
  }, tickMs);

  const info = (p) => {
    const used = Math.min(p.fileSize * 0.9, p.msgs.length * 180);
    const b = p.msgs.length ? { oldest: p.msgs[0].seq, newest: p.msgs[p.msgs.length - 1].seq } : {};
    const last = p.msgs[p.msgs.length - 1];
    const first = p.msgs[0];
    const nowMs = Date.now();
    const t = (m) => Date.parse(m.time.replace(/(\.\d{3})\d+/, '$1'));
    return {
      name: p.name, path: `/home/u/.plasmite/pools/${p.name}.plasmite`, file_size: p.fileSize,
      index_offset: 4096, index_capacity: 1024, index_size_bytes: 16384, ring_offset: 20480, ring_size: p.fileSize - 20480,
      bounds: b,
      metrics: {
        message_count: p.msgs.length,
        utilization: { used_bytes: used, free_bytes: p.fileSize - 20480 - used, used_percent: Math.round(1000 * used / (p.fileSize - 20480)) / 10 },
        age: p.msgs.length ? { oldest_time: first.time, newest_time: last.time, oldest_age_ms: nowMs - t(first), newest_age_ms: nowMs - t(last) } : {},
      },
    };
  };
  const json = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', 'plasmite-version': '0' });
    res.end(JSON.stringify(body));
  };
  const err = (res, status, kind, message) => json(res, status, { error: { kind, message } });
  const authed = (req, url) => {
    if (!token) return null;
    const h = req.headers.authorization;
    if (h === `Bearer ${token}` || url.searchParams.get('token') === token) return null;
    return h || url.searchParams.has('token') ? 'invalid bearer token' : 'missing bearer token';
  };
  const readBody = (req) => new Promise((ok) => { let b = ''; req.on('data', (c) => (b += c)); req.on('end', () => ok(b)); });
  const log = [];

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname;
    log.push({ method: req.method, path: p, query: url.search, auth: req.headers.authorization || null });
    if (p === '/ui' || p === '/ui/' || p.startsWith('/ui/pools/')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(fs.readFileSync(pagePath));
    }
    if (p === '/__mock/auth') { token = url.searchParams.get('token') || ''; return json(res, 200, { ok: true }); }
    if (p === '/__mock/drop') { for (const s of streams) s.socket.destroy(); streams.clear(); return json(res, 200, { ok: true }); }
    if (p === '/__mock/end') { for (const s of streams) s.end(); streams.clear(); return json(res, 200, { ok: true }); }
    if (p === '/__mock/poke') {
      const body = JSON.parse((await readBody(req)) || '{}');
      const out = (Array.isArray(body) ? body : [body]).map((b) => poke(url.searchParams.get('pool') || 'alpha', b.data ?? {}, b.tags ?? []));
      return json(res, 200, { messages: out.length === 1 ? out[0] : undefined, last: out[out.length - 1] });
    }
    if (!p.startsWith('/v0/ui/pools')) { res.writeHead(404); return res.end(); }
    const denied = authed(req, url);
    if (denied) return err(res, 401, 'Permission', denied);
    if (p === '/v0/ui/pools') {
      const list = [...pools.values()].reverse().map(info);
      list.push({ name: 'broken', path: '/home/u/.plasmite/pools/broken.plasmite', error: { kind: 'Corrupt', message: 'invalid pool header magic' } });
      return json(res, 200, { pools: list });
    }
    const m = p.match(/^\/v0\/ui\/pools\/([^/]+)\/(info|events)$/);
    if (!m) return err(res, 404, 'NotFound', 'no such route');
    const pool = pools.get(decodeURIComponent(m[1]));
    if (!pool) return err(res, 404, 'NotFound', 'pool not found');
    if (m[2] === 'info') return json(res, 200, { pool: info(pool) });
    const since = Number(url.searchParams.get('since_seq') ?? req.headers['last-event-id'] ?? 0);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', 'plasmite-version': '0' });
    res.flushHeaders(); // like the real server: headers go out before the first event
    const send = (msg) => res.write(`id: ${msg.seq}\nevent: message\ndata: ${JSON.stringify(msg)}\n\n`);
    for (const msg of pool.msgs) if (msg.seq >= since) send(msg);
    pool.subs.add(send);
    streams.add(res);
    res.on('close', () => { pool.subs.delete(send); streams.delete(res); });
  });
  return {
    server, log,
    listen: (port = 0) => new Promise((ok) => server.listen(port, '127.0.0.1', () => ok(server.address().port))),
    close: () => { clearInterval(timer); for (const s of streams) s.socket.destroy(); server.close(); },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const mock = createMock();
  const port = await mock.listen(Number(process.env.PORT || 0));
  if (process.env.TOKEN) await fetch(`http://127.0.0.1:${port}/__mock/auth?token=${process.env.TOKEN}`, { method: 'POST' });
  console.log(`mock server on http://127.0.0.1:${port}/ui`);
}
