'use strict';
// Replay: messages re-delivered with the time gaps they were appended with.

const { setTimeout: sleep } = require('node:timers/promises');

/** Nanoseconds since the epoch of an RFC 3339 UTC time with up to 9 decimals. */
function timeNs(time) {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(time);
  if (!m) return NaN;
  const frac = m[2] ? Number(m[2].padEnd(9, '0')) : 0;
  return Date.parse(`${m[1]}Z`) * 1e6 + frac;
}

/**
 * Yields the messages of `tail` (an async iterable of envelopes with a
 * `cancel()`), each at its original offset from the first one divided by
 * `speed`. A message that arrives late is yielded at once; the schedule is
 * kept from the first message, so pauses do not add up.
 */
async function* replay(tail, speed) {
  let first = null;
  try {
    for await (const m of tail) {
      const t = timeNs(m.time);
      if (first === null) {
        first = { t, at: performance.now() };
      } else if (Number.isFinite(speed) && Number.isFinite(t)) {
        const wait = first.at + (t - first.t) / 1e6 / speed - performance.now();
        if (wait > 0) await sleep(wait);
      }
      yield m;
    }
  } finally {
    tail.cancel();
  }
}

/** Checks a replay speed: a number above 0 (Infinity: no pauses). */
function checkSpeed(speed, usageError) {
  if (typeof speed !== 'number' || !(speed > 0)) {
    throw usageError(`speed must be a number above 0, got ${String(speed)}`);
  }
  return speed;
}

module.exports = { replay, timeNs, checkSpeed };
