// Durable named readers: resume after the last acknowledgement, auto and
// manual acks, at-least-once delivery (in process and across SIGKILL),
// listing and deleting readers, drops while away, and bad names.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { plasmite, freshPool, delay, collect, here } from './helpers.mjs';

const { PlasmiteError } = plasmite;

function fill(pool, n = 10) {
  for (let i = 1; i <= n; i++) pool.append({ i });
}

const seqs = (ms) => ms.map((m) => m.seq);

/** The stored position of the reader `name` (undefined if there is none). */
const position = (pool, name) => pool.readers().find((r) => r.name === name)?.nextSeq;

/** Blocks the JavaScript thread (not the tail's own thread) for `ms`. */
const blockThread = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

const isKind = (kind) => (e) => e instanceof PlasmiteError && e.kind === kind;

test('a named tail resumes right after the last acknowledged message', async (t) => {
  const { pool } = freshPool(t);
  fill(pool);
  assert.deepEqual(seqs(await collect(pool.tail({ name: 'worker', maxMessages: 3 }))), [1, 2, 3]);
  // Running into maxMessages asked for more, so 3 was acknowledged too.
  assert.equal(position(pool, 'worker'), 4);
  // Start options apply only when the reader is created.
  assert.deepEqual(seqs(await collect(pool.tail({ name: 'worker', sinceSeq: 9, maxMessages: 2 }))), [4, 5]);
  assert.deepEqual(seqs(await collect(pool.tail({ name: 'worker', last: 1, timeoutMs: 100 }))), [6, 7, 8, 9, 10]);
  assert.deepEqual(seqs(await collect(pool.tail({ name: 'fresh', last: 2, timeoutMs: 100 }))), [9, 10]);
  // tailJson and openStream resume the same reader.
  pool.append({ i: 11 });
  const [text] = await collect(pool.tailJson({ name: 'worker', maxMessages: 1 }));
  assert.equal(JSON.parse(text).seq, 11);
  pool.append({ i: 12 });
  const stream = pool.openStream({ name: 'worker', timeoutMs: 50 });
  assert.equal(stream.next().seq, 12);
  assert.equal(stream.next(), null);
  assert.equal(position(pool, 'worker'), 13);
});

test('auto-ack acknowledges a message when the next is asked for, never ahead of the loop', async (t) => {
  const { pool } = freshPool(t);
  fill(pool);
  const kinds = [
    ['auto-tail', (o) => pool.tail(o)],
    ['auto-json', (o) => pool.tailJson(o)],
  ];
  for (const [name, open] of kinds) {
    const tail = open({ name });
    // All ten messages are there to read, yet only what the loop asked
    // for moves the stored position.
    await tail.next();
    assert.equal(position(pool, name), 1, 'message 1 is still being handled');
    assert.equal(tail.nextSeq, 2, 'nothing was read ahead');
    await tail.next();
    assert.equal(position(pool, name), 2, 'asking for 2 acknowledged 1');
    await tail.next();
    assert.equal(position(pool, name), 3);
    tail.cancel();
    assert.equal(position(pool, name), 3, 'cancel acknowledges nothing');
  }
});

test('ackThrough stores what the consumer says, never past what was yielded', async (t) => {
  const { pool } = freshPool(t);
  fill(pool);
  const tail = pool.tail({ name: 'handoff', autoAck: false, maxMessages: 5 });
  assert.deepEqual(seqs(await collect(tail)), [1, 2, 3, 4, 5]);
  tail.ackThrough(3);
  assert.equal(position(pool, 'handoff'), 4);
  tail.ackThrough(1000);
  assert.equal(position(pool, 'handoff'), 6, 'capped at what was yielded');
  assert.throws(() => tail.ackThrough(-1), (e) => e.kind === 'Usage');
  assert.throws(() => tail.ackThrough(Number.NaN), (e) => e.kind === 'Usage');
  assert.throws(() => tail.ackThrough('3'), (e) => e.kind === 'Usage');
  tail.ackThrough(4n); // a bigint seq, as elsewhere
  assert.equal(position(pool, 'handoff'), 5);
  tail.ackThrough(1000);
  const stream = pool.openStream({ name: 'handoff', autoAck: false, timeoutMs: 50 });
  assert.equal(stream.next().seq, 6);
  assert.equal(stream.next().seq, 7);
  stream.ackThrough(6);
  assert.equal(position(pool, 'handoff'), 7);
  stream.close();
  pool.tail({ maxMessages: 1 }).ackThrough(1); // unnamed: nothing to store
});

test('autoAck: false stores a position only on ack()', async (t) => {
  const { pool } = freshPool(t);
  fill(pool);
  const tail = pool.tail({ name: 'manual', autoAck: false, timeoutMs: 100 });
  for (let i = 1; i <= 3; i++) assert.equal((await tail.next()).value.seq, i);
  assert.equal(position(pool, 'manual'), 1, 'nothing acknowledged yet');
  tail.ack();
  assert.equal(position(pool, 'manual'), 4, 'ack() covers every message yielded');
  assert.equal((await tail.next()).value.seq, 4);
  tail.cancel();
  assert.deepEqual(seqs(await collect(pool.tail({ name: 'manual', autoAck: false, maxMessages: 2 }))), [4, 5]);
  assert.equal(position(pool, 'manual'), 4, 'reading to the end acknowledges nothing either');
  // ack() after the tail is over still stores what it yielded.
  const done = pool.tail({ name: 'manual', autoAck: false, maxMessages: 2 });
  assert.deepEqual(seqs(await collect(done)), [4, 5]);
  done.ack();
  assert.equal(position(pool, 'manual'), 6);
  // A tail without a name has nothing to acknowledge: ack() is a no-op.
  const unnamed = pool.tail({ maxMessages: 1, autoAck: false });
  await collect(unnamed);
  unnamed.ack();
  assert.deepEqual(pool.readers().map((r) => r.name), ['manual']);
  // The blocking stream acknowledges the same way.
  const stream = pool.openStream({ name: 'manual', autoAck: false, timeoutMs: 50 });
  assert.equal(stream.next().seq, 6);
  assert.equal(stream.next().seq, 7);
  assert.equal(position(pool, 'manual'), 6);
  stream.ack();
  assert.equal(position(pool, 'manual'), 8);
  stream.close();
});

test('the message being handled when the loop breaks comes again (at-least-once)', async (t) => {
  const { pool } = freshPool(t);
  fill(pool);
  for await (const m of pool.tail({ name: 'w' })) {
    if (m.seq === 3) break; // handling 3 failed
  }
  assert.equal(position(pool, 'w'), 3);
  const again = [];
  for await (const m of pool.tail({ name: 'w' })) {
    again.push(m.seq);
    if (m.seq === 5) break;
  }
  assert.deepEqual(again, [3, 4, 5], '3 came again, nothing was skipped');
  const tail = pool.tail({ name: 'w' });
  for await (const m of tail) {
    assert.equal(m.seq, 5, 'the message in hand at the last break comes again too');
    tail.ack(); // handled: acknowledge it before leaving
    break;
  }
  const next = pool.tail({ name: 'w' });
  assert.equal((await next.next()).value.seq, 6, 'acknowledged before the break: it does not come again');
  next.cancel();
});

test('ack() while a wait is pending never acknowledges what the tail thread has not handed over', async (t) => {
  const { pool } = freshPool(t);
  pool.append({ i: 1 });
  const tail = pool.tail({ name: 'race', autoAck: false });
  assert.equal((await tail.next()).value.seq, 1);
  const pending = tail.next(); // nothing there: the tail's own thread waits
  await delay(50);
  pool.append({ i: 2 });
  // The tail's thread finds message 2 now, but cannot hand it over while
  // the JavaScript thread is busy.
  blockThread(300);
  tail.ack();
  assert.equal(position(pool, 'race'), 2, 'only message 1 was handed over');
  assert.equal((await pending).value.seq, 2);
  tail.ack();
  assert.equal(position(pool, 'race'), 3);
  tail.cancel();
});

/**
 * Runs the consumer in `named-consumer.mjs` and SIGKILLs it once it has
 * written `take` seqs or the seq `total` (or after 10 s: `hung`). Resolves
 * to the seqs it wrote.
 */
function consumeUntilKilled(dir, take, total) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, 'named-consumer.mjs'), dir, 'jobs', 'billing'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const seqs = [];
    let partial = '';
    let stderr = '';
    let killed = false;
    let hung = false;
    const watchdog = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, 10_000);
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop();
      for (const line of lines) seqs.push(Number(line));
      if (!killed && (seqs.length >= take || seqs.at(-1) === total)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      resolve({ seqs, killed, hung, signal, code, stderr, partial });
    });
  });
}

test('a consumer process killed with SIGKILL mid-stream resumes in order without a gap', async (t) => {
  const { dir, pool } = freshPool(t, 'jobs', 4 << 20);
  const total = 300;
  fill(pool, total);
  const delivered = new Set();
  let lastSeen = 0;
  let rounds = 0;
  let redelivered = 0;
  while (lastSeen < total) {
    rounds++;
    assert.ok(rounds < 100, `no progress after ${rounds} rounds`);
    const take = 5 + ((rounds * 7) % 40);
    const r = await consumeUntilKilled(dir, take, total);
    assert.ok(
      r.seqs.length > 0,
      `round ${rounds}: the consumer got nothing in 10 s, with ${lastSeen} of ${total} delivered ` +
        `and the reader at ${position(pool, 'billing')}: ${r.stderr}`,
    );
    assert.ok(!r.hung, `round ${rounds}: the consumer hung after ${r.seqs}`);
    assert.ok(r.killed, `round ${rounds}: the consumer ended on its own (exit ${r.code}): ${r.stderr}`);
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.partial, '', 'no line was cut short');
    const [first] = r.seqs;
    // The message in hand when the previous consumer died may come again;
    // none after it may be skipped.
    assert.ok(first <= lastSeen + 1, `round ${rounds}: resumed at ${first}, but ${lastSeen + 1} was never delivered`);
    assert.ok(first >= Math.max(lastSeen, 1), `round ${rounds}: resumed at ${first}, after ${lastSeen} was acknowledged`);
    if (first === lastSeen) redelivered++;
    r.seqs.forEach((s, i) => {
      if (i > 0) assert.equal(s, r.seqs[i - 1] + 1, `round ${rounds}: in order, none skipped: ${r.seqs}`);
      delivered.add(s);
    });
    lastSeen = Math.max(lastSeen, r.seqs.at(-1));
  }
  assert.equal(delivered.size, total, 'every message was delivered');
  assert.ok(rounds > 3, `killed mid-stream ${rounds - 1} times`);
  t.diagnostic(`${rounds} rounds, ${redelivered} resumed at the message in hand`);
  const [reader] = pool.readers();
  assert.equal(reader.name, 'billing');
  assert.ok(reader.nextSeq === total || reader.nextSeq === total + 1, `stored ${reader.nextSeq}`);
});

test('readers() lists positions and times; deleteReader() forgets one, then NotFound', async (t) => {
  const { pool } = freshPool(t);
  fill(pool, 3);
  assert.deepEqual(pool.readers(), []);
  const before = Date.now() * 1e6;
  await collect(pool.tail({ name: 'alpha', maxMessages: 2 }));
  await collect(pool.tail({ name: 'beta', sinceSeq: 3, maxMessages: 1 }));
  const after = (Date.now() + 1) * 1e6; // Date.now() is whole milliseconds
  const readers = pool.readers();
  assert.deepEqual(
    readers.map((r) => [r.name, r.nextSeq]),
    [
      ['alpha', 3],
      ['beta', 4],
    ],
  );
  for (const r of readers) {
    assert.deepEqual(Object.keys(r).sort(), ['ackedNs', 'createdNs', 'name', 'nextSeq']);
    assert.equal(typeof r.ackedNs, 'number');
    // ns since the epoch, as numbers (exact to within 256 ns: allow 1 µs).
    assert.ok(r.createdNs >= before - 1e3 && r.createdNs <= after + 1e3, `createdNs ${r.createdNs}`);
    assert.ok(r.ackedNs >= r.createdNs && r.ackedNs <= after + 1e3, `ackedNs ${r.ackedNs}`);
  }
  // pool.info() reports them too.
  assert.deepEqual(
    pool.info().readers.map((r) => [r.name, r.next_seq, r.lag]),
    [
      ['alpha', 3, 1],
      ['beta', 4, 0],
    ],
  );
  pool.deleteReader('alpha');
  assert.deepEqual(pool.readers().map((r) => r.name), ['beta']);
  assert.throws(
    () => pool.deleteReader('alpha'),
    (e) => isKind('NotFound')(e) && e.message.includes('alpha') && e.path === pool.path && e.exitCode === 3,
  );
  assert.throws(() => pool.deleteReader(42), isKind('Usage'));
  // A deleted reader starts anew.
  assert.deepEqual(seqs(await collect(pool.tail({ name: 'alpha', timeoutMs: 100 }))), [1, 2, 3]);
});

test('a named reader lapped by the ring while away reports what it missed as dropped', async (t) => {
  const { pool } = freshPool(t, 'small', 64 * 1024);
  assert.deepEqual(await collect(pool.tail({ name: 'slow', timeoutMs: 50 })), []);
  assert.equal(position(pool, 'slow'), 1);
  for (let i = 0; i < 2000; i++) pool.append({ i, pad: 'x'.repeat(200) });
  const oldest = pool.info().bounds.oldest;
  assert.ok(oldest > 1, 'the ring lapped the reader');
  const tail = pool.tail({ name: 'slow', maxMessages: 1 });
  assert.equal(tail.dropped, oldest - 1, 'known before reading anything');
  const [m] = await collect(tail);
  assert.equal(m.seq, oldest, 'resumes at the oldest retained message');
  assert.ok(tail.dropped > 0);
  assert.equal(tail.dropped, oldest - 1);
  const stream = pool.openStream({ name: 'lapped-too', sinceSeq: 1, maxMessages: 1 });
  assert.equal(stream.dropped, 0, 'a new reader starts at the oldest retained: nothing missed yet');
  stream.close();
});

test('a bad reader name or ack option is a Usage PlasmiteError', async (t) => {
  const { pool } = freshPool(t);
  fill(pool, 1);
  for (const name of ['no spaces', '', 'x'.repeat(33), 'é']) {
    assert.throws(() => pool.tail({ name }), isKind('Usage'), JSON.stringify(name));
  }
  assert.throws(() => pool.openStream({ name: 'a/b' }), isKind('Usage'));
  assert.throws(() => pool.tail({ name: 7 }), isKind('Usage'));
  assert.throws(() => pool.tail({ name: 'ok', autoAck: 'yes' }), isKind('Usage'));
  assert.deepEqual(pool.readers(), [], 'no reader was created');
  const remote = new plasmite.RemoteClient('http://127.0.0.1:9');
  const remotePool = new plasmite.RemotePool(remote, 'p');
  assert.throws(() => remotePool.tail({ name: 'w' }), (e) => isKind('Usage')(e) && /local pools/.test(e.message));
});
