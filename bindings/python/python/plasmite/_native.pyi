"""Type stubs of the native module ``plasmite._native`` (Rust, PyO3).

Every class here is re-exported by ``plasmite``; import it from there.
Errors raised are the ``PlasmiteError`` subclasses of ``plasmite._errors``.
"""

import datetime
import os
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Union

from typing_extensions import Self, final

from ._errors import Durability, PlasmiteError

__version__: str
#: Size of a pool created without ``size_bytes``: 1 MiB.
DEFAULT_POOL_SIZE: int

_PoolRef = Union[str, os.PathLike[str]]
_JsonText = Union[bytes, bytearray, memoryview, str]

@final
class Message:
    """One message: ``{"data": …, "meta": {"tags": […]}, "seq": N, "time": "…"}``.

    Kept as stored; ``data`` is parsed (with ``json.loads``) on first access,
    and the same dict is returned afterwards.
    """

    @property
    def seq(self) -> int:
        """Sequence number: 1 for a pool's first message, never reused."""
    @property
    def time_ns(self) -> int:
        """Append time, nanoseconds since the Unix epoch (UTC)."""
    @property
    def time(self) -> datetime.datetime:
        """Append time as an aware UTC datetime (microsecond precision)."""
    @property
    def time_rfc3339(self) -> str:
        """Append time as RFC 3339 UTC text with nanoseconds (as in the envelope)."""
    @property
    def tags(self) -> list[str]:
        """Tags, in the order given when appended."""
    @property
    def data(self) -> dict[str, Any]:
        """The data object, parsed on first access."""
    @property
    def data_json(self) -> bytes:
        """The data object as compact JSON bytes, exactly as stored."""
    @property
    def json(self) -> bytes:
        """The whole envelope as compact JSON bytes (what ``pls get`` prints)."""
    def to_dict(self) -> dict[str, Any]:
        """The envelope as a dict: ``{"data", "meta": {"tags"}, "seq", "time"}``."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Stream(Iterator[Message]):
    """Messages of a pool, in seq order, as an iterator and context manager.

    Iteration ends (``StopIteration``) when ``max_messages`` were delivered,
    when the idle ``timeout`` passes with no message, when a replay catches
    up, or once ``close()`` is called (from any thread). While it waits
    the GIL is released; Ctrl-C raises ``KeyboardInterrupt`` promptly.
    A stream is read (and acknowledged) by one thread at a time (a second
    reader gets ``UsageError``); ``close()`` works from any thread.

    A named stream (``Pool.tail(name=...)``) is a durable reader: its
    position is kept in the pool, and delivery is at-least-once.
    """

    def __iter__(self) -> Self: ...
    def __next__(self) -> Message: ...
    def next_json(self) -> Optional[bytes]:
        """The next envelope as compact JSON bytes, or None at the end."""
    @property
    def delivered(self) -> int:
        """Messages delivered so far."""
    @property
    def dropped(self) -> int:
        """Messages writers evicted before this stream could read them; for a
        named stream, including those evicted while its reader was away
        (known as soon as the stream is opened)."""
    @property
    def damaged(self) -> int:
        """Damaged frames stepped over."""
    @property
    def next_seq(self) -> int:
        """The seq read next (resume later with ``since_seq=next_seq``)."""
    @property
    def name(self) -> Optional[str]:
        """The durable named reader this stream reads as, or None."""
    def ack(self) -> None:
        """Acknowledges every message delivered so far.

        For a named stream, stores its position in the pool (one atomic
        store, no file lock, no syscall; it survives the process, not a
        power cut), so the
        next stream of that name starts after them. Also works after
        ``close()``, for what was delivered before. Does nothing for an
        unnamed stream.
        """
    def ack_through(self, seq: int) -> None:
        """Acknowledges the messages up to and including ``seq``.

        Never past what was delivered (it may move the stored position
        back): for a consumer that hands messages to other threads and
        learns later which were handled. Does nothing for an unnamed
        stream.
        """
    @property
    def closed(self) -> bool: ...
    def close(self) -> None:
        """Stops the stream: iteration ends, as for a closed generator. Works
        from any thread (a reader waiting in another thread stops within
        about 50 ms). Acknowledges nothing: for a named stream, the message
        being handled comes again unless ``ack()`` is called."""
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> bool: ...

@final
class PoolInfo:
    """Facts about a pool at one moment."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def file_size(self) -> int: ...
    @property
    def index_offset(self) -> int: ...
    @property
    def index_capacity(self) -> int: ...
    @property
    def ring_offset(self) -> int: ...
    @property
    def ring_size(self) -> int: ...
    @property
    def max_payload(self) -> int:
        """Largest payload (tags plus data) one message may carry."""
    @property
    def created_ns(self) -> int: ...
    @property
    def count(self) -> int:
        """Retained messages (the seq span from oldest to newest)."""
    @property
    def oldest_seq(self) -> Optional[int]: ...
    @property
    def oldest_time_ns(self) -> Optional[int]: ...
    @property
    def newest_seq(self) -> Optional[int]: ...
    @property
    def newest_time_ns(self) -> Optional[int]: ...
    @property
    def used_bytes(self) -> int: ...
    @property
    def utilization(self) -> float:
        """Share of the ring in use, 0.0 to 1.0."""
    def to_dict(self) -> dict[str, Any]:
        """The object ``pls pool info --json`` prints."""

@final
class Reader:
    """A durable named reader of a pool and its stored position, as
    ``Pool.readers()`` lists it. Times are ns since the Unix epoch."""

    @property
    def name(self) -> str:
        """The reader's name."""
    @property
    def next_seq(self) -> int:
        """The seq it reads next: every message before it is acknowledged."""
    @property
    def acked_ns(self) -> int:
        """When it last acknowledged, ns since the Unix epoch."""
    @property
    def created_ns(self) -> int:
        """When it was created, ns since the Unix epoch."""

@final
class PoolEntry:
    """One pool found by ``Client.list_pools()``."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def info(self) -> Optional[PoolInfo]:
        """Its info, or None when it could not be read."""
    @property
    def error(self) -> Optional[PlasmiteError]:
        """Why it could not be read, or None."""

@final
class Pool:
    """An open pool. Safe to share between threads."""

    @property
    def path(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def append(
        self,
        data: Mapping[str, Any],
        tags: Optional[Iterable[str]] = None,
        durability: Durability | int = Durability.FAST,
    ) -> Message:
        """Appends ``data`` (a JSON-compatible dict) and returns the stored message.

        Values may be dict/Mapping (str or int keys), list, tuple, str, int,
        finite float, bool and None; anything else is a ``UsageError``.
        """
    def append_json(
        self,
        data: _JsonText,
        tags: Optional[Iterable[str]] = None,
        durability: Durability | int = Durability.FAST,
    ) -> Message:
        """Appends JSON object text, keeping key order and number spelling."""
    def get(self, seq: int) -> Message:
        """The message with ``seq`` (``NotFoundError`` if evicted or never written)."""
    def get_json(self, seq: int) -> bytes:
        """The message with ``seq`` as envelope JSON bytes."""
    def tail(
        self,
        since_seq: Optional[int] = None,
        last: Optional[int] = None,
        max_messages: Optional[int] = None,
        timeout: Optional[float] = None,
        tags: Optional[Iterable[str]] = None,
        where: Optional[Sequence[str]] = None,
        *,
        name: Optional[str] = None,
        auto_ack: bool = True,
    ) -> Stream:
        """A stream of messages, then of new ones as they arrive.

        Starts at the oldest retained message, or at ``since_seq``, or at the
        last ``last`` messages that pass the filters (not both). Keeps only
        messages carrying every tag in ``tags`` and accepted by every jq
        predicate in ``where`` (e.g. ``'.data.level == "error"'``). Ends after
        ``max_messages``, or after ``timeout`` seconds without a message (an
        idle timeout); without either it follows the pool until closed.

        With ``name`` (1 to 32 of ``A-Z a-z 0-9 . _ -``; else ``UsageError``)
        the stream is a durable named reader: its position is kept in the
        pool, and a later stream of the same name, in any process, resumes
        right after the last acknowledged message (the start options apply
        only when the reader is created). With ``auto_ack`` (the default) a
        message is acknowledged when the next one is asked for, so a loop
        that handles each message acknowledges it by going on; the message
        being handled when the process dies, or when the loop breaks or the
        stream is closed, is delivered again (at-least-once). With
        ``auto_ack=False`` only ``Stream.ack()`` acknowledges. Without a
        name, ``auto_ack`` does nothing.
        """
    def replay(
        self,
        speed: float = 1.0,
        since_seq: Optional[int] = None,
        last: Optional[int] = None,
        max_messages: Optional[int] = None,
        tags: Optional[Iterable[str]] = None,
        where: Optional[Sequence[str]] = None,
    ) -> Stream:
        """The history, paced by the messages' append times / ``speed``.

        ``speed`` 2 replays twice as fast, 0 without delay. Selection as for
        ``tail``; the stream ends when it has caught up with the pool.
        """
    def info(self) -> PoolInfo:
        """What the pool holds right now."""
    def readers(self) -> list[Reader]:
        """Every durable named reader of this pool (see ``tail(name=...)``)."""
    def delete_reader(self, name: str) -> None:
        """Forgets the named reader ``name`` (``NotFoundError`` if there is none);
        a later stream of that name starts afresh, as its options say."""
    def close(self) -> None:
        """Releases the pool; later calls raise ``UsageError``. Open streams go on."""
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> bool: ...

@final
class Client:
    """A pool directory. Pool refs: a str with ``/`` (or any os.PathLike) is a
    path, another str a pool name in the directory."""

    def __new__(cls, pool_dir: Optional[Union[str, os.PathLike[str]]] = None) -> Self:
        """``pool_dir`` None means ``$PLASMITE_DIR``, else ``~/.plasmite/pools``."""
    @property
    def pool_dir(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def create_pool(
        self,
        pool: _PoolRef,
        size_bytes: int = 1048576,
        *,
        index_capacity: Optional[int] = None,
    ) -> Pool:
        """Creates and opens a pool; ``AlreadyExistsError`` if it exists (never truncates)."""
    def open_pool(self, pool: _PoolRef) -> Pool:
        """Opens an existing pool; ``NotFoundError`` if there is none."""
    def pool_info(self, pool: _PoolRef) -> PoolInfo: ...
    def list_pools(self) -> list[PoolEntry]:
        """Every pool in the directory, sorted by name."""
    def delete_pool(self, pool: _PoolRef) -> None: ...
    def close(self) -> None:
        """Releases the client; later calls raise ``UsageError``. Open pools go on."""
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> bool: ...

def cli_main(args: Sequence[str]) -> int:
    """Runs the ``plasmite`` CLI in this process; returns its exit code."""
