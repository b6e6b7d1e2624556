// Errors arrive as PlasmiteError with a kind and typed context, set from the
// library's error (not parsed out of its message).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { plasmite, tmpDir, freshPool } from './helpers.mjs';

const { Client, PlasmiteError, ErrorKind } = plasmite;

function catchError(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail('expected an error');
}

test('a missing pool is NotFound with its path and a hint', (t) => {
  const dir = tmpDir(t);
  const client = new Client(dir);
  const e = catchError(() => client.openPool('nope'));
  assert.ok(e instanceof PlasmiteError);
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'PlasmiteError');
  assert.equal(e.kind, ErrorKind.NotFound);
  assert.equal(e.path, path.join(dir, 'nope.plasmite'));
  assert.equal(e.seq, undefined);
  assert.match(e.message, /not found/);
  assert.match(e.hint, /pls pool create nope/);
  assert.equal(e.exitCode, 3);
  assert.ok(e.stack.includes('errors.test.mjs'), 'the stack points at the caller');
  for (const fn of [() => client.poolInfo('nope'), () => client.deletePool('nope')]) {
    const again = catchError(fn);
    assert.equal(again.kind, 'NotFound');
    assert.ok(again.path);
  }
});

test('a missing seq is NotFound with the seq', (t) => {
  const { pool } = freshPool(t);
  pool.append({ a: 1 });
  for (const seq of [42, 0]) {
    const e = catchError(() => pool.get(seq));
    assert.equal(e.kind, 'NotFound');
    assert.equal(e.seq, seq);
  }
});

test('a damaged header is Corrupt with the path', (t) => {
  const { dir, client, pool } = freshPool(t, 'corrupt');
  pool.close();
  const file = path.join(dir, 'corrupt.plasmite');
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, 0);
  fs.closeSync(fd);
  for (const fn of [() => client.openPool('corrupt'), () => client.poolInfo('corrupt')]) {
    const e = catchError(fn);
    assert.equal(e.kind, 'Corrupt');
    assert.equal(e.path, file);
    assert.equal(e.exitCode, 7);
  }
  client.deletePool('corrupt');
});

test('a bad pool name and a too-small pool are Usage', (t) => {
  const client = new Client(tmpDir(t));
  assert.equal(catchError(() => client.createPool('..')).kind, 'Usage');
  assert.equal(catchError(() => client.createPool('tiny', 100)).kind, 'Usage');
  assert.equal(catchError(() => client.createPool('neg', -5)).kind, 'Usage');
});

test('an unwritable pool is Permission on append; reads go on', (t) => {
  const { dir, client, pool } = freshPool(t, 'locked');
  pool.append({ a: 1 });
  pool.close();
  const file = path.join(dir, 'locked.plasmite');
  fs.chmodSync(file, 0o444);
  let immutable = false;
  try {
    fs.closeSync(fs.openSync(file, 'r+'));
    // Still writable: we are root. The immutable attribute binds root too.
    execFileSync('chattr', ['+i', file], { stdio: 'ignore' });
    immutable = true;
  } catch (e) {
    if (e.code !== 'EACCES' && e.code !== 'EPERM') {
      t.skip(`cannot make the file unwritable here: ${e.message}`);
      return;
    }
  }
  try {
    const locked = client.openPool('locked');
    const e = catchError(() => locked.append({ a: 2 }));
    assert.equal(e.kind, 'Permission');
    assert.equal(e.path, file);
    assert.ok(e.hint);
    assert.deepEqual(locked.get(1).data, { a: 1 });
  } finally {
    // Before the directory is removed: root cannot delete an immutable file.
    if (immutable) execFileSync('chattr', ['-i', file]);
  }
});

test('a jq predicate that does not compile is Usage when the tail opens', (t) => {
  const { pool } = freshPool(t);
  const e = catchError(() => pool.tail({ where: ['.data.i >'] }));
  assert.equal(e.kind, 'Usage');
  assert.match(e.message, /\.data\.i >/);
});

test('PlasmiteError can be made and defaults sensibly', () => {
  const e = new PlasmiteError('boom', { kind: 'Busy', seq: 3 });
  assert.equal(e.kind, 'Busy');
  assert.equal(e.seq, 3);
  assert.equal(e.exitCode, 5);
  assert.equal(new PlasmiteError('x', { kind: 'Nonsense' }).kind, 'Internal');
  const cause = new Error('inner');
  assert.equal(new PlasmiteError('y', { cause }).cause, cause);
});
