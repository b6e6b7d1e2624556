// Client and Pool round trips through the native addon.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { plasmite, tmpDir, freshPool } from './helpers.mjs';

const { Client, PlasmiteError, ErrorKind, Durability } = plasmite;

const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

test('append, get and getJson round trip', (t) => {
  const { pool } = freshPool(t);
  const r = pool.append({ from: 'alice', msg: 'hi' }, ['greeting'], Durability.Fast);
  assert.equal(r.seq, 1);
  assert.match(r.time, TIME);
  assert.deepEqual(r.meta, { tags: ['greeting'] });
  assert.equal(r.data, undefined, 'a receipt carries no data');

  const m = pool.get(1);
  assert.deepEqual(m, { data: { from: 'alice', msg: 'hi' }, meta: { tags: ['greeting'] }, seq: 1, time: r.time });
  assert.deepEqual(Object.keys(m), ['data', 'meta', 'seq', 'time']);
  assert.equal(pool.get(1n).seq, 1, 'a bigint seq works too');

  const env = pool.getJson(1);
  assert.ok(Buffer.isBuffer(env));
  assert.equal(env.toString(), `{"data":{"from":"alice","msg":"hi"},"meta":{"tags":["greeting"]},"seq":1,"time":"${r.time}"}`);
});

test('appendJson keeps key order and number spelling, returns the envelope', (t) => {
  const { pool } = freshPool(t);
  const text = '{ "z": 1.50, "a": [1e3, -0.0], "s": "h\\u00e9 \\"q\\"" }';
  const env = pool.appendJson(text, ['x', 'y'], 'flush');
  assert.ok(Buffer.isBuffer(env));
  const compact = '{"z":1.50,"a":[1e3,-0.0],"s":"h\\u00e9 \\"q\\""}';
  const seqTime = /"seq":1,"time":"([^"]+)"\}$/.exec(env.toString());
  assert.ok(seqTime, env.toString());
  assert.equal(env.toString(), `{"data":${compact},"meta":{"tags":["x","y"]},"seq":1,"time":"${seqTime[1]}"}`);
  assert.deepEqual(pool.getJson(1), env, 'getJson returns the same bytes');
  // Buffers and Uint8Arrays are accepted too.
  const two = JSON.parse(pool.appendJson(Buffer.from('{"n":2}')).toString());
  assert.equal(two.seq, 2);
  const three = JSON.parse(pool.appendJson(new TextEncoder().encode('{"n":3}')).toString());
  assert.deepEqual(three.data, { n: 3 });
});

test('unicode and nested data survive', (t) => {
  const { pool } = freshPool(t);
  const data = { msg: 'héllo ✓ 🚀', nested: { a: [1, null, true, { b: 'c' }] }, n: 1500.25 };
  pool.append(data);
  assert.deepEqual(pool.get(1).data, data);
});

test('bad input is a Usage error, before anything is written', (t) => {
  const { pool } = freshPool(t);
  const usage = (fn, re) =>
    assert.throws(fn, (e) => e instanceof PlasmiteError && e.kind === ErrorKind.Usage && re.test(e.message));
  usage(() => pool.append([1, 2]), /object/);
  usage(() => pool.append('text'), /object/);
  usage(() => pool.append(undefined), /object/);
  usage(() => pool.append({ big: 1n }), /JSON/);
  usage(() => pool.appendJson('{"a":'), /./);
  usage(() => pool.appendJson('[1]'), /./);
  usage(() => pool.appendJson(42), /string or a Buffer/);
  usage(() => pool.append({ a: 1 }, 'tag'), /tags/);
  usage(() => pool.append({ a: 1 }, [1]), /tags/);
  usage(() => pool.append({ a: 1 }, [], 'slow'), /durability/);
  usage(() => pool.get(-1), /seq/);
  usage(() => pool.get(1.5), /seq/);
  usage(() => pool.tail({ bogus: 1 }), /bogus/);
  usage(() => new Client(tmpDir(t)).openPool(undefined), /pool reference/);
  assert.equal(pool.info().bounds.newest, undefined, 'nothing was appended');
});

test('pool admin: create, list, info, delete', (t) => {
  const dir = tmpDir(t);
  const client = new Client(path.join(dir, 'nested', 'pools'));
  assert.deepEqual(client.listPools(), [], 'a missing directory lists as empty');
  const a = client.createPool('alpha', 1 << 20);
  client.createPool('beta', 2n * 1024n * 1024n);
  assert.deepEqual(client.listPools().map((p) => p.name), ['alpha', 'beta']);
  a.append({ n: 1 });
  a.append({ n: 2 });
  const info = client.poolInfo('alpha');
  assert.equal(info.file_size, 1 << 20);
  assert.deepEqual(info.bounds, { newest: 2, oldest: 1 });
  assert.equal(info.metrics.message_count, 2);
  assert.equal(info.name, 'alpha');
  assert.equal(info.path, path.join(dir, 'nested', 'pools', 'alpha.plasmite'));
  assert.deepEqual(a.info().bounds, info.bounds);
  assert.equal(client.poolInfo('beta').file_size, 2 * 1024 * 1024);
  client.deletePool('beta');
  assert.deepEqual(client.listPools().map((p) => p.name), ['alpha']);
  assert.equal(client.poolDir, path.join(dir, 'nested', 'pools'));
});

test('an unreadable pool is listed with its error, not fatal', (t) => {
  const dir = tmpDir(t);
  const client = new Client(dir);
  client.createPool('good');
  fs.writeFileSync(path.join(dir, 'bad.plasmite'), 'not a pool at all, just text');
  const list = client.listPools();
  assert.deepEqual(list.map((p) => p.name), ['bad', 'good']);
  assert.equal(list[0].error.kind, 'Corrupt');
  assert.equal(list[1].error, undefined);
});

test('creating an existing pool is AlreadyExists and keeps its messages', (t) => {
  const { client, pool } = freshPool(t, 'keep');
  pool.append({ v: 1 });
  assert.throws(
    () => client.createPool('keep'),
    (e) => e.kind === 'AlreadyExists' && e.path.endsWith('keep.plasmite') && e.exitCode === 4,
  );
  assert.deepEqual(client.openPool('keep').get(1).data, { v: 1 });
});

test('a reference with a slash is a path', (t) => {
  const dir = tmpDir(t);
  const client = new Client(path.join(dir, 'unused'));
  const file = path.join(dir, 'direct.plasmite');
  client.createPool(file).append({ direct: true });
  assert.deepEqual(client.openPool(file).get(1).data, { direct: true });
  assert.ok(!fs.existsSync(path.join(dir, 'unused')));
});

test('the default directory is $PLASMITE_DIR', (t) => {
  const dir = tmpDir(t);
  const old = process.env.PLASMITE_DIR;
  process.env.PLASMITE_DIR = dir;
  t.after(() => (old === undefined ? delete process.env.PLASMITE_DIR : (process.env.PLASMITE_DIR = old)));
  assert.equal(new Client().poolDir, dir);
});

test('closed handles refuse with Usage', (t) => {
  const { client, pool } = freshPool(t);
  const again = client.openPool('p');
  pool.close();
  assert.throws(() => pool.append({ a: 1 }), (e) => e.kind === 'Usage' && /closed/.test(e.message));
  again.append({ still: 'open' });
  client.close();
  assert.throws(() => client.openPool('p'), (e) => e.kind === 'Usage' && /closed/.test(e.message));
  assert.deepEqual(again.get(1).data, { still: 'open' }, 'pools outlive their client');
});

test('two handles on one pool see each other', (t) => {
  const { client, pool } = freshPool(t);
  const other = client.openPool('p');
  pool.append({ from: 'first' });
  other.append({ from: 'second' });
  assert.deepEqual([pool.get(2).data, other.get(1).data], [{ from: 'second' }, { from: 'first' }]);
});

test('Durability and ErrorKind are frozen string enums', () => {
  assert.deepEqual({ ...Durability }, { Fast: 'fast', Flush: 'flush' });
  assert.equal(ErrorKind.NotFound, 'NotFound');
  assert.ok(Object.isFrozen(ErrorKind) && Object.isFrozen(Durability));
  assert.equal(typeof plasmite.version, 'string');
});
