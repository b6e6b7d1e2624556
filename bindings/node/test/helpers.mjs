// Shared by the tests: temporary pool directories, the real `pls` binary,
// and a real `pls serve` on a free loopback port.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../../..');
export const plasmite = createRequire(import.meta.url)('../index.js');

/** The `pls` binary: $PLASMITE_BIN, else target/ci/pls of this checkout. */
export function plsBin() {
  const bin = process.env.PLASMITE_BIN || path.join(repo, 'target', process.env.PLASMITE_PROFILE || 'ci', 'pls');
  if (!fs.existsSync(bin)) throw new Error(`pls binary not found at ${bin}; build it or set PLASMITE_BIN`);
  return bin;
}

/** A fresh directory, removed when the test ends. */
export function tmpDir(t, prefix = 'plasmite-node-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A client over a fresh directory, with a pool `name` created in it. */
export function freshPool(t, name = 'p', size = 1 << 20) {
  const dir = tmpDir(t);
  const client = new plasmite.Client(dir);
  return { dir, client, pool: client.createPool(name, size) };
}

/** Runs a command to completion: {code, stdout, stderr}. */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts the real `pls serve` on a free loopback port over `dir`; stopped
 * when the test ends. Resolves to its base URL once /healthz answers.
 */
export async function startServer(t, dir, extraArgs = []) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(
      plsBin(),
      ['--dir', dir, 'serve', '--bind', `127.0.0.1:${port}`, '--max-tail-timeout-ms', '2000', ...extraArgs],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let exited = false;
    child.on('exit', () => (exited = true));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline) {
      try {
        const r = await fetch(`${url}/healthz`);
        if (r.ok) {
          t.after(() => {
            if (!exited) child.kill('SIGTERM');
          });
          return url;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    if (!exited && Date.now() >= deadline) throw new Error(`pls serve did not start: ${stderr}`);
    // It exited: most likely the port was taken meanwhile; try another.
  }
  throw new Error('pls serve did not start on any port');
}

/** Resolves after `ms`. */
export const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/** Collects every message of an async iterable. */
export async function collect(iterable) {
  const out = [];
  for await (const m of iterable) out.push(m);
  return out;
}
