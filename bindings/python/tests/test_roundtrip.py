"""Create, append, get, info: values survive the round trip exactly."""

from __future__ import annotations

import collections
import datetime
import json
import math
from pathlib import Path

import pytest

import plasmite
from plasmite import Durability


def test_append_get_round_trip(pool: plasmite.Pool):
    data = {"from": "alice", "msg": "hi", "n": [1, 2.5, None, True, False], "o": {}}
    m = pool.append(data, tags=["greeting", "x"])
    assert (m.seq, m.tags, m.data) == (1, ["greeting", "x"], data)
    got = pool.get(1)
    assert got == m
    assert got.data == data and got.tags == ["greeting", "x"]
    assert got.time_ns == m.time_ns > 0


def test_envelope_bytes_match_the_cli_shape(pool: plasmite.Pool):
    m = pool.append({"z": 1, "a": 2}, tags=["t"])
    env = pool.get_json(1)
    assert env == m.json == pool.get(1).json
    assert env.startswith(b'{"data":{"z":1,"a":2},"meta":{"tags":["t"]},"seq":1,"time":"')
    doc = json.loads(env)
    assert doc == m.to_dict()
    assert doc["time"] == m.time_rfc3339
    assert list(doc["data"]) == ["z", "a"]  # key order as written


def test_time_forms_agree(pool: plasmite.Pool):
    m = pool.append({})
    t = m.time
    assert t.tzinfo is not None and t.utcoffset() == datetime.timedelta(0)
    assert int(t.timestamp() * 1_000_000) == m.time_ns // 1000
    assert m.time_rfc3339.endswith("Z")
    assert abs(t - datetime.datetime.now(datetime.timezone.utc)) < datetime.timedelta(minutes=1)


def test_data_is_parsed_once(pool: plasmite.Pool):
    m = pool.append({"k": [1, 2]})
    assert m.data is m.data
    assert m.data_json == b'{"k":[1,2]}'


def test_append_json_keeps_spelling_and_order(pool: plasmite.Pool):
    m = pool.append_json(b'{ "b" : 1.50, "a": 10E2, "big": 123456789012345678901234567890 }')
    assert m.data_json == b'{"b":1.50,"a":10E2,"big":123456789012345678901234567890}'
    assert pool.get(1).data_json == m.data_json
    assert m.data["big"] == 123456789012345678901234567890
    # str, bytearray and memoryview are JSON text too.
    assert pool.append_json('{"s": "ü"}').data == {"s": "ü"}
    assert pool.append_json(bytearray(b'{"b": 1}')).data == {"b": 1}
    assert pool.append_json(memoryview(b'{"m": 1}')).data == {"m": 1}


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "quote \" backslash \\ slash /",
        "controls \n\r\t\b\f \x00 \x1f",
        "unicode ünïcødé ☃ 𝄞",
        0,
        -1,
        2**63 - 1,
        2**64 - 1,
        -(2**63),
        2**100,
        -(2**100),
        0.1,
        1e-7,
        1e300,
        -0.0,
        1.0,
        True,
        False,
        None,
        [],
        [1, [2, [3]]],
        {"nested": {"deep": [{"x": None}]}},
    ],
)
def test_encoder_round_trips_json_values(pool: plasmite.Pool, value):
    m = pool.append({"v": value})
    got = pool.get(m.seq).data["v"]
    assert got == value and type(got) is type(value)
    # What we store is what json.dumps would say, modulo spacing.
    assert json.loads(m.data_json) == {"v": value}


def test_encoder_accepts_tuples_mappings_and_int_keys(pool: plasmite.Pool):
    class Frozen(collections.abc.Mapping):
        def __init__(self, d):
            self.d = d

        def __getitem__(self, k):
            return self.d[k]

        def __iter__(self):
            return iter(self.d)

        def __len__(self):
            return len(self.d)

    m = pool.append(Frozen({"t": (1, 2), "d": collections.OrderedDict(b=1, a=2), 3: "x"}))
    assert m.data == {"t": [1, 2], "d": {"b": 1, "a": 2}, "3": "x"}
    assert m.data_json == b'{"t":[1,2],"d":{"b":1,"a":2},"3":"x"}'


@pytest.mark.parametrize(
    "data, needle",
    [
        ("not-an-object", "got str"),
        ([1, 2], "got list"),
        (None, "got NoneType"),
        ({"x": math.nan}, "JSON cannot represent"),
        ({"x": math.inf}, "JSON cannot represent"),
        ({"x": {1, 2}}, "type set"),
        ({"x": b"bytes"}, "type bytes"),
        ({"x": datetime.date(2024, 1, 1)}, "type date"),
        ({(1, 2): "tuple key"}, "keys must be str"),
    ],
)
def test_encoder_refusals_are_usage_errors(pool: plasmite.Pool, data, needle):
    with pytest.raises(plasmite.UsageError) as e:
        pool.append(data)
    assert needle in e.value.message
    assert e.value.kind == plasmite.ErrorKind.USAGE
    assert isinstance(e.value, ValueError)
    assert pool.info().newest_seq is None  # nothing was stored


def test_cycles_and_deep_nesting_are_refused(pool: plasmite.Pool):
    loop: dict = {}
    loop["self"] = loop
    with pytest.raises(plasmite.UsageError, match="nested more than"):
        pool.append(loop)
    deep: list = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(plasmite.UsageError):
        pool.append({"d": deep})
    ok: list = []
    for _ in range(100):
        ok = [ok]
    pool.append({"d": ok})


def test_append_json_refusals(pool: plasmite.Pool):
    for bad in (b"", b"[1]", b'"s"', b"{bad json}", b'{"a":1} trailing'):
        with pytest.raises(plasmite.UsageError):
            pool.append_json(bad)
    with pytest.raises(plasmite.UsageError, match="bytes or str"):
        pool.append_json(12)


def test_tags_are_checked(pool: plasmite.Pool):
    with pytest.raises(plasmite.UsageError, match="not one str"):
        pool.append({}, tags="abc")
    with pytest.raises(plasmite.UsageError, match="tags must be str"):
        pool.append({}, tags=["ok", 1])
    m = pool.append({}, tags=("a", 'q"uote'))
    assert pool.get(m.seq).tags == ["a", 'q"uote']
    assert pool.append({}, tags=(t for t in ["gen"])).tags == ["gen"]


def test_durability(pool: plasmite.Pool):
    assert pool.append({"f": 1}, durability=Durability.FLUSH).seq == 1
    assert pool.append({"f": 2}, durability=0).seq == 2
    with pytest.raises(plasmite.UsageError, match="durability"):
        pool.append({}, durability=7)


def test_info_and_list(client: plasmite.Client, tmp_path: Path):
    a = client.create_pool("alpha", 2 << 20)
    beta = client.create_pool("beta")
    assert beta.info().file_size == plasmite.DEFAULT_POOL_SIZE == 1 << 20
    beta.close()
    info = a.info()
    assert info.file_size == 2 << 20 and info.newest_seq is None and info.count == 0
    a.append({"x": 1})
    a.append({"x": 2})
    info = client.pool_info("alpha")
    assert (info.oldest_seq, info.newest_seq, info.count) == (1, 2, 2)
    assert info.oldest_time_ns <= info.newest_time_ns
    assert 0 < info.utilization < 1 and info.used_bytes > 0
    assert info.to_dict()["bounds"] == {"oldest": 1, "newest": 2}
    assert Path(info.path) == tmp_path / "pools" / "alpha.plasmite"
    entries = client.list_pools()
    assert [e.name for e in entries] == ["alpha", "beta"]
    assert entries[0].info.newest_seq == 2 and entries[0].error is None
    # A damaged pool is listed with its error rather than spoiling the list.
    (tmp_path / "pools" / "broken.plasmite").write_bytes(b"NOPE")
    broken = [e for e in client.list_pools() if e.name == "broken"][0]
    assert broken.info is None and isinstance(broken.error, plasmite.CorruptError)
    client.delete_pool("beta")
    assert [e.name for e in client.list_pools()] == ["alpha", "broken"]


def test_refs_names_and_paths(client: plasmite.Client, tmp_path: Path):
    p = client.create_pool(str(tmp_path / "elsewhere.plasmite"))
    p.append({"where": "path"})
    # A PathLike is always a path, even without a slash in it.
    assert client.open_pool(tmp_path / "elsewhere.plasmite").get(1).data == {"where": "path"}
    assert client.pool_info(tmp_path / "elsewhere.plasmite").newest_seq == 1
    with pytest.raises(plasmite.UsageError, match="remote"):
        client.open_pool("http://127.0.0.1:9700/p")


def test_default_dir_comes_from_the_environment(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PLASMITE_DIR", str(tmp_path / "envdir"))
    with plasmite.Client() as c:
        assert c.pool_dir == str(tmp_path / "envdir")
        c.create_pool("e").append({"ok": True})
    assert (tmp_path / "envdir" / "e.plasmite").exists()
    with pytest.raises(plasmite.UsageError):
        plasmite.Client("")


def test_handles_close_and_context_managers(client: plasmite.Client):
    with client.create_pool("c") as p:
        p.append({"x": 1})
        stream = p.tail(timeout=0)
    assert p.closed
    # A stream keeps its own reference: it outlives the pool handle.
    assert [m.seq for m in stream] == [1]
    for call in (lambda: p.append({}), lambda: p.get(1), lambda: p.tail(), lambda: p.info()):
        with pytest.raises(plasmite.UsageError, match="pool is closed"):
            call()
    client.close()
    assert client.closed
    with pytest.raises(plasmite.UsageError, match="client is closed"):
        client.open_pool("c")
    assert "closed" in repr(client) and "closed" in repr(p)


def test_message_repr_and_hash(pool: plasmite.Pool):
    m = pool.append({"long": "y" * 200}, tags=["t"])
    r = repr(m)
    assert r.startswith("Message(seq=1, time='") and "…" in r and len(r) < 200
    assert hash(m) == hash(pool.get(1))
    assert m != pool.append({"long": "y" * 200}, tags=["t"])
    assert {m, pool.get(1)} == {m}
