// Tails: library filters, limits, idle timeouts, waiting off the event loop,
// cancellation, and messages from other processes.
import test from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { plasmite, freshPool, plsBin, run, delay, collect, here } from './helpers.mjs';

function fill(pool) {
  for (let i = 1; i <= 10; i++) {
    const kind = i % 2 === 0 ? 'even' : 'odd';
    pool.append({ i, kind }, i >= 8 ? [kind, 'big'] : [kind]);
  }
}

const seqs = (ms) => ms.map((m) => m.seq);

test('since, max, tags, where and last are applied by the library', async (t) => {
  const { pool } = freshPool(t);
  fill(pool);
  const idle = { timeoutMs: 200 };
  assert.deepEqual(seqs(await collect(pool.tail({ ...idle }))), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(seqs(await collect(pool.tail({ sinceSeq: 8, ...idle }))), [8, 9, 10]);
  assert.deepEqual(seqs(await collect(pool.tail({ sinceSeq: 2, maxMessages: 2 }))), [2, 3]);
  assert.deepEqual(seqs(await collect(pool.tail({ tags: ['even'], ...idle }))), [2, 4, 6, 8, 10]);
  assert.deepEqual(seqs(await collect(pool.tail({ tags: ['even', 'big'], ...idle }))), [8, 10]);
  const where = ['.data.i >= 5', '.data.kind == "odd"'];
  assert.deepEqual(seqs(await collect(pool.tail({ where, ...idle }))), [5, 7, 9]);
  assert.deepEqual(seqs(await collect(pool.tail({ where: '.data.i > 8', ...idle }))), [9, 10]);
  assert.deepEqual(seqs(await collect(pool.tail({ last: 2, tags: ['odd'], maxMessages: 2 }))), [7, 9]);
  assert.deepEqual(seqs(await collect(pool.tail({ last: 3, ...idle }))), [8, 9, 10]);
  assert.deepEqual(await collect(pool.tail({ tags: ['absent'], maxMessages: 1, timeoutMs: 50 })), []);
  const [m] = await collect(pool.tail({ sinceSeq: 9, maxMessages: 1 }));
  assert.deepEqual(m, pool.get(9), 'tails yield the same envelope objects as get');
});

test('the timeout is an idle timeout, restarted by each message', async (t) => {
  const { pool } = freshPool(t);
  const tail = pool.tail({ timeoutMs: 300 });
  const t0 = performance.now();
  const writer = (async () => {
    for (let i = 0; i < 3; i++) {
      await delay(150);
      pool.append({ i });
    }
  })();
  const got = await collect(tail);
  await writer;
  // Three messages 150 ms apart never leave the tail idle for 300 ms; an
  // absolute deadline would have ended it before the third.
  assert.equal(got.length, 3);
  assert.ok(performance.now() - t0 >= 700, 'ends 300 ms after the last message');
});

test('the event loop keeps running while a tail waits', async (t) => {
  const { pool } = freshPool(t);
  const tail = pool.tail();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  t.after(() => clearInterval(timer));
  const pending = tail.next();
  await delay(300);
  assert.ok(ticks >= 10, `timer fired ${ticks} times while the tail waited`);
  pool.append({ late: true });
  const { value, done } = await pending;
  assert.equal(done, false);
  assert.deepEqual(value.data, { late: true });
  tail.cancel();
});

test('waiting tails hold no libuv pool thread', async (t) => {
  const { pool } = freshPool(t);
  // More waiting tails than the default libuv pool has threads (4).
  const tails = Array.from({ length: 8 }, () => pool.tail());
  const pending = tails.map((tl) => tl.next());
  await delay(50);
  // fs.promises runs on the libuv pool: it would hang if tails sat there.
  const text = await Promise.race([
    fsp.readFile(path.join(here, 'helpers.mjs'), 'utf8'),
    delay(3000).then(() => 'timed out'),
  ]);
  assert.notEqual(text, 'timed out');
  pool.append({ wake: 'all' });
  for (const r of await Promise.all(pending)) assert.deepEqual(r.value.data, { wake: 'all' });
  tails.forEach((tl) => tl.cancel());
});

test('cancel() ends a pending next() promptly', async (t) => {
  const { pool } = freshPool(t);
  const tail = pool.tail();
  const pending = tail.next();
  await delay(50);
  const t0 = performance.now();
  tail.cancel();
  assert.deepEqual(await pending, { value: undefined, done: true });
  // A wait slice is 20 ms; the bound leaves room for a busy machine.
  assert.ok(performance.now() - t0 < 1000, 'promptly, not at the next message');
  pool.append({ after: 'cancel' });
  assert.deepEqual(await tail.next(), { value: undefined, done: true }, 'a cancelled tail stays over');
});

test('breaking out of for-await ends the tail', async (t) => {
  const { pool } = freshPool(t);
  fill(pool);
  const tail = pool.tail();
  const got = [];
  for await (const m of tail) {
    got.push(m.seq);
    if (m.seq === 3) break;
  }
  assert.deepEqual(got, [1, 2, 3]);
  assert.equal((await tail.next()).done, true);
});

test('a message poked by another process wakes the tail', async (t) => {
  const { dir, pool } = freshPool(t);
  const tail = pool.tail({ timeoutMs: 10_000 });
  const pending = tail.next();
  const t0 = performance.now();
  const r = await run(plsBin(), ['--dir', dir, 'poke', 'p', '{"from":"another process"}', '--tag', 'cli']);
  assert.equal(r.code, 0, r.stderr);
  const { value } = await pending;
  assert.deepEqual(value.data, { from: 'another process' });
  assert.deepEqual(value.meta.tags, ['cli']);
  assert.ok(performance.now() - t0 < 5000);
  tail.cancel();
});

test('tailJson yields each envelope as JSON text', async (t) => {
  const { pool } = freshPool(t);
  fill(pool);
  const texts = await collect(pool.tailJson({ maxMessages: 10 }));
  assert.equal(texts.length, 10);
  texts.forEach((s, i) => {
    assert.equal(typeof s, 'string');
    assert.equal(s, pool.getJson(i + 1).toString());
  });
});

test('many messages arrive in order across batches', async (t) => {
  const { pool } = freshPool(t, 'big', 16 << 20);
  const n = 5000;
  for (let i = 0; i < n; i++) pool.append({ i, pad: 'x'.repeat(i % 300) });
  let expect = 1;
  for await (const m of pool.tail({ maxMessages: n })) {
    assert.equal(m.seq, expect);
    assert.equal(m.data.i, expect - 1);
    expect++;
  }
  assert.equal(expect, n + 1);
});

test('a reader overtaken by the ring counts what it missed', async (t) => {
  const { pool } = freshPool(t, 'small', 64 * 1024);
  const tail = pool.tail({ timeoutMs: 100 });
  for (let i = 0; i < 3000; i++) pool.append({ i, pad: 'y'.repeat(64) });
  const got = await collect(tail);
  assert.ok(got.length > 0 && got.length < 3000);
  assert.equal(got.at(-1).seq, 3000);
  assert.equal(tail.dropped + got.length, 3000, 'every message was read or counted as dropped');
  assert.equal(tail.delivered, got.length);
  assert.equal(tail.nextSeq, 3001);
});

test('a predicate that yields no boolean rejects with Usage', async (t) => {
  const { pool } = freshPool(t);
  fill(pool);
  const tail = pool.tail({ where: ['.data.i'] });
  await assert.rejects(tail.next(), (e) => e instanceof plasmite.PlasmiteError && e.kind === 'Usage');
  assert.equal((await tail.next()).done, true, 'the tail is over after an error');
});

test('openStream: a blocking stream for plain loops', (t) => {
  const { pool } = freshPool(t);
  fill(pool);
  const s = pool.openStream({ sinceSeq: 9, timeoutMs: 50 });
  const a = s.nextJson();
  assert.ok(Buffer.isBuffer(a));
  assert.equal(JSON.parse(a).seq, 9);
  assert.equal(s.next().seq, 10);
  assert.equal(s.nextJson(), null, 'null once idle for the timeout');
  assert.deepEqual(
    [...pool.openStream({ tags: ['big'], maxMessages: 3 })].map((m) => m.seq),
    [8, 9, 10],
  );
  const closed = pool.openStream();
  closed.close();
  assert.equal(closed.nextJson(), null);
});

test('openStream: envelopes read in one batch stay whole and apart', (t) => {
  const { pool } = freshPool(t);
  for (let i = 1; i <= 3000; i++) pool.append({ i, text: `line ${i}\nwith a newline in it` });
  const s = pool.openStream({ maxMessages: 3000 });
  const kept = [];
  let b;
  while ((b = s.nextJson()) !== null) kept.push(b);
  assert.equal(kept.length, 3000, 'several batches');
  // Read back after later batches: each is still its own, intact envelope.
  kept.forEach((env, k) => {
    const m = JSON.parse(env);
    assert.equal(m.seq, k + 1);
    assert.equal(m.data.text, `line ${k + 1}\nwith a newline in it`);
  });
  // Writing into one envelope leaves its neighbours alone.
  kept[0].fill(0x20);
  assert.equal(JSON.parse(kept[1]).seq, 2);
});

test('replay keeps the gaps between messages, divided by speed', async (t) => {
  const { pool } = freshPool(t);
  pool.append({ n: 1 });
  await delay(200);
  pool.append({ n: 2 });
  await delay(200);
  pool.append({ n: 3 });
  let t0 = performance.now();
  const got = await collect(pool.replay({ speed: 2, maxMessages: 3 }));
  const took = performance.now() - t0;
  assert.deepEqual(got.map((m) => m.data.n), [1, 2, 3]);
  assert.ok(took >= 190, `replay at 2x of a 400 ms span took ${took} ms`);
  t0 = performance.now();
  await collect(pool.replay({ speed: 8, maxMessages: 3 }));
  assert.ok(performance.now() - t0 < 390, 'at 8x the span takes about 50 ms, not 400');
  t0 = performance.now();
  assert.equal((await collect(pool.replay({ speed: Infinity, maxMessages: 3 }))).length, 3);
  assert.ok(performance.now() - t0 < 300, 'no pauses at all');
  assert.throws(() => pool.replay({ speed: 0 }), (e) => e.kind === 'Usage');
});

test('a process with an idle tail still exits', async () => {
  const script = `
    const p = require(${JSON.stringify(path.join(here, '..', 'index.js'))});
    const fs = require('fs'), os = require('os'), path = require('path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plasmite-exit-'));
    const pool = new p.Client(dir).createPool('x');
    pool.append({ a: 1 });
    const tail = pool.tail();
    tail.next().then((r) => {
      console.log(JSON.stringify(r.value.data));
      fs.rmSync(dir, { recursive: true });
    });`;
  const r = await Promise.race([run(process.execPath, ['-e', script]), delay(10_000).then(() => null)]);
  assert.ok(r, 'the process exited by itself');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '{"a":1}');
});
