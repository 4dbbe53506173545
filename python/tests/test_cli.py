"""The crossbuf command, run as another process would: python -m crossbuf."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import crossbuf as xb
from crossbuf import testdata

from conftest import PYTHON_DIR, conformance


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    return subprocess.run([sys.executable, "-m", "crossbuf", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_inspect_cat_stats_with_stored_schema(shm_name: str) -> None:
    d = conformance("flatbuffers")
    bfbs, mon = os.path.join(d, "monster_test.bfbs"), os.path.join(d, "monsterdata_test.mon")
    with xb.Region.create_shm(shm_name, 1 << 20) as r, xb.Schema.load(bfbs) as s:
        s.store_in(r)
        with open(mon, "rb") as fh:
            r.append_raw(xb.Codec.FLATBUFFERS, s.root_type, fh.read())
        rec = testdata.log_entry(3)
        r.encode(rec, xb.Codec.CAPNP)

        out = run("inspect", shm_name)
        assert out.returncode == 0, out.stderr
        assert "MyGame.Example.Monster" in out.stdout and "LOG_ENTRY" in out.stdout and "(schema)" in out.stdout

        out = run("cat", shm_name)
        assert out.returncode == 0, out.stderr
        lines = [json.loads(line) for line in out.stdout.splitlines()]
        assert [x["type"] for x in lines] == ["MyGame.Example.Monster", "LOG_ENTRY"]
        assert lines[0]["value"]["name"] == "MyMonster"
        assert lines[1]["value"]["message"] == rec.message

        out = run("stats", shm_name)
        assert out.returncode == 0 and "frame_count: 3" in out.stdout, out.stdout


def test_cat_without_a_schema_names_the_type_id(shm_name: str) -> None:
    with xb.Region.create_shm(shm_name, 1 << 16) as r:
        r.append_raw(xb.Codec.FLATBUFFERS, 0xABCDEF, b"\0" * 16)
        out = run("cat", shm_name)
        assert out.returncode == 1
        line = json.loads(out.stdout)
        assert "0x0000000000abcdef" in line["error"] and "UnknownTypeError" in line["error"]


def test_cat_prints_self_describing_frames_without_a_schema(shm_name: str) -> None:
    """JSON and MessagePack frames of no known type print as they are; a
    malformed one is an error on its line, and the others still print."""
    with xb.Region.create_shm(shm_name, 1 << 16) as r:
        r.append_raw(xb.Codec.JSON, 0, b'{"a": [1, -0.5, "x"]}')
        r.append_raw(xb.Codec.MSGPACK, 0x1234, b"\x82\xa1k\xc4\x02hi\xa1n\xc0")  # {"k": b"hi", "n": None}
        r.append_raw(xb.Codec.JSON, 0, b'{"a": ')
        r.append_raw(xb.Codec.MSGPACK, 0, b"\xc1")
        out = run("cat", shm_name)
    assert out.returncode == 1, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines[0] == {"offset": lines[0]["offset"], "type": "(untyped)", "value": {"a": [1, -0.5, "x"]}}
    assert lines[1]["type"] == "unknown type 0x0000000000001234"
    assert lines[1]["value"] == {"k": "aGk=", "n": None}  # bytes as base64, as msgspec writes them
    assert "MalformedError: json frame" in lines[2]["error"] and "value" not in lines[2]
    assert "MalformedError: msgpack frame" in lines[3]["error"]


def test_missing_region_is_a_clear_error() -> None:
    out = run("stats", "/xb-no-such-region")
    assert out.returncode == 2 and "RegionNotFoundError" in out.stderr


def test_schema_compile(tmp_path: "os.PathLike[str]") -> None:
    fbs = os.path.join(os.fspath(tmp_path), "t.fbs")
    with open(fbs, "w") as fh:
        fh.write("namespace t; table Point { x: int; y: int; } root_type Point;\n")
    out = run("schema", "compile", fbs)
    if out.returncode != 0 and "flatbuffers-compiler" in out.stderr:
        pytest.skip("flatc not installed")
    assert out.returncode == 0, out.stderr
    with open(out.stdout.strip(), "rb") as fh:
        s = xb.Schema.load(fh.read())
    assert s.type_name(s.type_id("t.Point")) == "t.Point"
    s.close()


def test_channel_stats_and_watch() -> None:
    import uuid

    name = f"xb-test-cli-{uuid.uuid4().hex[:10]}"
    with xb.Channel.create(name, 1 << 16) as ch, ch.subscribe() as sub:
        for i in range(10):
            ch.publish(b"x" * (i + 1))
        sub.receive_many(max=4, timeout=1)
        out = run("stats", name)
        assert out.returncode == 0, out.stderr
        assert f"channel {name}: policy block" in out.stdout
        assert "published 10 frames" in out.stdout
        # the subscriber's row: index 0, broadcast, 6 frames not released, 4 received
        row = [line.split() for line in out.stdout.splitlines() if "broadcast" in line]
        assert len(row) == 1 and row[0][3] == "10" and row[0][6] == "4", out.stdout

        out = run("stats", name, "--watch", "--count", "2", "--interval", "0.05")
        assert out.returncode == 0, out.stderr
        screens = out.stdout.split("\x1b[H\x1b[2J")
        assert screens[0] == "" and len(screens) == 3, out.stdout
        assert all(f"channel {name}" in s for s in screens[1:])
        assert "(0/s)" in screens[2] and "(0/s)" not in screens[1]  # rates from the second refresh on
    xb.Channel.unlink(name)


def test_channel_cat_and_inspect() -> None:
    """cat subscribes and prints frames as they come, decoded with the
    schemas the channel stores, including one stored after it started;
    inspect lists the stored schemas' types."""
    import time
    import uuid

    d = conformance("flatbuffers")
    name = f"xb-test-cli-{uuid.uuid4().hex[:10]}"
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    with xb.Channel.create(name, 1 << 16) as ch, xb.Schema.load(os.path.join(d, "monster_test.bfbs")) as s:
        out = run("cat", name, "--timeout", "0.2")
        assert out.returncode == 0 and out.stdout == "", out.stderr  # nothing came: stops
        cat = subprocess.Popen([sys.executable, "-m", "crossbuf", "cat", name, "--count", "4"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            deadline = time.monotonic() + 30
            while ch.stats().subscribers == 0:
                assert time.monotonic() < deadline and cat.poll() is None, cat.stderr and cat.stderr.read()
                time.sleep(0.01)
            s.store_in(ch)  # after cat subscribed
            with open(os.path.join(d, "monsterdata_test.mon"), "rb") as fh:
                ch.publish(fh.read(), xb.Codec.FLATBUFFERS, s.root_type)
            with xb.Region.anonymous(1 << 16) as r:
                f = r.encode(testdata.log_entry(5), xb.Codec.FLATBUFFERS)
                ch.publish(f.payload, xb.Codec.FLATBUFFERS, int(xb.RecordType.LOG_ENTRY))
                del f
            ch.publish(b'{"k": [1, 2]}', xb.Codec.JSON)
            ch.publish(b"\x01\x02", xb.Codec.FLATBUFFERS, 12345)
            stdout, stderr = cat.communicate(timeout=60)
        finally:
            cat.kill()
        assert cat.returncode == 1, stderr  # the frame of no known type
        lines = [json.loads(line) for line in stdout.splitlines()]
        assert [ln["frame"] for ln in lines] == [0, 1, 2, 3]
        assert lines[0]["type"] == "MyGame.Example.Monster" and lines[0]["value"]["name"] == "MyMonster"
        assert lines[1]["type"] == "LOG_ENTRY" and lines[1]["value"]["service"] == testdata.log_entry(5).service
        assert lines[2]["value"] == {"k": [1, 2]}
        assert "no schema for type id 0x0000000000003039" in lines[3]["error"]

        out = run("inspect", name)
        assert out.returncode == 0, out.stderr
        assert f"channel {name}: policy block" in out.stdout and "1 schemas" in out.stdout
        row = next(line.split() for line in out.stdout.splitlines() if line.endswith(" MyGame.Example.Monster"))
        assert row == [f"{s.root_type:#018x}", "flatbuffers", "table", "MyGame.Example.Monster"]
        out = run("cat", "/no-such-channel-or-region")
        assert out.returncode == 2 and "no region or channel named" in out.stderr, out.stderr
    xb.Channel.unlink(name)


def test_region_stats_watch(shm_name: str) -> None:
    with xb.Region.create_shm(shm_name, 1 << 16) as r:
        r.append_raw(xb.Codec.JSON, 0, b"{}")
        out = run("stats", shm_name, "--watch", "--count", "1")
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("\x1b[H\x1b[2J") and "frame_count: 1" in out.stdout


def test_cat_stream_file_and_stdin(tmp_path: "os.PathLike[str]") -> None:
    """cat reads a stream of frames (StreamWriter's format) from a file or
    standard input, decoding with the schema frames it carries; a file that
    is no region, channel or stream is an error saying so."""
    d = conformance("flatbuffers")
    dump = os.path.join(os.fspath(tmp_path), "dump.xbs")
    with xb.Region.anonymous(1 << 20) as r, xb.Schema.load(os.path.join(d, "monster_test.bfbs")) as s:
        s.store_in(r)
        with open(os.path.join(d, "monsterdata_test.mon"), "rb") as fh:
            r.append_raw(xb.Codec.FLATBUFFERS, s.root_type, fh.read())
        r.append_raw(xb.Codec.JSON, 0, b'{"a": 1}')
        r.encode(testdata.log_entry(2), xb.Codec.CAPNP)
        with open(dump, "wb") as fh, xb.StreamWriter(fh) as w:
            w.write_region(r)
    out = run("cat", dump)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [ln["frame"] for ln in lines] == [0, 1, 2]
    assert lines[0]["type"] == "MyGame.Example.Monster" and lines[0]["value"]["hp"] == 80
    assert lines[1]["value"] == {"a": 1}
    assert lines[2]["type"] == "LOG_ENTRY" and lines[2]["value"]["service"] == testdata.log_entry(2).service
    with open(dump, "rb") as fh:
        piped = subprocess.run([sys.executable, "-m", "crossbuf", "cat", "-"], stdin=fh, capture_output=True,
                               text=True, env=dict(os.environ, PYTHONPATH=PYTHON_DIR), timeout=60)
    assert piped.returncode == 0 and piped.stdout == out.stdout, piped.stderr
    junk = os.path.join(os.fspath(tmp_path), "junk.bin")
    with open(junk, "wb") as fh:
        fh.write(b"not frames " * 100)
    out = run("cat", junk)
    assert out.returncode == 2 and "is not a crossbuf region, channel or stream" in out.stderr, out.stderr


def test_channel_cat_ends() -> None:
    """cat of a channel whose publishers are gone says so and stops; with
    --follow it waits, and --timeout still ends it; Ctrl-C ends it with
    status 130 and no traceback."""
    import signal
    import time
    import uuid

    name = f"xb-test-cli-{uuid.uuid4().hex[:10]}"
    with xb.Channel.create(name, 1 << 16) as ch:
        with xb.Channel.open(name) as pub:
            pub.publish(b"{}", xb.Codec.JSON)  # a publisher that has gone
        out = run("cat", name)
        assert out.returncode == 0 and out.stdout == "", out.stderr
        assert "every publisher of" in out.stderr and "--follow" in out.stderr
        t0 = time.monotonic()
        out = run("cat", name, "--follow", "--timeout", "0.5")
        assert out.returncode == 0 and out.stdout == "" and out.stderr == "", out.stderr
        assert time.monotonic() - t0 < 30
        cat = subprocess.Popen([sys.executable, "-m", "crossbuf", "cat", name, "--follow"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=PYTHON_DIR))
        try:
            deadline = time.monotonic() + 30
            while ch.stats().subscribers == 0:
                assert time.monotonic() < deadline and cat.poll() is None
                time.sleep(0.01)
            time.sleep(0.2)
            cat.send_signal(signal.SIGINT)
            _, stderr = cat.communicate(timeout=30)
        finally:
            cat.kill()
        assert cat.returncode == 130 and "Traceback" not in stderr, stderr
    xb.Channel.unlink(name)


def test_channel_cat_overwrite_and_corrupt_schema_area() -> None:
    """cat of an "overwrite" channel it cannot keep up with goes on past
    the frames lapped before it read them and counts them; a schema area
    another process corrupted gives the schemas before the corrupt entry,
    with a warning, and frames still print."""
    import mmap
    import struct
    import time
    import uuid

    d = conformance("flatbuffers")
    name = f"xb-test-cli-{uuid.uuid4().hex[:10]}"
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    with xb.Channel.create(name, 4096, policy="overwrite") as ch, \
            xb.Schema.load(os.path.join(d, "monster_test.bfbs")) as s:  # fmt: skip
        s.store_in(ch)
        with open(f"/dev/shm/{name}", "r+b") as fh, mmap.mmap(fh.fileno(), 0) as mm:
            (area,) = struct.unpack_from("<Q", mm, 472)  # schema_offset (go/channel layout)
            (first,) = struct.unpack_from("<I", mm, area)
            struct.pack_into("<I", mm, area + 16 + ((first + 7) & ~7), 0xFFFFFFF0)
        with pytest.warns(RuntimeWarning, match="schema area is corrupt"):
            assert len(xb.Schema.from_channel(ch)) == 1
        cat = subprocess.Popen([sys.executable, "-m", "crossbuf", "cat", name, "--timeout", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            deadline = time.monotonic() + 30
            while ch.stats().subscribers == 0:
                assert time.monotonic() < deadline and cat.poll() is None
                time.sleep(0.01)
            for i in range(3000):
                ch.publish(json.dumps({"i": i, "pad": "x" * 300}).encode(), xb.Codec.JSON)
            stdout, stderr = cat.communicate(timeout=60)
        finally:
            cat.kill()
    xb.Channel.unlink(name)
    assert cat.returncode == 0, stderr
    seen = [json.loads(line)["value"]["i"] for line in stdout.splitlines()]
    assert seen and seen == sorted(seen) and len(seen) < 3000
    assert "schema area is corrupt" in stderr
    assert f"{3000 - len(seen)} frames of {name} were overwritten" in stderr, stderr
