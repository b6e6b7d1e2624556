'use strict';
// RemoteClient: pools served by `pls serve` (HTTP/JSON v0, spec/remote.md),
// in plain JavaScript over fetch. Needs no native addon.

const { PlasmiteError, ErrorKind, usageError } = require('./errors.js');
const { replay, checkSpeed } = require('./replay.js');

/**
 * An error answered by the server (or a failure to reach it): a
 * PlasmiteError with the HTTP `status` (0 when no response came).
 */
class RemoteError extends PlasmiteError {
  constructor(message, init = {}) {
    super(message, { kind: ErrorKind.Io, ...init });
    this.name = 'RemoteError';
    this.status = init.status ?? 0;
  }
}

/** The RemoteError for a non-2xx response with body `text`. */
function responseError(status, text) {
  let e;
  try {
    e = JSON.parse(text).error;
  } catch {
    e = undefined;
  }
  if (!e || typeof e !== 'object') {
    return new RemoteError(`HTTP ${status}: ${text.slice(0, 200)}`, { status });
  }
  return new RemoteError(e.message || `HTTP ${status}`, {
    status,
    kind: e.kind,
    hint: e.hint,
    path: e.path,
    seq: e.seq,
    offset: e.offset,
  });
}

function checkName(name) {
  if (typeof name !== 'string' || name === '') throw usageError('pool name must be a non-empty string');
  // URL parsing collapses a "." or ".." path segment (even percent-encoded)
  // before the request leaves, so the server could never refuse these.
  if (name === '.' || name === '..') throw usageError(`invalid pool name ${JSON.stringify(name)}`);
  return encodeURIComponent(name);
}

/** A client of one `pls serve` server. */
class RemoteClient {
  /**
   * `baseUrl`: `http(s)://host:port` (no path). `token`: the bearer token of
   * a server started with --token / --token-file.
   */
  constructor(baseUrl, { token, fetch: fetchImpl } = {}) {
    let url;
    try {
      url = new URL(baseUrl);
    } catch {
      throw usageError(`invalid base URL ${JSON.stringify(baseUrl)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw usageError(`base URL must be http or https, got ${url.protocol}`);
    }
    if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
      throw usageError('base URL must not have a path, query or fragment');
    }
    this.baseUrl = url.origin;
    this._token = token;
    this._fetch = fetchImpl || globalThis.fetch;
  }

  /** The same server with another token. */
  withToken(token) {
    return new RemoteClient(this.baseUrl, { token, fetch: this._fetch });
  }

  _headers(json) {
    const h = { accept: 'application/json' };
    if (json) h['content-type'] = 'application/json';
    if (this._token) h.authorization = `Bearer ${this._token}`;
    return h;
  }

  /** Sends a request; returns the response (2xx) or throws a RemoteError. */
  async _send(method, path, body, signal) {
    const url = this.baseUrl + path;
    let res;
    try {
      res = await this._fetch(url, {
        method,
        headers: this._headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new RemoteError(`cannot reach ${url}: ${e && e.message}`, { cause: e });
    }
    if (!res.ok) throw responseError(res.status, await res.text());
    return res;
  }

  async _json(method, path, body) {
    const res = await this._send(method, path, body);
    return res.json();
  }

  /** Creates a pool on the server (AlreadyExists if it exists); returns it. */
  async createPool(name, sizeBytes) {
    const body = { pool: name };
    if (sizeBytes !== undefined && sizeBytes !== null) body.size_bytes = Number(sizeBytes);
    checkName(name);
    await this._json('POST', '/v0/pools', body);
    return new RemotePool(this, name);
  }

  /** Opens an existing pool (NotFound if it does not exist). */
  async openPool(name) {
    checkName(name);
    await this._json('POST', '/v0/pools/open', { pool: name });
    return new RemotePool(this, name);
  }

  /** The pool's info (the object of `pls pool info --json`). */
  async poolInfo(name) {
    return (await this._json('GET', `/v0/pools/${checkName(name)}/info`)).pool;
  }

  /**
   * Every pool, sorted by name; one the server cannot read is listed as
   * `{name, error: {kind, message}}`.
   */
  async listPools() {
    const r = await this._json('GET', '/v0/pools');
    const all = [...(r.pools || []), ...(r.errors || [])];
    return all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Deletes a pool. */
  async deletePool(name) {
    await this._json('DELETE', `/v0/pools/${checkName(name)}`);
  }
}

/** A pool on a server. */
class RemotePool {
  constructor(client, name) {
    this.client = client;
    this.name = name;
    this._path = `/v0/pools/${checkName(name)}`;
  }

  /** The pool's info. */
  async info() {
    return (await this.client._json('GET', `${this._path}/info`)).pool;
  }

  /** Appends one message; returns the stored message `{data, meta, seq, time}`. */
  async append(data, tags = [], durability = 'fast') {
    if (durability !== 'fast' && durability !== 'flush') {
      throw usageError(`durability must be "fast" or "flush", got ${JSON.stringify(durability)}`);
    }
    const r = await this.client._json('POST', `${this._path}/append`, { data, tags, durability });
    return r.message;
  }

  /** The message with `seq`. */
  async get(seq) {
    const n = Number(seq);
    if (!Number.isSafeInteger(n) || n < 0) throw usageError('seq must be a whole number');
    return (await this.client._json('GET', `${this._path}/messages/${n}`)).message;
  }

  /**
   * A stream of messages (JSON Lines from the server). Options: sinceSeq,
   * maxMessages, timeoutMs (idle), tags. Without timeoutMs the tail
   * follows until cancelled, reconnecting when the server ends an idle
   * stream at its --max-tail-timeout-ms.
   */
  tail(options = {}) {
    return new RemoteTail(this, options);
  }

  /** tail() paced by the messages' time gaps divided by `speed`. */
  replay(options = {}) {
    const { speed = 1, ...rest } = options;
    return replay(this.tail(rest), checkSpeed(speed, usageError));
  }
}

/** A tail of a remote pool: `next()` → message or null; async iterable. */
class RemoteTail {
  constructor(pool, options) {
    const known = ['sinceSeq', 'maxMessages', 'timeoutMs', 'tags'];
    for (const k of Object.keys(options)) {
      if (!known.includes(k)) {
        const why =
          k === 'where' || k === 'last'
            ? ' (pls serve has no such stream parameter)'
            : k === 'name' || k === 'autoAck'
              ? ' (named readers are for local pools: pls serve has no such stream parameter)'
              : '';
        throw usageError(`unknown remote tail option ${JSON.stringify(k)}${why}`);
      }
    }
    this._pool = pool;
    this._since = options.sinceSeq;
    this._left = options.maxMessages;
    this._timeoutMs = options.timeoutMs;
    this._tags = options.tags || [];
    this._abort = new AbortController();
    this._reader = null;
    this._decoder = new TextDecoder();
    this._text = '';
    this._done = false;
  }

  _query() {
    const q = new URLSearchParams();
    if (this._since !== undefined) q.set('since_seq', String(this._since));
    if (this._left !== undefined) q.set('max', String(this._left));
    if (this._timeoutMs !== undefined) q.set('timeout_ms', String(this._timeoutMs));
    for (const t of this._tags) q.append('tag', t);
    const s = q.toString();
    return s ? `?${s}` : '';
  }

  /** The next message, or null once the stream is over or cancelled. */
  async next() {
    try {
      for (;;) {
        if (this._done || this._left === 0) return this._end();
        const nl = this._text.indexOf('\n');
        if (nl >= 0) {
          const line = this._text.slice(0, nl);
          this._text = this._text.slice(nl + 1);
          if (line.trim() === '') continue;
          const m = JSON.parse(line);
          this._since = m.seq + 1;
          if (this._left !== undefined) this._left -= 1;
          return m;
        }
        if (!this._reader) {
          const res = await this._pool.client._send(
            'GET',
            `${this._pool._path}/tail${this._query()}`,
            undefined,
            this._abort.signal,
          );
          this._reader = res.body.getReader();
        }
        const { value, done } = await this._reader.read();
        if (done) {
          this._reader = null;
          // The server ended the stream: the idle timeout the caller asked
          // for, or (without one) the server's own limit: then go on.
          if (this._timeoutMs !== undefined) return this._end();
          continue;
        }
        this._text += this._decoder.decode(value, { stream: true });
      }
    } catch (e) {
      if (this._abort.signal.aborted) return this._end();
      this._end();
      throw e;
    }
  }

  _end() {
    this._done = true;
    return null;
  }

  /** Stops the stream; a pending next() resolves null. */
  cancel() {
    this._done = true;
    this._abort.abort();
  }

  [Symbol.asyncIterator]() {
    return {
      next: async () => {
        const m = await this.next();
        return m === null ? { value: undefined, done: true } : { value: m, done: false };
      },
      return: async (value) => {
        this.cancel();
        return { value, done: true };
      },
    };
  }
}

module.exports = { RemoteClient, RemotePool, RemoteTail, RemoteError };
