// A consumer for named-readers.test.mjs, run as a child process and killed
// with SIGKILL: it follows a named tail (auto-ack) and, for each message,
// writes its seq to stdout (synchronously: written out = handled) and then
// works on it for a moment before asking for the next one.
//
//   node named-consumer.mjs POOL_DIR POOL READER
import fs from 'node:fs';
import { createRequire } from 'node:module';

const { Client } = createRequire(import.meta.url)('../index.js');
const [dir, poolName, reader] = process.argv.slice(2);

const pause = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => Atomics.wait(pause, 0, 0, ms);

/** Writes all of `text` to stdout before returning, even on a non-blocking pipe. */
function writeOut(text) {
  const bytes = Buffer.from(text);
  for (let off = 0; off < bytes.length; ) {
    try {
      off += fs.writeSync(1, bytes, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      sleep(1);
    }
  }
}

const pool = new Client(dir).openPool(poolName);
for await (const m of pool.tail({ name: reader })) {
  writeOut(`${m.seq}\n`);
  sleep(4);
}
