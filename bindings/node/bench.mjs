// The binding benchmark (scripts/bench-bindings): 200,000 appends of a
// 100-byte JSON object, one call each, then a tail from the oldest reading
// them all back. Prints one JSON line.
//
// append_per_s: pool.append(object), the natural call, JSON.stringify
// included. read_per_s: `for await` over pool.tailJson(), each message's
// envelope as a string: the form of the Rust baseline (envelope bytes).
// The extra figures are the other forms: parsed objects from pool.tail(),
// envelope Buffers from the blocking stream, and appendJson with text made
// beforehand. A warm-up on another pool runs first (see below).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Client } = require('./index.js');

const N = 200_000;

// The pad for each length of i, made once: the objects themselves are made
// per call, as an application would, so no 200,000-object array stays alive
// to slow the garbage collector during the reads.
const pads = Array.from({ length: 8 }, (_, digits) => 'x'.repeat(100 - '{"i":,"pad":""}'.length - digits));

function data(i) {
  return { i, pad: pads[String(i).length] };
}

function rate(n, t0) {
  return Math.round(n / ((performance.now() - t0) / 1000));
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plasmite-bench-node-'));
try {
  const client = new Client(dir);
  if (JSON.stringify(data(7)).length !== 100) throw new Error('payload is not 100 bytes');

  // Warm-up on a separate pool, so V8 has compiled the append and read
  // paths before the timed runs (Rust's are compiled ahead of time).
  const warm = client.createPool('warmup', 8 << 20);
  for (let i = 0; i < 20_000; i++) warm.append(data(i));
  for await (const s of warm.tailJson({ maxMessages: 20_000 })) if (!s) throw new Error('empty');
  for await (const m of warm.tail({ maxMessages: 20_000 })) if (!m) throw new Error('empty');
  client.deletePool('warmup');

  // pool.append(object), one call per message.
  let pool = client.createPool('bench', 64 << 20);
  let t0 = performance.now();
  for (let i = 0; i < N; i++) pool.append(data(i));
  const appendPerS = rate(N, t0);

  // for await over tailJson(), envelope strings.
  t0 = performance.now();
  let read = 0;
  let bytes = 0;
  for await (const s of pool.tailJson({ maxMessages: N })) {
    bytes += s.length;
    read += 1;
  }
  const readPerS = rate(read, t0);
  if (read !== N || bytes < N * 150) throw new Error(`read ${read} of ${N} (${bytes} bytes)`);

  // for await over tail(), parsed objects.
  t0 = performance.now();
  read = 0;
  for await (const m of pool.tail({ maxMessages: N })) {
    if (m.seq !== read + 1) throw new Error(`out of order at ${m.seq}`);
    read += 1;
  }
  const objectsPerS = rate(read, t0);

  // The same through the blocking stream, envelope Buffers.
  t0 = performance.now();
  const stream = pool.openStream({ maxMessages: N });
  let n = 0;
  while (stream.nextJson() !== null) n += 1;
  const streamPerS = rate(n, t0);

  // appendJson with text built beforehand, as the Rust baseline does.
  client.deletePool('bench');
  pool = client.createPool('bench', 64 << 20);
  const texts = Array.from({ length: N }, (_, i) => JSON.stringify(data(i)));
  t0 = performance.now();
  for (const t of texts) pool.appendJson(t);
  const appendJsonPerS = rate(N, t0);

  console.log(
    JSON.stringify({
      lang: 'node',
      append_per_s: appendPerS,
      read_per_s: readPerS,
      n: N,
      read_form: 'envelope string (for await over pool.tailJson())',
      append_form: 'pool.append(object)',
      read_objects_per_s: objectsPerS,
      read_stream_buffers_per_s: streamPerS,
      append_json_text_per_s: appendJsonPerS,
    }),
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
