"""The crossbuf command: look into regions from any process.

    crossbuf inspect REGION            frames: offset, codec, type, size, age
    crossbuf inspect CHANNEL           the types of the schemas it stores
    crossbuf cat REGION [--schema F]   each frame as one line of JSON
    crossbuf cat CHANNEL [--count N] [--timeout S] [--follow]
                                       subscribes: each frame as it arrives
    crossbuf cat FILE|-                a stream of frames (StreamWriter) from a
                                       file or standard input
    crossbuf stats REGION|CHANNEL [--watch]   counters (live, like top, with --watch)
    crossbuf schema compile F.fbs|F.capnp [-I DIR] [-o OUT]
    crossbuf schema stubs F [-o OUT.pyi]     typed record classes for mypy

REGION is a shared-memory name (/name) or a region file, CHANNEL a channel's
name. Both are opened read-only. Frames of users' types are named and decoded
with the schemas the region or channel carries (Schema.store_in) or given
with --schema; JSON and MessagePack frames of no known type print as they are.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import msgspec

from . import _lib, bundled, errors
from .channel import Channel, ChannelFrame
from .records import Codec, RecordType
from .region import Frame, Region
from .schema import Schema
from .stream import StreamReader


def _open(spec: str) -> Region:
    if os.sep in spec.lstrip("/") or os.path.isfile(spec):
        return Region.open_file(spec, readonly=True)
    return Region.open_shm(spec, readonly=True)


def _is_file(spec: str) -> bool:
    return os.sep in spec.lstrip("/") or os.path.isfile(spec)


def _open_any(spec: str) -> Region | Channel:
    """The region named spec, else the channel of that name (read-only)."""
    try:
        return _open(spec)
    except (errors.VersionError, errors.RegionNotFoundError):  # not a region: a channel?
        if _is_file(spec):
            raise
    try:
        return Channel.open(spec.lstrip("/"), readonly=True)
    except errors.RegionNotFoundError:
        raise errors.RegionNotFoundError(f"no region or channel named {spec!r}") from None
    except errors.VersionError:
        raise errors.VersionError(f"{spec!r} is neither a crossbuf region nor a channel of this layout "
                                  "version") from None


def _codec_name(codec: int) -> str:
    if codec == _lib.CODEC_SCHEMA:
        return "schema"
    try:
        return Codec(codec).name.lower()
    except ValueError:
        return f"codec({codec})"


class _Types:
    """Names and decodes frames: built-in records, then the schemas."""

    def __init__(self, schemas: Sequence[Schema]) -> None:
        self.schemas = list(schemas)

    def schema_for(self, type_id: int) -> Optional[Schema]:
        for s in self.schemas:
            try:
                s.type_name(type_id)
                return s
            except errors.UnknownTypeError:
                continue
        return None

    def name(self, f: Frame | ChannelFrame) -> str:
        if f.codec == _lib.CODEC_SCHEMA:
            return "(schema)"
        s = self.schema_for(f.type_id)
        if s is not None:
            return s.type_name(f.type_id)
        if f.codec in tuple(Codec) and f.type_id in tuple(RecordType):
            return RecordType(f.type_id).name
        if f.type_id == 0:
            return "(untyped)"
        return f"unknown type {f.type_id:#018x}"


def _self_described(f: Frame) -> Any:
    """A JSON or MessagePack frame of no known type, read without a schema
    (MessagePack bytes become base64, as msgspec writes them to JSON)."""
    try:
        if f.codec == Codec.JSON:
            return msgspec.json.decode(f.payload)
        return msgspec.to_builtins(msgspec.msgpack.decode(f.payload))
    except (msgspec.DecodeError, TypeError, ValueError, RecursionError) as e:
        raise errors.MalformedError(f"{_codec_name(f.codec)} frame: {e}") from None


def _load_schemas(source: Region | Channel, files: Sequence[str]) -> List[Schema]:
    given = [Schema.load(f) for f in files]
    # --schema overrides: it is asked first
    return given + (Schema.from_region(source) if isinstance(source, Region) else Schema.from_channel(source))


def _frame_value(types: _Types, f: Any, bundled_record: Callable[[Any], Any]) -> Any:
    """A frame's message as JSON values: through its type's schema, as a
    bundled record (bundled_record(f)), or as self-described JSON or
    MessagePack."""
    s = types.schema_for(f.type_id)
    if s is not None:
        return json.loads(s.to_json(f))
    if f.codec in tuple(Codec) and f.type_id in tuple(RecordType):
        return bundled_record(f)
    if f.codec in (Codec.JSON, Codec.MSGPACK):
        return _self_described(f)
    raise errors.UnknownTypeError(
        f"no schema for type id {f.type_id:#018x}: pass --schema, or store the schema with the data "
        "(Schema.store_in)")


def cmd_inspect(a: argparse.Namespace) -> int:
    source = _open_any(a.region)
    if isinstance(source, Channel):
        return _inspect_channel(a, source)
    with source as r:
        st = r.stats()
        types = _Types(_load_schemas(r, a.schema))
        print(f"region {a.region}: {st.frame_count} frames, {st.used} of {st.capacity - st.data_offset} bytes used, "
              f"generation {st.generation}, {st.aborted} dead writers' slots aborted")
        print(f"{'offset':>12}  {'codec':<12} {'type':<40} {'bytes':>10}  {'age':>10}")
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        for f in r.frames(skip_corrupt=True):
            age = (now - f.publish_ns) / 1e9 if f.publish_ns else float("nan")
            print(f"{f.offset:>12}  {_codec_name(f.codec):<12} {types.name(f):<40} {len(f):>10}  {age:>9.1f}s")
            del f
    return 0


def _inspect_channel(a: argparse.Namespace, ch: Channel) -> int:
    with ch:
        st = ch.stats()
        schemas = _load_schemas(ch, a.schema)
        print(f"channel {a.region}: policy {st.policy}, ring {_size(st.capacity)}, {st.subscribers} subscribers; "
              f"{len(schemas)} schemas ({'--schema, then ' if a.schema else ''}stored); its frames are read by "
              f"subscribing: `crossbuf cat {a.region}`")
        print(f"{'type id':>18}  {'format':<12} {'kind':<8} type")
        for s in schemas:
            for t in s.types():
                print(f"{t.id:#018x}  {s.format:<12} {t.kind:<8} {t.name}")
    return 0


def cmd_cat(a: argparse.Namespace) -> int:
    if a.region == "-":
        return _cat_stream(a, sys.stdin.buffer)
    try:
        source = _open_any(a.region)
    except errors.VersionError:
        if not _is_file(a.region):
            raise
        with open(a.region, "rb") as fh:  # not a region file: a stream of frames written to a file?
            return _cat_stream(a, fh)
    if isinstance(source, Channel):
        with source as ch:
            return _cat_channel(a, ch)
    if a.count or a.timeout is not None or a.follow:
        raise errors.InvalidArgumentError("--count, --timeout and --follow are for channels")
    failed = 0
    with source as r:
        types = _Types(_load_schemas(r, a.schema))
        for f in r.frames(skip_corrupt=True):
            if f.codec == _lib.CODEC_SCHEMA:
                continue
            out: Dict[str, Any] = {"offset": f.offset, "type": types.name(f)}
            try:
                # bundled records in the JSON codec's shape
                out["value"] = _frame_value(types, f, lambda fr: msgspec.to_builtins(r.decode(fr)))
            except errors.CrossbufError as e:
                out["error"] = f"{type(e).__name__}: {e}"
                failed += 1
            print(json.dumps(out, indent=2 if a.pretty else None))
            del f
    return 1 if failed else 0


def _cat_channel(a: argparse.Namespace, ch: Channel) -> int:
    """Subscribes to ch and prints each frame as it arrives, until the
    stream ends, every publisher is gone (unless --follow), --count frames,
    nothing for --timeout seconds, or Ctrl-C (exit status 130). Under the
    overwrite policy frames lapped before they were read are skipped, and
    counted at the end. Schemas a
    publisher stores after the start are picked up when a frame of a type
    no schema holds comes (looked for at most once a second per type)."""
    if a.count < 0 or (a.timeout is not None and a.timeout < 0):
        raise errors.InvalidArgumentError("--count and --timeout must not be negative")
    given = [Schema.load(f) for f in a.schema]
    types = _Types(given + Schema.from_channel(ch))
    looked: Dict[int, float] = {}  # unknown type id -> when the stored schemas were last read for it
    n = failed = 0
    lossy = ch.policy == "overwrite"
    last = time.monotonic()  # of the last frame, for --timeout
    try:
        with ch.subscribe() as sub:
            while not a.count or n < a.count:
                left = None if a.timeout is None else max(0.0, a.timeout - (time.monotonic() - last))
                try:
                    f = sub.receive(timeout=left)
                except (errors.ChannelTimeoutError, errors.ChannelEndedError):
                    break
                except errors.OverrunError:
                    continue  # "overwrite": frames lapped before they were read; counted in sub.dropped()
                except errors.PublisherGoneError:
                    if not a.follow:
                        if n == 0:
                            print(f"crossbuf: every publisher of {a.region} has closed or died; --follow waits "
                                  "for the next", file=sys.stderr)
                        break
                    if left == 0:
                        break
                    time.sleep(0.05)  # reported at once until a publisher comes back
                    continue
                last = time.monotonic()
                tid = f.type_id
                if tid and tid not in _RECORD_IDS and types.schema_for(tid) is None and last - looked.get(tid, 0) >= 1:
                    types = _Types(given + Schema.from_channel(ch))  # stored since?
                    looked[tid] = last
                out: Dict[str, Any] = {"frame": n, "type": types.name(f)}
                try:
                    out["value"] = _frame_value(types, f, _bundled_value)
                except errors.CrossbufError as e:
                    out["error"] = f"{type(e).__name__}: {e}"
                del f
                if lossy:
                    try:
                        sub.release()  # read whole, not overwritten meanwhile: else dropped, not printed
                    except errors.OverrunError:
                        continue
                failed += "error" in out
                print(json.dumps(out, indent=2 if a.pretty else None), flush=True)
                n += 1
            dropped = sub.dropped()[0]
    except KeyboardInterrupt:
        return 130
    if dropped:
        print(f"crossbuf: {dropped} frames of {a.region} were overwritten before they were read (policy "
              "overwrite)", file=sys.stderr)
    return 1 if failed else 0


_RECORD_IDS = frozenset(int(t) for t in RecordType)


# Frames of a stream land in a region of this size, reset once they are printed.
_STREAM_REGION = 64 << 20


def _cat_stream(a: argparse.Namespace, fh: Any) -> int:
    """Prints each frame of a stream (StreamWriter's format, from a file or
    standard input) as it is read, decoded with --schema and the schema
    frames the stream carries."""
    try:
        rd = StreamReader(fh)
    except errors.MalformedError as e:
        raise errors.VersionError(f"{a.region!r} is not a crossbuf region, channel or stream ({e})") from None
    types = _Types([Schema.load(f) for f in a.schema])
    n = failed = 0
    with rd, Region.anonymous(_STREAM_REGION) as r:
        while True:
            try:
                frames = rd.read_region(r, 64)
            except errors.RegionFullError:
                r.reset()  # the frames before were printed
                continue
            except errors.InvalidArgumentError as e:  # larger than the region can hold
                print(json.dumps({"frame": n, "error": f"{type(e).__name__}: {e}"}), flush=True)
                rd.skip()
                n, failed = n + 1, failed + 1
                continue
            if not frames:
                return 1 if failed else 0
            for f in frames:
                if f.codec == _lib.CODEC_SCHEMA:
                    types.schemas.append(Schema.load(bytes(f.payload)))
                    continue
                out: Dict[str, Any] = {"frame": n, "type": types.name(f)}
                try:
                    out["value"] = _frame_value(types, f, lambda fr: msgspec.to_builtins(r.decode(fr)))
                except errors.CrossbufError as e:
                    out["error"] = f"{type(e).__name__}: {e}"
                    failed += 1
                print(json.dumps(out, indent=2 if a.pretty else None), flush=True)
                n += 1
            del frames, f
            r.reset()


def _bundled_value(f: ChannelFrame) -> Any:
    """A bundled record received from a channel, through the bundled schema."""
    if f.codec not in (Codec.FLATBUFFERS, Codec.CAPNP):
        raise errors.UnknownCodecError(f"{_codec_name(f.codec)} frames of the bundled records are read with "
                                       "Region.decode, not from a channel")
    return json.loads(bundled.schema(f.codec).to_json(f))


def _region_lines(r: Region) -> list[str]:
    return [f"{k}: {v:#x}" if k == "region_id" else f"{k}: {v}" for k, v in dataclasses.asdict(r.stats()).items()]


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""  # not reached


def _ns(v: int) -> str:
    if v < 1_000:
        return f"{v} ns"
    if v < 1_000_000:
        return f"{v / 1e3:.1f} us"
    if v < 1_000_000_000:
        return f"{v / 1e6:.1f} ms"
    return f"{v / 1e9:.2f} s"


class _ChannelView:
    """Renders a channel's stats; with a previous sample, rates per second."""

    def __init__(self, name: str, ch: Channel) -> None:
        self.name, self.ch = name, ch
        self.prev: tuple[float, Any, dict[int, int]] | None = None

    def lines(self) -> list[str]:
        now = time.monotonic()
        st = self.ch.stats()
        subs = self.ch.subscriber_stats()
        frames = {s.index: s.frames for s in subs}
        dt = now - self.prev[0] if self.prev else 0.0

        def rate(cur: int, old: int | None) -> str:
            if not dt or old is None:
                return ""
            return f" ({(cur - old) / dt:,.0f}/s)"

        p = self.prev[1] if self.prev else None
        out = [
            (f"channel {self.name}: policy {st.policy}, ring {_size(st.capacity)}, "
             f"used {_size(st.used)} ({100 * st.used / max(st.capacity, 1):.1f}%), {st.subscribers} subscribers"),
            (f"published {st.frames_published:,} frames{rate(st.frames_published, p and p.frames_published)}, "
             f"{_size(st.bytes_published)}{rate(st.bytes_published, p and p.bytes_published).replace('/s', ' B/s')}"),
            (f"full waits {st.full_waits:,}  full fails {st.full_fails:,}  parked waits {st.parked_waits:,}  "
             f"dropped {st.dropped_frames:,}  dead publishers {st.dead_publishers:,}  "
             f"dead subscribers {st.dead_subscribers:,}"),
            (f"latency p50 {_ns(st.latency_p50_ns)}  p99 {_ns(st.latency_p99_ns)}  p99.9 {_ns(st.latency_p999_ns)}  "
             f"({st.latency_count:,} recorded, {st.latency_overflow:,} over 100 s)"),
            "",
            (f"{'index':>5} {'kind':<10} {'peer':>6} {'lag frames':>11} {'lag bytes':>11} {'received':>12} "
             f"{'frames/s':>10} {'dropped':>9} {'parked':>8} {'idle':>9}"),
        ]
        mono = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        old = self.prev[2] if self.prev else {}
        for s in subs:
            kind = "cursor" if s.group_cursor else ("member" if s.group >= 0 else "broadcast")
            fps = f"{(s.frames - old[s.index]) / dt:,.0f}" if dt and s.index in old else ""
            idle = _ns(max(0, mono - s.heartbeat_ns)) if s.heartbeat_ns else ""
            out.append(f"{s.index:>5} {kind:<10} {s.peer:>6} {s.lag_frames:>11,} {_size(s.lag_bytes):>11} "
                       f"{s.frames:>12,} {fps:>10} {s.dropped:>9,} {s.parked_waits:>8,} {idle:>9}")
        self.prev = (now, st, frames)
        return out


def _watch(render: Any, interval: float, count: int) -> None:
    """Redraws render() every interval seconds, like top: count times (0:
    until Ctrl-C)."""
    n = 0
    try:
        while True:
            lines = render()
            stamp = time.strftime("%H:%M:%S")
            # home, clear the screen; every refresh rewrites it whole
            sys.stdout.write("\x1b[H\x1b[2J" + f"crossbuf stats, every {interval:g}s  {stamp}\n\n"
                             + "\n".join(lines) + "\n")
            sys.stdout.flush()
            n += 1
            if count and n >= count:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        return


def cmd_stats(a: argparse.Namespace) -> int:
    if a.interval <= 0:
        raise errors.InvalidArgumentError(f"--interval must be > 0, not {a.interval}")
    source = _open_any(a.region)
    if isinstance(source, Region):
        with source as r:
            if a.watch:
                _watch(lambda: _region_lines(r), a.interval, a.count)
            else:
                print("\n".join(_region_lines(r)))
        return 0
    with source as ch:
        view = _ChannelView(a.region, ch)
        if a.watch:
            _watch(view.lines, a.interval, a.count)
        else:
            print("\n".join(view.lines()))
    return 0


def cmd_schema_compile(a: argparse.Namespace) -> int:
    s = Schema.load(a.file, imports=a.include)
    stem, ext = os.path.splitext(a.file)
    out = a.output or stem + (".bfbs" if ext.lower() == ".fbs" else ".capnp.bin")
    with open(out, "wb") as fh:
        fh.write(s.binary())
    print(out)
    return 0


def cmd_schema_stubs(a: argparse.Namespace) -> int:
    with Schema.load(a.file, imports=a.include) as s:
        text = s.stubs()
    if a.output:
        with open(a.output, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="crossbuf", description="Look into crossbuf regions from any process.")
    sub = p.add_subparsers(dest="command", required=True)
    for name, fn, helptext in (("inspect", cmd_inspect, "list the frames of a region, or a channel's types"),
                               ("cat", cmd_cat, "print each frame (of a channel: as it arrives) as one line of JSON"),
                               ("stats", cmd_stats, "print the counters of a region or channel")):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("region", metavar="REGION|CHANNEL" + ("|STREAM" if name == "cat" else ""),
                       help="shared-memory name (/name) or region file, or a channel's name"
                       + ("; or a file of a stream of frames, - for standard input" if name == "cat" else ""))
        if name != "stats":
            c.add_argument("--schema", action="append", default=[], metavar="FILE",
                           help="a schema (.bfbs, .fbs, .capnp, request bytes) for the frames' types; asked before "
                                "the schemas the region or channel carries")
        if name == "cat":
            c.add_argument("--pretty", action="store_true", help="indent the JSON")
            c.add_argument("--count", type=int, default=0, metavar="N",
                           help="a channel: stop after N frames (0: no limit)")
            c.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                           help="a channel: stop when nothing arrives for SECONDS (default: wait)")
            c.add_argument("--follow", action="store_true",
                           help="a channel: keep waiting when every publisher is gone (stop at Ctrl-C or its end)")
        if name == "stats":
            c.add_argument("--watch", action="store_true", help="refresh like top, with rates per second")
            c.add_argument("--interval", type=float, default=1.0, metavar="SECONDS", help="refresh period (1)")
            c.add_argument("--count", type=int, default=0, metavar="N",
                           help="with --watch: stop after N refreshes (0: at Ctrl-C)")
        c.set_defaults(fn=fn)
    sc = sub.add_parser("schema", help="schema tools").add_subparsers(dest="schema_command", required=True)
    comp = sc.add_parser("compile", help="compile .fbs or .capnp text into its binary form")
    comp.add_argument("file")
    comp.add_argument("-I", "--include", action="append", default=[], metavar="DIR", help="import directory")
    comp.add_argument("-o", "--output", help="output file (default: FILE.bfbs, or FILE.capnp.bin)")
    comp.set_defaults(fn=cmd_schema_compile)
    stubs = sc.add_parser("stubs", help="write a .pyi declaring the schema's record classes (Schema.record_class)")
    stubs.add_argument("file")
    stubs.add_argument("-I", "--include", action="append", default=[], metavar="DIR", help="import directory")
    stubs.add_argument("-o", "--output", help="output file (default: standard output)")
    stubs.set_defaults(fn=cmd_schema_stubs)
    a = p.parse_args(argv)
    try:
        return int(a.fn(a))
    except errors.CrossbufError as e:
        print(f"crossbuf: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
