#!/usr/bin/env node
// The Node runner of the conformance manifests in spec/conformance/.
//
//   node test/conformance.mjs MANIFEST.json [--workdir DIR]
//
// Exits 0 when every step passes, 1 naming the first failing step, 2 on a bad
// manifest or bad arguments. The rules are those of spec/conformance/README.md
// and of the Rust runner (tests/src/bin/plasmite-conformance.rs).
//
// Run with no arguments (as `node --test` does), it runs every manifest as a
// test case, then the cross-language read on what it wrote itself.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { Client, PlasmiteError } = require('../index.js');

class StepFailure extends Error {}
const fail = (why) => {
  throw new StepFailure(why);
};

/** Deletes and recreates `dir`, first lifting immutable attributes a deny_write step left. */
function freshDir(dir) {
  if (fs.existsSync(dir)) {
    try {
      execFileSync('chattr', ['-R', '-i', dir], { stdio: 'ignore' });
    } catch {
      // No chattr, or nothing to lift.
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.mkdirSync(dir, { recursive: true });
}

const strings = (v) => (Array.isArray(v) ? v.filter((s) => typeof s === 'string') : []);

/** Equality of JSON values, numbers by value, object keys in any order. */
function jsonEq(a, b) {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEq(x, b[i]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEq(a[k], b[k]));
  }
  return a === b;
}

const show = (v) => JSON.stringify(v);

class Runner {
  constructor(workdir) {
    this.workdir = workdir;
    this.client = new Client(workdir);
  }

  /** A pool value with "/" is a path under the working directory. */
  ref(input) {
    const pool = typeof input.pool === 'string' ? input.pool : '';
    return pool.includes('/') ? path.join(this.workdir, pool) : pool;
  }

  file(input) {
    const r = this.ref(input);
    return r.includes('/') ? r : path.join(this.workdir, r.endsWith('.plasmite') ? r : `${r}.plasmite`);
  }

  async step(step) {
    const input = step.input || {};
    const expect = step.expect || {};
    const op = step.op;
    let got;
    try {
      switch (op) {
        case 'create_pool':
          this.client.createPool(this.ref(input), input.size_bytes ?? 1 << 20).close();
          got = {};
          break;
        case 'append': {
          const pool = this.client.openPool(this.ref(input));
          const repeat = input.repeat ?? 1;
          let seq = 0;
          for (let i = 0; i < repeat; i++) seq = pool.append(input.data, strings(input.tags)).seq;
          got = { seq };
          break;
        }
        case 'get': {
          const m = this.client.openPool(this.ref(input)).get(input.seq ?? 0);
          got = { seq: m.seq, data: m.data, tags: m.meta.tags };
          break;
        }
        case 'tail':
          got = await this.tail(input);
          break;
        case 'list_pools':
          got = { names: this.client.listPools().map((p) => p.name) };
          break;
        case 'pool_info': {
          const info = this.client.openPool(this.ref(input)).info();
          got = { file_size: info.file_size, oldest: info.bounds.oldest ?? null, newest: info.bounds.newest ?? null };
          break;
        }
        case 'delete_pool':
          this.client.deletePool(this.ref(input));
          got = {};
          break;
        case 'list_readers':
          got = {
            readers: this.client
              .openPool(this.ref(input))
              .readers()
              .map((r) => ({ name: r.name, next_seq: r.nextSeq })),
          };
          break;
        case 'delete_reader':
          this.client.openPool(this.ref(input)).deleteReader(typeof input.name === 'string' ? input.name : '');
          got = {};
          break;
        case 'spawn_poke':
          return await this.spawnPoke(input);
        case 'corrupt_pool_header':
          return this.corrupt(input);
        case 'deny_write':
          return this.denyWrite(input);
        default:
          fail(`unknown op ${show(op)}`);
      }
    } catch (e) {
      if (!(e instanceof PlasmiteError)) throw e;
      if (!expect.error) fail(`unexpected error: ${e.kind}: ${e.message}`);
      return checkError(e, expect.error);
    }
    if (expect.error) fail(`expected error ${show(expect.error)}, got success ${show(got)}`);
    checkValue(op, got, expect);
  }

  async tail(input) {
    const pool = this.client.openPool(this.ref(input));
    const opts = {
      tags: strings(input.tags),
      where: strings(input.where),
      timeoutMs: input.timeout_ms ?? 1000,
    };
    if (typeof input.max === 'number') opts.maxMessages = input.max;
    if (typeof input.since_seq === 'number') opts.sinceSeq = input.since_seq;
    if (typeof input.last === 'number') opts.last = input.last;
    if (typeof input.name === 'string') {
      opts.name = input.name;
      opts.autoAck = input.manual_ack !== true;
    }
    const ackAfter = typeof input.ack_after === 'number' ? input.ack_after : null;
    const tail = pool.tail(opts);
    const messages = [];
    for await (const m of tail) {
      messages.push({ seq: m.seq, data: m.data, tags: m.meta.tags });
      if (messages.length === ackAfter) tail.ack();
    }
    return { messages, dropped: tail.dropped };
  }

  async spawnPoke(input) {
    const bin = process.env.PLASMITE_BIN || 'pls';
    const pool = this.ref(input);
    const runs = (input.messages || []).map((m) => {
      const args = ['--dir', this.workdir, 'poke', pool, JSON.stringify(m.data)];
      for (const t of strings(m.tags)) args.push('--tag', t);
      return new Promise((resolve) => {
        const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'inherit'] });
        child.on('error', (e) => resolve(`cannot run ${bin}: ${e.message}`));
        child.on('close', (code) => resolve(code === 0 ? null : `${bin} poke exited with ${code}`));
      });
    });
    const problems = (await Promise.all(runs)).filter(Boolean);
    if (problems.length) fail(problems[0]);
  }

  corrupt(input) {
    const file = this.file(input);
    const fd = fs.openSync(file, 'r+');
    try {
      fs.writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, 0);
    } finally {
      fs.closeSync(fd);
    }
  }

  denyWrite(input) {
    const file = this.file(input);
    fs.chmodSync(file, 0o444);
    // Root ignores mode bits: if the file still opens for writing, make it
    // immutable, which binds root too.
    let writable = true;
    try {
      fs.closeSync(fs.openSync(file, 'r+'));
    } catch {
      writable = false;
    }
    if (writable) {
      try {
        execFileSync('chattr', ['+i', file], { stdio: 'ignore' });
      } catch {
        fail('mode 0444 does not stop this user and `chattr +i` failed');
      }
    }
  }
}

function checkError(e, want) {
  if (want.kind !== e.kind) fail(`expected error kind ${show(want.kind)}, got ${e.kind}: ${e.message}`);
  if (typeof want.message_contains === 'string' && !e.message.includes(want.message_contains)) {
    fail(`error message ${show(e.message)} lacks ${show(want.message_contains)}`);
  }
  for (const [key, has] of [
    ['has_path', e.path !== undefined],
    ['has_seq', e.seq !== undefined],
  ]) {
    if (typeof want[key] === 'boolean' && want[key] !== has) {
      fail(`${key}: expected ${want[key]}, got ${has} (path ${show(e.path)}, seq ${show(e.seq)})`);
    }
  }
}

function checkMessage(want, got) {
  if ('seq' in want && want.seq !== got.seq) fail(`seq: expected ${show(want.seq)}, got ${show(got.seq)}`);
  if ('data' in want && !jsonEq(want.data, got.data)) fail(`data: expected ${show(want.data)}, got ${show(got.data)}`);
  if ('tags' in want && show(want.tags) !== show(got.tags)) fail(`tags: expected ${show(want.tags)}, got ${show(got.tags)}`);
}

function checkValue(op, got, expect) {
  if (op === 'tail') {
    if (typeof expect.dropped_min === 'number' && !(got.dropped >= expect.dropped_min)) {
      fail(`tail: dropped (at least) expected ${show(expect.dropped_min)}, got ${show(got.dropped)}`);
    }
    got = got.messages;
    const seqs = got.map((m) => m.seq);
    if (seqs.some((s, i) => i > 0 && seqs[i - 1] >= s)) fail(`tail: seqs not strictly rising: ${show(seqs)}`);
    const want = expect.messages || expect.messages_unordered;
    if (!want && typeof expect.count === 'number' && expect.count !== got.length) {
      fail(`tail: message count expected ${expect.count}, got ${got.length}`);
    }
    if (want) {
      if (want.length !== got.length) fail(`tail: message count expected ${want.length}, got ${got.length}`);
      if (expect.messages) {
        want.forEach((w, i) => checkMessage(w, got[i]));
      } else {
        for (const w of want) {
          const ok = got.some((g) => {
            try {
              checkMessage(w, g);
              return true;
            } catch {
              return false;
            }
          });
          if (!ok) fail(`tail: no message matches ${show(w)}`);
        }
      }
    }
    return;
  }
  if (op === 'get') return checkMessage(expect, got);
  for (const key of ['seq', 'file_size', 'oldest', 'newest']) {
    if (key in expect && !jsonEq(expect[key], got[key])) {
      fail(`${op}: ${key} expected ${show(expect[key])}, got ${show(got[key])}`);
    }
  }
  if ('readers' in expect) {
    const have = [...(got.readers || [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (!jsonEq(expect.readers, have)) fail(`readers: expected ${show(expect.readers)}, got ${show(have)}`);
  }
  if (Array.isArray(expect.names)) {
    const want = [...expect.names].sort();
    const have = [...got.names].sort();
    if (show(want) !== show(have)) fail(`names: expected ${show(want)}, got ${show(have)}`);
  }
}

/** Runs one manifest; returns the exit code (0, 1 or 2) after printing why. */
export async function runManifest(manifestPath, workdirArg) {
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch (e) {
    console.error(`${manifestPath}: ${e.message}`);
    return 2;
  }
  if (doc.conformance_version !== 0) {
    console.error(`${manifestPath}: unsupported conformance_version`);
    return 2;
  }
  const name = typeof doc.name === 'string' ? doc.name : 'manifest';
  const workdir = path.resolve(workdirArg || path.join(path.dirname(manifestPath), `work-${name}`));
  if (doc.fresh_workdir !== false) {
    try {
      freshDir(workdir);
    } catch (e) {
      console.error(`${workdir}: cannot prepare workdir: ${e.message}`);
      return 2;
    }
  }
  const runner = new Runner(workdir);
  const steps = Array.isArray(doc.steps) ? doc.steps : [];
  for (const [i, step] of steps.entries()) {
    try {
      await runner.step(step);
    } catch (e) {
      const why = e instanceof StepFailure ? e.message : `${e.name}: ${e.message}`;
      console.error(`${name}: step ${i} (${step.id ?? '?'}) failed: ${why}`);
      return 1;
    }
  }
  console.log(`${name}: ${steps.length} steps passed`);
  return 0;
}

async function main(args) {
  if (args.length === 1 || (args.length === 3 && args[1] === '--workdir')) {
    process.exitCode = await runManifest(args[0], args[2]);
    return;
  }
  if (args.length !== 0) {
    console.error('usage: conformance.mjs MANIFEST.json [--workdir DIR]');
    process.exitCode = 2;
    return;
  }
  // No arguments: every manifest as a node:test case.
  const { default: test } = await import('node:test');
  const assert = await import('node:assert/strict');
  const here = path.dirname(fileURLToPath(import.meta.url));
  const repo = path.resolve(here, '../../..');
  const specDir = path.join(repo, 'spec', 'conformance');
  if (!process.env.PLASMITE_BIN) {
    process.env.PLASMITE_BIN = path.join(repo, 'target', process.env.PLASMITE_PROFILE || 'ci', 'pls');
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plasmite-conformance-node-'));
  test.after(() => {
    try {
      execFileSync('chattr', ['-R', '-i', work], { stdio: 'ignore' });
    } catch {
      // nothing to lift
    }
    fs.rmSync(work, { recursive: true, force: true });
  });
  const manifests = fs.readdirSync(specDir).filter((f) => f.endsWith('-v0.json') && f !== 'cross-read-v0.json');
  for (const m of manifests.sort()) {
    test(`conformance ${m}`, async () => {
      assert.equal(await runManifest(path.join(specDir, m), path.join(work, m)), 0);
    });
  }
  test('conformance cross-read-v0.json of what this runner wrote', async () => {
    const wrote = path.join(work, 'cross-write-v0.json');
    assert.equal(await runManifest(path.join(specDir, 'cross-read-v0.json'), wrote), 0);
  });
}

await main(process.argv.slice(2));
