"""Keeps the Go runtime's fault handlers in front of faulthandler's.

The Go runtime in libcrossbuf turns a memory fault in Go code into an error the
caller sees (crossbuf.InternalError) from its own SIGSEGV, SIGBUS and SIGFPE
handlers, and passes faults in other code on to the handler that was installed
before the library loaded.

- faulthandler enabled *before* the library loads (``python -X faulthandler``,
  ``PYTHONFAULTHANDLER=1``, or ``faulthandler.enable()`` before
  ``import crossbuf``): both work. Go handles faults in its code and hands the
  others to faulthandler, which prints its traceback.
- faulthandler enabled *after* (pytest does this once conftest.py has imported
  crossbuf): faulthandler's handlers would sit in front and turn faults the
  library recovers into crashes. So ``faulthandler.enable`` is wrapped: when it
  returns, the Go handlers are put back in front, and a warning says once that
  faulthandler no longer reports crashes, and how to have both.
"""

from __future__ import annotations

import ctypes
import faulthandler
import functools
import signal
import sys
import warnings
from typing import Any, Callable

# The synchronous signals the Go runtime handles inside a shared library.
_SIGNALS = (signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE)
# Larger than struct sigaction on every Linux ABI (152 bytes on x86_64 and
# arm64); the struct is only copied, never interpreted beyond its handler.
_ACTION_SIZE = 512
_Action = ctypes.c_char * _ACTION_SIZE

_libc = ctypes.CDLL(None, use_errno=True)
_sigaction = _libc.sigaction
_sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
_sigaction.restype = ctypes.c_int

_before: dict[int, ctypes.Array[ctypes.c_char]] = {}
_go: dict[int, ctypes.Array[ctypes.c_char]] = {}
_warned = False

WARNING = (
    "crossbuf: faulthandler was enabled after crossbuf loaded its library. crossbuf put the Go "
    "runtime's SIGSEGV/SIGBUS/SIGFPE handlers back in front, so faults the library recovers stay "
    "Python exceptions, but faulthandler will not print tracebacks for crashes. To have both, "
    "enable faulthandler before importing crossbuf: python -X faulthandler (also for pytest: "
    "python -X faulthandler -m pytest), PYTHONFAULTHANDLER=1, or faulthandler.enable() first."
)


def _get(sig: int) -> ctypes.Array[ctypes.c_char]:
    action = _Action()
    if _sigaction(sig, None, action) != 0:
        raise OSError(ctypes.get_errno(), f"sigaction({sig})")
    return action


def _handler(action: ctypes.Array[ctypes.c_char]) -> int:
    # sa_handler/sa_sigaction is the first member of struct sigaction on Linux.
    return ctypes.c_void_p.from_buffer(action).value or 0


def snapshot() -> dict[int, ctypes.Array[ctypes.c_char]]:
    """The current handlers of the signals the Go runtime takes over."""
    return {sig: _get(sig) for sig in _SIGNALS}


def keep_go_handlers(before: dict[int, ctypes.Array[ctypes.c_char]]) -> None:
    """Called once the library is loaded, with snapshot() from before loading."""
    for sig, old in before.items():
        now = _get(sig)
        if _handler(now) != _handler(old):  # the Go runtime installed this one
            _before[sig] = old
            _go[sig] = now
    enable = faulthandler.enable
    if _go and not getattr(enable, "_crossbuf_wrapped", False):
        setattr(faulthandler, "enable", _wrap(enable))  # noqa: B010 - mypy refuses assigning to a function


def restore_go_handlers() -> None:
    """Put the Go runtime's handlers back in front where another replaced them."""
    global _warned
    lost = False
    for sig, go in _go.items():
        now = _get(sig)
        if _handler(now) == _handler(go):
            continue
        # Go passes faults outside Go code to the handler it found at load
        # time; unless that is the one now in front, its owner stops seeing them.
        lost = lost or _handler(now) != _handler(_before[sig])
        if _sigaction(sig, go, None) != 0:
            raise OSError(ctypes.get_errno(), f"sigaction({sig})")
    if lost and not _warned:
        _warned = True
        try:
            warnings.warn(WARNING, RuntimeWarning, stacklevel=3)
        except Warning:
            # Warnings turned into errors (pytest's filterwarnings = error)
            # must not make faulthandler.enable() fail: the handlers are fine.
            print(WARNING, file=sys.stderr)


def _wrap(enable: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(enable)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        enable(*args, **kwargs)
        restore_go_handlers()

    setattr(wrapper, "_crossbuf_wrapped", True)  # noqa: B010 - mypy: a Callable has no such attribute
    return wrapper
