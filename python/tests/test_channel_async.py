"""asyncio receive: frames from a publisher in another process, awaited
while the event loop keeps running; cancellation and close."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator

import crossbuf as xb
import pytest
from conftest import PYTHON_DIR


@pytest.fixture
def name() -> Iterator[str]:
    n = f"xb-test-async-{uuid.uuid4().hex[:10]}"
    yield n
    try:
        xb.Channel.unlink(n)
    except xb.RegionNotFoundError:
        pass


PUBLISHER = textwrap.dedent(
    """
    import sys, time
    import crossbuf as xb
    name, n = sys.argv[1], int(sys.argv[2])
    with xb.Channel.open(name) as ch:
        sys.stdin.readline()  # the subscriber is waiting
        for i in range(n):
            ch.publish(i.to_bytes(4, "little"), type_id=i)
            if i % 10 == 0:
                time.sleep(0.005)  # some frames find the subscriber parked
    """
)


def test_async_for_with_a_publisher_process(name: str) -> None:
    n = 300
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))

    async def main(ch: xb.Channel, sub: xb.Subscriber) -> tuple[list[int], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.001)
                ticks += 1

        t = asyncio.create_task(ticker())
        p = subprocess.Popen(  # noqa: ASYNC220 (a test: the start is quick)
            [sys.executable, "-c", PUBLISHER, name, str(n)], stdin=subprocess.PIPE, env=env)
        got: list[int] = []
        try:
            await asyncio.sleep(0.05)
            assert p.stdin is not None
            p.stdin.write(b"go\n")
            p.stdin.close()
            async for frame in sub:
                assert int.from_bytes(frame.payload, "little") == frame.type_id
                got.append(frame.type_id)
                if len(got) == n:
                    break
        finally:
            assert p.wait(timeout=60) == 0
            t.cancel()
        return got, ticks

    with xb.Channel.create(name, 1 << 16) as ch, ch.subscribe() as sub:
        got, ticks = asyncio.run(main(ch, sub))
        assert got == list(range(n))
        assert ticks > 10  # the loop ran while frames were awaited
        assert sub._waiter is not None and sub._waiter.thread.is_alive()  # one thread, for every wait
        assert threading.active_count() < 10


def test_cancel_keeps_the_frame_and_close_ends_iteration(name: str) -> None:
    async def main(ch: xb.Channel, sub: xb.Subscriber) -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(sub.receive_async(), 0.1)
        with pytest.raises(xb.ChannelTimeoutError):
            await sub.receive_async(timeout=0.05)
        ch.publish(b"one")
        f = await sub.receive_async(timeout=1)
        assert bytes(f.payload) == b"one"
        # a wait cancelled while the frame arrives: the frame is not lost
        task = asyncio.create_task(sub.receive_async())
        await asyncio.sleep(0.01)  # the waiter thread is inside a wait slice
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        ch.publish(b"two")  # most likely within that slice: received, then stashed
        f = sub.receive(timeout=1)
        assert bytes(f.payload) == b"two"
        with pytest.raises(xb.ChannelTimeoutError):
            sub.receive(timeout=0.05)  # once only
        # close from another task ends `async for`
        seen: list[bytes] = []

        async def consume() -> None:
            async for fr in sub:
                seen.append(bytes(fr.payload))

        c = asyncio.create_task(consume())
        ch.publish(b"three")
        await asyncio.sleep(0.1)
        sub.close()
        await asyncio.wait_for(c, 2)
        assert seen == [b"three"]

    with xb.Channel.create(name, 1 << 16) as ch:
        sub = ch.subscribe()
        asyncio.run(main(ch, sub))
