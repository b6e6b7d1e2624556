// The package's `pls` / `plasmite` bins: the CLI run in-process by the addon.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { plasmite, tmpDir, run, here } from './helpers.mjs';

const bin = (name) => path.join(here, '..', 'bin', `${name}.js`);

test('pls poke and get through the npm bin', async (t) => {
  const dir = tmpDir(t);
  const poke = await run(process.execPath, [bin('pls'), '--dir', dir, 'poke', 'chat', '--create', '{"from":"bin"}']);
  assert.equal(poke.code, 0, poke.stderr);
  assert.equal(JSON.parse(poke.stdout).seq, 1);
  const get = await run(process.execPath, [bin('plasmite'), '--dir', dir, 'get', 'chat', '1']);
  assert.equal(get.code, 0, get.stderr);
  assert.deepEqual(JSON.parse(get.stdout).data, { from: 'bin' });
  // The binding reads what the CLI wrote.
  assert.deepEqual(new plasmite.Client(dir).openPool('chat').get(1).data, { from: 'bin' });
});

test('exit codes and error envelopes pass through', async (t) => {
  const dir = tmpDir(t);
  const missing = await run(process.execPath, [bin('pls'), '--dir', dir, 'get', 'nope', '1']);
  assert.equal(missing.code, 3);
  assert.equal(JSON.parse(missing.stderr).error.kind, 'NotFound');
  const usage = await run(process.execPath, [bin('pls'), '--no-such-flag']);
  assert.equal(usage.code, 2);
  const version = await run(process.execPath, [bin('plasmite'), 'version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /\d+\.\d+\.\d+/);
});
