'use strict';
// The error classes shared by the local (native) and remote clients.

/** The stable error kinds; `PlasmiteError.kind` is one of these strings. */
const ErrorKind = Object.freeze({
  Internal: 'Internal',
  Usage: 'Usage',
  NotFound: 'NotFound',
  AlreadyExists: 'AlreadyExists',
  Busy: 'Busy',
  Permission: 'Permission',
  Corrupt: 'Corrupt',
  Io: 'Io',
});

/** The `pls` exit code of each kind. */
const EXIT_CODES = Object.freeze({
  Internal: 1,
  Usage: 2,
  NotFound: 3,
  AlreadyExists: 4,
  Busy: 5,
  Permission: 6,
  Corrupt: 7,
  Io: 8,
});

/**
 * An error from Plasmite: `kind` (an ErrorKind string), `message`, and the
 * context that is known — `hint` (what to do), `path`, `seq`, `offset`.
 * The native addon throws these with the fields set from the library's error.
 */
class PlasmiteError extends Error {
  constructor(message, init = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'PlasmiteError';
    this.kind = init.kind in EXIT_CODES ? init.kind : ErrorKind.Internal;
    this.hint = init.hint;
    this.path = init.path;
    this.seq = init.seq;
    this.offset = init.offset;
  }

  /** The exit code `pls` uses for this kind. */
  get exitCode() {
    return EXIT_CODES[this.kind];
  }
}

/** A Usage error raised by the binding itself (a bad argument). */
function usageError(message, extra = {}) {
  return new PlasmiteError(message, { kind: ErrorKind.Usage, ...extra });
}

module.exports = { ErrorKind, PlasmiteError, usageError, EXIT_CODES };
