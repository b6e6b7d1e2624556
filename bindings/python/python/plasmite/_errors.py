"""Error kinds, durability levels and the exception classes of plasmite.

Plain Python on purpose: the native module raises these classes, and users
catch, subclass and pickle them like any other exception.
"""

from __future__ import annotations

import enum
from typing import Optional


class ErrorKind(enum.IntEnum):
    """The stable category of an error; the value is the CLI's exit code."""

    INTERNAL = 1
    USAGE = 2
    NOT_FOUND = 3
    ALREADY_EXISTS = 4
    BUSY = 5
    PERMISSION = 6
    CORRUPT = 7
    IO = 8

    @property
    def label(self) -> str:
        """The kind's stable name, as in the CLI's JSON errors (``"NotFound"``)."""
        return _LABELS[self]


_LABELS = {
    ErrorKind.INTERNAL: "Internal",
    ErrorKind.USAGE: "Usage",
    ErrorKind.NOT_FOUND: "NotFound",
    ErrorKind.ALREADY_EXISTS: "AlreadyExists",
    ErrorKind.BUSY: "Busy",
    ErrorKind.PERMISSION: "Permission",
    ErrorKind.CORRUPT: "Corrupt",
    ErrorKind.IO: "Io",
}


class Durability(enum.IntEnum):
    """How durable an append is when it returns."""

    #: In the shared page cache: survives the process, not a power cut.
    FAST = 0
    #: On disk (``fdatasync``) before the append returns.
    FLUSH = 1


class PlasmiteError(Exception):
    """An error from plasmite, with its kind and whatever context is known.

    Every error raised by the library is an instance of the subclass for its
    kind (``NotFoundError``, ``UsageError``, ...), so both
    ``except plasmite.NotFoundError`` and ``except plasmite.PlasmiteError``
    followed by a test of ``err.kind`` work.
    """

    #: The kind of every instance of this class (subclasses override it).
    default_kind: ErrorKind = ErrorKind.INTERNAL

    def __init__(
        self,
        message: str,
        *,
        kind: Optional[ErrorKind] = None,
        path: Optional[str] = None,
        seq: Optional[int] = None,
        offset: Optional[int] = None,
        hint: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        #: The error's kind.
        self.kind: ErrorKind = ErrorKind(kind) if kind is not None else self.default_kind
        #: What went wrong.
        self.message: str = message
        #: The file concerned, if any.
        self.path: Optional[str] = path
        #: The message seq concerned, if any.
        self.seq: Optional[int] = seq
        #: The ring position concerned, if any.
        self.offset: Optional[int] = offset
        #: What to do about it, if there is advice.
        self.hint: Optional[str] = hint

    def __str__(self) -> str:
        text = self.message
        if self.path is not None:
            text += f" ({self.path})"
        return text

    def __repr__(self) -> str:
        parts = [repr(self.message), f"kind={self.kind.label}"]
        for name in ("path", "seq", "offset"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __reduce__(self):  # keyword-only arguments need help to pickle
        return (
            _rebuild,
            (type(self), self.message, int(self.kind), self.path, self.seq, self.offset, self.hint),
        )


def _rebuild(cls, message, kind, path, seq, offset, hint):
    return cls(message, kind=ErrorKind(kind), path=path, seq=seq, offset=offset, hint=hint)


class InternalError(PlasmiteError):
    """A bug or an unexpected condition."""

    default_kind = ErrorKind.INTERNAL


class UsageError(PlasmiteError, ValueError):
    """Bad input: a bad argument, invalid JSON, an oversized message, a closed handle."""

    default_kind = ErrorKind.USAGE


class NotFoundError(PlasmiteError, LookupError):
    """The pool or message does not exist."""

    default_kind = ErrorKind.NOT_FOUND


class AlreadyExistsError(PlasmiteError):
    """The pool already exists (it is never truncated)."""

    default_kind = ErrorKind.ALREADY_EXISTS


class BusyError(PlasmiteError):
    """Something else holds the resource; retry."""

    default_kind = ErrorKind.BUSY


class PermissionDeniedError(PlasmiteError):
    """The OS refused access (for example, appending to a read-only pool)."""

    default_kind = ErrorKind.PERMISSION


class CorruptError(PlasmiteError):
    """The pool file is damaged or not a pool."""

    default_kind = ErrorKind.CORRUPT


class IoError(PlasmiteError):
    """Any other I/O failure, such as a full disk."""

    default_kind = ErrorKind.IO


_CLASSES = {
    ErrorKind.INTERNAL: InternalError,
    ErrorKind.USAGE: UsageError,
    ErrorKind.NOT_FOUND: NotFoundError,
    ErrorKind.ALREADY_EXISTS: AlreadyExistsError,
    ErrorKind.BUSY: BusyError,
    ErrorKind.PERMISSION: PermissionDeniedError,
    ErrorKind.CORRUPT: CorruptError,
    ErrorKind.IO: IoError,
}


def _from_native(
    kind: int,
    message: str,
    path: Optional[str],
    seq: Optional[int],
    offset: Optional[int],
    hint: Optional[str],
) -> PlasmiteError:
    """Builds the exception the native module raises (called from Rust)."""
    k = ErrorKind(kind)
    return _CLASSES[k](message, kind=k, path=path, seq=seq, offset=offset, hint=hint)
