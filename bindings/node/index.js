'use strict';
// Plasmite for Node: local pools through the native addon (napi-rs over the
// Rust library), remote pools through `pls serve` with fetch (remote.js).

const fs = require('node:fs');
const path = require('node:path');
const { PlasmiteError, ErrorKind, usageError } = require('./errors.js');
const remote = require('./remote.js');
const { replay, timeNs, checkSpeed } = require('./replay.js');

/** Loads the addon built for this platform, or remembers why it could not. */
function loadNative() {
  const override = process.env.PLASMITE_NODE_ADDON;
  const candidates = override
    ? [override]
    : [
        `plasmite.${process.platform}-${process.arch}-gnu.node`,
        `plasmite.${process.platform}-${process.arch}-musl.node`,
        `plasmite.${process.platform}-${process.arch}.node`,
      ].map((f) => path.join(__dirname, f));
  for (const file of candidates) {
    if (!fs.existsSync(file)) continue;
    try {
      return { addon: require(file), error: null };
    } catch (e) {
      // Built for another system, say: local pools are out, RemoteClient works.
      return { addon: null, error: `cannot load the native addon ${file}: ${e.message}` };
    }
  }
  return {
    addon: null,
    error: `no native addon for ${process.platform}-${process.arch} (looked for ${candidates.join(', ')})`,
  };
}

const { addon: native, error: nativeError } = loadNative();
if (native) native.registerErrorClass(PlasmiteError);

function requireNative() {
  if (!native) {
    throw new PlasmiteError(nativeError, {
      kind: ErrorKind.Internal,
      hint: 'Build it with `npm run build` in bindings/node, or use RemoteClient.',
    });
  }
  return native;
}

/** How durable an append is when it returns. */
const Durability = Object.freeze({
  /** In the shared page cache: survives the process, not a power cut. */
  Fast: 'fast',
  /** On disk (fdatasync) before the append returns. */
  Flush: 'flush',
});

function isFlush(durability) {
  if (durability === undefined || durability === null || durability === 'fast') return false;
  if (durability === 'flush') return true;
  throw usageError(`durability must be "fast" or "flush", got ${JSON.stringify(durability)}`);
}

function checkTags(tags) {
  if (tags === undefined || tags === null) return undefined;
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
    throw usageError('tags must be an array of strings');
  }
  return tags.length === 0 ? undefined : tags;
}

function dataText(data) {
  let text;
  try {
    text = JSON.stringify(data);
  } catch (e) {
    throw usageError(`data cannot be written as JSON: ${e.message}`, { cause: e });
  }
  if (typeof text !== 'string' || text.charCodeAt(0) !== 123 /* { */) {
    throw usageError('data must be a JSON object');
  }
  return text;
}

function poolRef(ref) {
  if (typeof ref !== 'string' || ref === '') throw usageError('a pool reference must be a non-empty string');
  return ref;
}

function jsonInput(json) {
  if (typeof json === 'string' || Buffer.isBuffer(json)) return json;
  if (json instanceof Uint8Array) return Buffer.from(json.buffer, json.byteOffset, json.byteLength);
  throw usageError('appendJson takes JSON text as a string or a Buffer');
}

/**
 * A directory of pools (default: $PLASMITE_DIR, else ~/.plasmite/pools).
 * A pool reference containing "/" is a file path instead of a name.
 */
class Client {
  constructor(poolDir) {
    if (poolDir !== undefined && poolDir !== null && typeof poolDir !== 'string') {
      throw usageError('poolDir must be a string');
    }
    this._dir = new (requireNative().NativeDir)(poolDir || undefined);
  }

  _native() {
    if (!this._dir) throw usageError('client is closed');
    return this._dir;
  }

  /** The pool directory. */
  get poolDir() {
    return this._native().path;
  }

  /** Creates a pool (1 MiB unless sizeBytes says otherwise); AlreadyExists if it exists. */
  createPool(ref, sizeBytes = 1024 * 1024) {
    const size = typeof sizeBytes === 'bigint' ? Number(sizeBytes) : sizeBytes;
    if (typeof size !== 'number') throw usageError('sizeBytes must be a number');
    return new Pool(this._native().create(poolRef(ref), size));
  }

  /** Opens an existing pool. */
  openPool(ref) {
    return new Pool(this._native().open(poolRef(ref)));
  }

  /** The pool's info: the object of `pls pool info --json`. */
  poolInfo(ref) {
    return JSON.parse(this._native().infoJson(poolRef(ref)));
  }

  /** Every pool in the directory, sorted by name (unreadable ones carry `error`). */
  listPools() {
    return JSON.parse(this._native().listJson());
  }

  /** Deletes a pool file. */
  deletePool(ref) {
    this._native().delete(poolRef(ref));
  }

  /** Releases the client; pools it opened stay usable until closed. */
  close() {
    this._dir = null;
  }
}

/** An open pool. */
class Pool {
  constructor(nativePool) {
    this._pool = nativePool;
  }

  _native() {
    if (!this._pool) throw usageError('pool is closed');
    return this._pool;
  }

  /** The pool file's path. */
  get path() {
    return this._native().path;
  }

  /** The reference the pool was opened with. */
  get name() {
    return this._native().name;
  }

  /**
   * Appends one message whose data is a JSON object; returns its receipt
   * `{seq, time, meta: {tags}}` (the envelope without data).
   */
  append(data, tags, durability) {
    const t = checkTags(tags);
    const r = this._native().appendText(dataText(data), t, isFlush(durability));
    return { meta: { tags: t ? [...t] : [] }, seq: r.seq, time: r.time };
  }

  /**
   * Appends one message whose data is JSON object text (string or Buffer)
   * and returns the stored envelope as a Buffer.
   */
  appendJson(json, tags, durability) {
    return this._native().appendJson(jsonInput(json), checkTags(tags), isFlush(durability));
  }

  /** The message with `seq`: `{data, meta: {tags}, seq, time}`. */
  get(seq) {
    return JSON.parse(this._native().getText(seqNumber(seq)));
  }

  /** The envelope of the message with `seq`, as a Buffer of JSON. */
  getJson(seq) {
    return this._native().getJson(seqNumber(seq));
  }

  /** What the pool holds: the object of `pls pool info --json`. */
  info() {
    return JSON.parse(this._native().infoJson());
  }

  /**
   * The pool's durable named readers (tails opened with `name`), in table
   * order: `{name, nextSeq, ackedNs, createdNs}` each. `nextSeq` is the seq
   * the reader resumes at; the times are ns since the Unix epoch.
   */
  readers() {
    return this._native().readers();
  }

  /**
   * Forgets the named reader `name`, so the next tail of that name starts
   * where its options say. PlasmiteError kind NotFound if there is none.
   */
  deleteReader(name) {
    if (typeof name !== 'string') throw usageError('a reader name must be a string');
    this._native().deleteReader(name);
  }

  /**
   * An async iterator over messages (see TailOptions). Waiting happens on a
   * native thread, never on the event loop.
   */
  tail(options = {}) {
    return new Tail(this._native().openTail(tailOptions(options, false)), false);
  }

  /**
   * tail(), yielding each message's envelope as JSON text (a string) rather
   * than an object: for passing messages on without parsing them.
   */
  tailJson(options = {}) {
    return new Tail(this._native().openTail(tailOptions(options, true)), true);
  }

  /**
   * A blocking stream for plain loops: `nextJson()` returns the next
   * envelope as a Buffer (waiting for it on this thread), `null` at the end.
   */
  openStream(options = {}) {
    return new Stream(this._native().openTail(tailOptions(options, true)));
  }

  /**
   * Messages as in tail(), delivered with the time gaps they were appended
   * with, divided by `speed` (2 = twice as fast; Infinity = no pauses).
   */
  replay(options = {}) {
    const { speed = 1, ...rest } = options;
    return replay(this.tail(rest), checkSpeed(speed, usageError));
  }

  /** Releases the pool handle (its open tails keep working). */
  close() {
    this._pool = null;
  }
}

function seqNumber(seq) {
  const n = typeof seq === 'bigint' ? Number(seq) : seq;
  if (typeof n !== 'number') throw usageError('seq must be a number');
  return n;
}

function optionalCount(value, name) {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number') throw usageError(`${name} must be a number`);
  return n;
}

function tailOptions(o, lines) {
  if (o === null || typeof o !== 'object') throw usageError('tail options must be an object');
  const known = ['sinceSeq', 'last', 'maxMessages', 'timeoutMs', 'tags', 'where', 'name', 'autoAck'];
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw usageError(`unknown tail option ${JSON.stringify(k)}`);
  }
  let where = o.where;
  if (typeof where === 'string') where = [where];
  if (where !== undefined && (!Array.isArray(where) || !where.every((w) => typeof w === 'string'))) {
    throw usageError('where must be a jq expression or an array of them');
  }
  if (o.name !== undefined && o.name !== null && typeof o.name !== 'string') {
    throw usageError('name must be a string');
  }
  if (o.autoAck !== undefined && o.autoAck !== null && typeof o.autoAck !== 'boolean') {
    throw usageError('autoAck must be a boolean');
  }
  return {
    sinceSeq: optionalCount(o.sinceSeq, 'sinceSeq'),
    last: optionalCount(o.last, 'last'),
    max: optionalCount(o.maxMessages, 'maxMessages'),
    idleTimeoutMs: optionalCount(o.timeoutMs, 'timeoutMs'),
    tags: checkTags(o.tags),
    where,
    lines,
    name: o.name ?? undefined,
    autoAck: o.autoAck ?? undefined,
  };
}

// Messages per native call, and a byte bound so one batch stays small: a
// batch string over V8's large-object size (128 KiB) gets pages of its own,
// mapped and unmapped for each batch, and the page faults halved the read
// rate.
const BATCH_MESSAGES = 1024;
const BATCH_BYTES = 64 << 10;

/**
 * A pool's messages as an async iterator: `for await (const m of tail)`.
 * Reads what is there in batches on the JavaScript thread (a memory copy);
 * waits for more on a native thread. `return()` / `cancel()` end it.
 * A named tail (option `name`) reads one message per native call, so that
 * nothing is acknowledged ahead of the loop.
 */
class Tail {
  constructor(nativeTail, lines) {
    this._tail = nativeTail;
    this._lines = lines;
    this._batch = [];
    this._i = 0;
    this._done = false;
    this._busy = null;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** The next message, or `{done: true}` once the tail is over. */
  next() {
    if (this._i < this._batch.length) {
      return Promise.resolve({ value: this._batch[this._i++], done: false });
    }
    // One read at a time: a caller that does not await gets its reads in order.
    const run = this._busy ? this._busy.then(() => this._fill()) : this._fill();
    this._busy = run.catch(() => undefined);
    return run;
  }

  async _fill() {
    if (this._i < this._batch.length) return { value: this._batch[this._i++], done: false };
    if (this._done) return { value: undefined, done: true };
    let text;
    try {
      text = this._tail.readNow(BATCH_MESSAGES, BATCH_BYTES);
      if (text === '') text = await this._tail.wait(BATCH_MESSAGES, BATCH_BYTES);
    } catch (e) {
      this._finish();
      throw e;
    }
    if (text === null || this._done) {
      this._finish();
      return { value: undefined, done: true };
    }
    this._batch = this._lines ? text.split('\n') : JSON.parse(text);
    this._i = 1;
    return { value: this._batch[0], done: false };
  }

  _finish() {
    this._done = true;
    this._batch = [];
    this._i = 0;
    this._tail.cancel();
  }

  /** Ends the tail (a pending next() resolves done within a few ms). */
  cancel() {
    this._finish();
  }

  /** Called by `for await` on break/throw: ends the tail. */
  return(value) {
    this._finish();
    return Promise.resolve({ value, done: true });
  }

  /**
   * Acknowledges every message this tail has yielded: a named tail stores
   * its position in the pool, so the next tail of that name resumes after
   * them. Needed only with `autoAck: false`; with auto-ack a message is
   * acknowledged when the next one is asked for, so a `break` leaves the
   * message in hand unacknowledged unless you call this first. A no-op for
   * a tail without a name. Also works after the tail has ended.
   */
  ack() {
    this._tail.ack();
  }

  /**
   * Acknowledges the messages up to and including `seq`, never past what
   * this tail has yielded (it may move the stored position back): for a
   * consumer that hands messages on and learns later which were handled.
   * A no-op for a tail without a name.
   */
  ackThrough(seq) {
    this._tail.ackThrough(seqNumber(seq));
  }

  /** Messages delivered so far (counted natively, batches included). */
  get delivered() {
    return this._tail.delivered;
  }

  /**
   * Messages writers evicted before this tail could read them; for a named
   * tail this includes those evicted while the reader was away.
   */
  get dropped() {
    return this._tail.dropped;
  }

  /** Damaged frames stepped over. */
  get damaged() {
    return this._tail.damaged;
  }

  /** The seq the native reader reads next (batches read ahead of the iterator). */
  get nextSeq() {
    return this._tail.nextSeq;
  }
}

/** The blocking counterpart of Tail, for scripts. */
class Stream {
  constructor(nativeTail) {
    this._tail = nativeTail;
    // Kept after close() for ack() and dropped.
    this._reader = nativeTail;
    // The current batch (JSON Lines) and where its next envelope starts.
    this._batch = null;
    this._at = 0;
  }

  /**
   * The next envelope as a Buffer, blocking until it arrives; null at the
   * end. Envelopes are views of a batch read in one native call (up to
   * 64 KiB), which stays allocated while any of them is kept.
   */
  nextJson() {
    if (!this._tail) return null;
    if (this._batch === null || this._at >= this._batch.length) {
      this._batch = this._tail.nextLines(BATCH_MESSAGES, BATCH_BYTES);
      this._at = 0;
      if (this._batch === null) return null;
    }
    let end = this._batch.indexOf(10, this._at);
    if (end < 0) end = this._batch.length;
    const envelope = this._batch.subarray(this._at, end);
    this._at = end + 1;
    return envelope;
  }

  /** The next message as an object; null at the end. */
  next() {
    const b = this.nextJson();
    return b === null ? null : JSON.parse(b.toString('utf8'));
  }

  /** Ends the stream. */
  close() {
    if (this._tail) this._tail.cancel();
    this._tail = null;
    this._batch = null;
  }

  /**
   * Acknowledges every message returned so far (see Tail.ack): for a named
   * stream with `autoAck: false`. A no-op without a name; works after close().
   */
  ack() {
    this._reader.ack();
  }

  /** Acknowledges up to and including `seq` (see Tail.ackThrough). */
  ackThrough(seq) {
    this._reader.ackThrough(seqNumber(seq));
  }

  /** Messages writers evicted before this stream could read them (see Tail.dropped). */
  get dropped() {
    return this._reader.dropped;
  }

  *[Symbol.iterator]() {
    for (let m = this.next(); m !== null; m = this.next()) yield m;
  }
}

/** Runs the `pls` / `plasmite` CLI in this process; returns its exit code. */
function runCli(bin, args) {
  return requireNative().runCli(bin, args);
}

module.exports = {
  Client,
  Pool,
  Tail,
  Stream,
  Durability,
  ErrorKind,
  PlasmiteError,
  RemoteClient: remote.RemoteClient,
  RemotePool: remote.RemotePool,
  RemoteTail: remote.RemoteTail,
  RemoteError: remote.RemoteError,
  runCli,
  timeNs,
  nativeAvailable: native !== null,
  version: native ? native.version() : null,
};
