"""Plasmite: durable interprocess messaging through memory-mapped pool files.

    import plasmite

    with plasmite.Client("./pools") as client:
        pool = client.create_pool("chat")              # 1 MiB ring
        pool.append({"from": "alice", "msg": "hi"}, tags=["greeting"])
        for m in pool.tail(timeout=1.0):               # ends after 1 s idle
            print(m.seq, m.tags, m.data)

Every call goes straight to the Rust library (no daemon, no subprocess).
Errors are ``PlasmiteError`` subclasses carrying ``kind``, ``message``,
``path``, ``seq``, ``offset`` and ``hint``.
"""

from ._errors import (
    AlreadyExistsError,
    BusyError,
    CorruptError,
    Durability,
    ErrorKind,
    InternalError,
    IoError,
    NotFoundError,
    PermissionDeniedError,
    PlasmiteError,
    UsageError,
)
from ._native import (
    DEFAULT_POOL_SIZE,
    Client,
    Message,
    Pool,
    PoolEntry,
    PoolInfo,
    Reader,
    Stream,
    __version__,
)

__all__ = [
    "DEFAULT_POOL_SIZE",
    "AlreadyExistsError",
    "BusyError",
    "Client",
    "CorruptError",
    "Durability",
    "ErrorKind",
    "InternalError",
    "IoError",
    "Message",
    "NotFoundError",
    "PermissionDeniedError",
    "PlasmiteError",
    "Pool",
    "PoolEntry",
    "PoolInfo",
    "Reader",
    "Stream",
    "UsageError",
    "__version__",
]
