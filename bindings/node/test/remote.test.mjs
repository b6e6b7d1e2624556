// RemoteClient against the real `pls serve` on a loopback port.
import test from 'node:test';
import assert from 'node:assert/strict';
import { plasmite, tmpDir, startServer, delay, collect, plsBin, run } from './helpers.mjs';

const { RemoteClient, RemoteError, PlasmiteError, Client } = plasmite;
const TOKEN = 'node-test-token-0123456789';

async function server(t, extra = []) {
  const dir = tmpDir(t);
  const url = await startServer(t, dir, ['--token', TOKEN, ...extra]);
  return { dir, url, client: new RemoteClient(url, { token: TOKEN }) };
}

test('pool admin over HTTP: create, list, info, delete', async (t) => {
  const { dir, client } = await server(t);
  const pool = await client.createPool('events', 1 << 20);
  assert.equal(pool.name, 'events');
  await client.createPool('other');
  assert.deepEqual((await client.listPools()).map((p) => p.name), ['events', 'other']);
  const info = await client.poolInfo('events');
  assert.equal(info.file_size, 1 << 20);
  assert.deepEqual(info.bounds, {});
  // The same object as the local client's poolInfo, the same pool file.
  const local = new Client(dir).poolInfo('events');
  assert.deepEqual(Object.keys(info).sort(), Object.keys(local).sort());
  assert.equal(info.path, local.path);
  await client.deletePool('other');
  assert.deepEqual((await client.listPools()).map((p) => p.name), ['events']);
  assert.equal((await client.openPool('events')).name, 'events');
});

test('append, get and info over HTTP', async (t) => {
  const { dir, client } = await server(t);
  const pool = await client.createPool('chat');
  const m = await pool.append({ from: 'alice', msg: 'héllo ✓' }, ['greeting'], 'flush');
  assert.equal(m.seq, 1);
  assert.deepEqual(m.data, { from: 'alice', msg: 'héllo ✓' });
  assert.deepEqual(m.meta, { tags: ['greeting'] });
  assert.deepEqual(await pool.get(1), m);
  assert.deepEqual((await pool.info()).bounds, { newest: 1, oldest: 1 });
  // Written remotely, read locally: one pool file.
  assert.deepEqual(new Client(dir).openPool('chat').get(1), m);
});

test('remote tails: max, since, tags, idle timeout', async (t) => {
  const { client } = await server(t);
  const pool = await client.createPool('events');
  for (let i = 1; i <= 6; i++) await pool.append({ i }, [i % 2 ? 'odd' : 'even']);
  const seqs = (ms) => ms.map((m) => m.seq);
  assert.deepEqual(seqs(await collect(pool.tail({ maxMessages: 3 }))), [1, 2, 3]);
  assert.deepEqual(seqs(await collect(pool.tail({ sinceSeq: 5, timeoutMs: 200 }))), [5, 6]);
  assert.deepEqual(seqs(await collect(pool.tail({ tags: ['even'], timeoutMs: 200 }))), [2, 4, 6]);
  const tail = pool.tail({ sinceSeq: 6, timeoutMs: 200 });
  assert.equal((await tail.next()).seq, 6);
  assert.equal(await tail.next(), null, 'null once idle for the timeout');
  assert.throws(() => pool.tail({ where: ['.data.i > 1'] }), (e) => e.kind === 'Usage');
});

test('a remote tail follows new messages, from this client and from pls poke', async (t) => {
  const { dir, client } = await server(t);
  const pool = await client.createPool('live');
  const tail = pool.tail({ sinceSeq: 1 });
  const first = tail.next();
  await delay(100);
  await pool.append({ n: 1 });
  assert.deepEqual((await first).data, { n: 1 });
  const second = tail.next();
  const r = await run(plsBin(), ['--dir', dir, 'poke', 'live', '{"n":2}']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await second).data, { n: 2 });
  tail.cancel();
});

test('a remote tail without a timeout outlives the server stream limit', async (t) => {
  // The server ends idle streams after --max-tail-timeout-ms (2 s in these
  // tests); the tail reconnects from where it was.
  const { client } = await server(t);
  const pool = await client.createPool('slow');
  const tail = pool.tail();
  const pending = tail.next();
  await delay(2500);
  await pool.append({ late: true });
  assert.deepEqual((await pending).data, { late: true });
  tail.cancel();
});

test('cancel ends a pending remote next() and for-await break stops the stream', async (t) => {
  const { client } = await server(t);
  const pool = await client.createPool('c');
  const tail = pool.tail();
  const pending = tail.next();
  await delay(100);
  const t0 = performance.now();
  tail.cancel();
  assert.equal(await pending, null);
  assert.ok(performance.now() - t0 < 1000, 'promptly, not at the next message');
  await pool.append({ a: 1 });
  await pool.append({ a: 2 });
  const got = [];
  for await (const m of pool.tail()) {
    got.push(m.seq);
    if (got.length === 1) break;
  }
  assert.deepEqual(got, [1]);
});

test('server errors are RemoteError with status, kind and context', async (t) => {
  const { client } = await server(t);
  const missing = await client.poolInfo('nope').catch((e) => e);
  assert.ok(missing instanceof RemoteError);
  assert.ok(missing instanceof PlasmiteError);
  assert.equal(missing.status, 404);
  assert.equal(missing.kind, 'NotFound');
  assert.ok(missing.hint);
  await client.createPool('dup');
  const dup = await client.createPool('dup').catch((e) => e);
  assert.equal(dup.status, 409);
  assert.equal(dup.kind, 'AlreadyExists');
  const pool = await client.openPool('dup');
  const noSeq = await pool.get(7).catch((e) => e);
  assert.equal(noSeq.status, 404);
  assert.equal(noSeq.seq, 7);
  const notObject = await pool.append([1, 2]).catch((e) => e);
  assert.equal(notObject.status, 400);
  assert.equal(notObject.kind, 'Usage');
  const badName = await client.poolInfo('.hidden').catch((e) => e);
  assert.equal(badName.status, 400);
  assert.equal(badName.kind, 'Usage');
  await assert.rejects(client.poolInfo('..'), (e) => e.kind === 'Usage');
  await client.createPool('v1.2');
  assert.equal((await client.poolInfo('v1.2')).name, 'v1.2', 'dots in names survive the encoding');
});

test('the bearer token is required and checked', async (t) => {
  const { url, client } = await server(t);
  await client.createPool('secret');
  for (const c of [new RemoteClient(url), client.withToken('wrong')]) {
    const e = await c.listPools().catch((err) => err);
    assert.ok(e instanceof RemoteError);
    assert.equal(e.status, 401);
    assert.equal(e.kind, 'Permission');
  }
  const e = await new RemoteClient(url).openPool('secret').then((p) => p.tail().next()).catch((err) => err);
  assert.equal(e.status, 401, 'streams are checked too');
  assert.deepEqual((await client.listPools()).map((p) => p.name), ['secret']);
});

test('an unreachable server is a RemoteError with status 0', async () => {
  const e = await new RemoteClient('http://127.0.0.1:9').listPools().catch((err) => err);
  assert.ok(e instanceof RemoteError);
  assert.equal(e.status, 0);
  assert.equal(e.kind, 'Io');
});

test('base URLs are checked', () => {
  for (const bad of ['not a url', 'ftp://x:1', 'http://h:1/path', 'http://h:1/?q']) {
    assert.throws(() => new RemoteClient(bad), (e) => e.kind === 'Usage', bad);
  }
  assert.equal(new RemoteClient('http://127.0.0.1:9700/').baseUrl, 'http://127.0.0.1:9700');
});
