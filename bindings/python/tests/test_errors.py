"""Every error kind, its exception class, and the context it carries."""

from __future__ import annotations

import os
import pickle
import subprocess
from pathlib import Path

import pytest

import plasmite
from plasmite import ErrorKind

CLASSES = {
    ErrorKind.INTERNAL: plasmite.InternalError,
    ErrorKind.USAGE: plasmite.UsageError,
    ErrorKind.NOT_FOUND: plasmite.NotFoundError,
    ErrorKind.ALREADY_EXISTS: plasmite.AlreadyExistsError,
    ErrorKind.BUSY: plasmite.BusyError,
    ErrorKind.PERMISSION: plasmite.PermissionDeniedError,
    ErrorKind.CORRUPT: plasmite.CorruptError,
    ErrorKind.IO: plasmite.IoError,
}


def test_kinds_are_the_cli_exit_codes():
    assert [int(k) for k in ErrorKind] == list(range(1, 9))
    assert [k.label for k in ErrorKind] == [
        "Internal", "Usage", "NotFound", "AlreadyExists", "Busy", "Permission", "Corrupt", "Io",
    ]


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_native_factory_builds_the_class_of_each_kind(kind):
    # The factory the extension calls for every library error; the kinds
    # that cannot be provoked from a test (Internal, Busy) are checked here.
    e = plasmite._errors._from_native(int(kind), "boom", "/p", 7, 9, "do this")
    assert type(e) is CLASSES[kind]
    assert isinstance(e, plasmite.PlasmiteError)
    assert (e.kind, e.message, e.path, e.seq, e.offset, e.hint) == (kind, "boom", "/p", 7, 9, "do this")
    assert str(e) == "boom (/p)"
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is type(e) and (back.kind, back.seq, back.hint) == (kind, 7, "do this")


def test_usage_and_not_found_are_also_builtin_categories():
    assert issubclass(plasmite.UsageError, ValueError)
    assert issubclass(plasmite.NotFoundError, LookupError)


def test_missing_pool_is_not_found_with_path(client: plasmite.Client):
    with pytest.raises(plasmite.NotFoundError) as e:
        client.open_pool("nope")
    err = e.value
    assert err.kind == ErrorKind.NOT_FOUND
    assert "not found" in err.message
    assert err.path.endswith("nope.plasmite") and err.seq is None
    assert "pls pool create nope" in err.hint
    for call in (lambda: client.pool_info("nope"), lambda: client.delete_pool("nope")):
        with pytest.raises(plasmite.NotFoundError) as e:
            call()
        assert e.value.path is not None


def test_missing_seq_is_not_found_with_seq(pool: plasmite.Pool):
    pool.append({"x": 1})
    for seq in (0, 42):
        with pytest.raises(plasmite.NotFoundError) as e:
            pool.get(seq)
        assert e.value.seq == seq and "not found" in e.value.message
    with pytest.raises(plasmite.UsageError, match="seq must be an int"):
        pool.get(-1)
    with pytest.raises(plasmite.UsageError):
        pool.get("1")


def test_existing_pool_is_already_exists_and_kept(client: plasmite.Client):
    p = client.create_pool("keep")
    p.append({"v": 1})
    with pytest.raises(plasmite.AlreadyExistsError) as e:
        client.create_pool("keep")
    assert e.value.path.endswith("keep.plasmite")
    assert p.get(1).data == {"v": 1}  # never truncated


def test_usage_errors(client: plasmite.Client, pool: plasmite.Pool):
    with pytest.raises(plasmite.UsageError, match="invalid pool name"):
        client.create_pool("..")
    with pytest.raises(plasmite.UsageError) as e:
        client.create_pool("tiny", 100)
    assert e.value.hint
    with pytest.raises(plasmite.UsageError, match="since_seq or last"):
        pool.tail(since_seq=1, last=1)
    with pytest.raises(plasmite.UsageError, match="timeout"):
        pool.tail(timeout=-1)
    with pytest.raises(plasmite.UsageError, match="where"):
        pool.tail(where=[".data.x >"])
    with pytest.raises(plasmite.UsageError, match="larger than"):
        pool.append({"big": "x" * (2 << 20)})


def test_non_boolean_where_fails_when_read(pool: plasmite.Pool):
    pool.append({"x": 1})
    stream = pool.tail(where=[".data.x"], timeout=0)
    with pytest.raises(plasmite.UsageError, match="true or false"):
        next(stream)


def test_corrupt_pool(client: plasmite.Client, tmp_path: Path):
    client.create_pool("c").close()
    with open(tmp_path / "pools" / "c.plasmite", "r+b") as f:
        f.write(b"\xa5" * 64)
    with pytest.raises(plasmite.CorruptError) as e:
        client.open_pool("c")
    assert e.value.kind == ErrorKind.CORRUPT and e.value.path.endswith("c.plasmite")
    client.delete_pool("c")  # a damaged pool can still be deleted


def test_permission_denied_on_a_read_only_pool(client: plasmite.Client, tmp_path: Path):
    p = client.create_pool("locked")
    p.append({"a": 1})
    p.close()
    path = tmp_path / "pools" / "locked.plasmite"
    os.chmod(path, 0o444)
    immutable = False
    try:
        if os.geteuid() == 0:
            # Root ignores modes; the immutable attribute binds root too.
            subprocess.run(["chattr", "+i", str(path)], check=True)
            immutable = True
        ro = client.open_pool("locked")
        assert ro.get(1).data == {"a": 1}  # reads still work
        with pytest.raises(plasmite.PermissionDeniedError) as e:
            ro.append({"a": 2})
        assert e.value.kind == ErrorKind.PERMISSION and e.value.path.endswith("locked.plasmite")
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)


def test_io_error(tmp_path: Path):
    (tmp_path / "file").write_text("not a directory")
    with plasmite.Client(tmp_path / "file" / "sub") as c:
        with pytest.raises(plasmite.IoError) as e:
            c.create_pool("x")
    assert e.value.kind == ErrorKind.IO and e.value.path is not None


def test_bad_argument_types(pool: plasmite.Pool):
    # Plain typed parameters are checked by the binding layer: TypeError.
    with pytest.raises(TypeError):
        pool.tail(max_messages="ten")  # type: ignore[arg-type]
    # Refs and data are checked by plasmite: UsageError, naming the type.
    with pytest.raises(plasmite.UsageError, match="got int"):
        plasmite.Client(42)  # type: ignore[arg-type]
