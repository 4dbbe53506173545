"""faulthandler and the Go runtime's fault handling live together: a fault the
library recovers stays an InternalError whether faulthandler was enabled before
the import (both work) or after it (crossbuf keeps Go in front and warns once).
Each case runs in its own interpreter, as a user's would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from conftest import PYTHON_DIR

FAULT_TEST = """
import faulthandler

import pytest

import crossbuf


def test_recovered_fault_is_an_error() -> None:
    assert faulthandler.is_enabled()
    with pytest.raises(crossbuf.InternalError):
        crossbuf.debug_fault(2)
"""


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONFAULTHANDLER", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = PYTHON_DIR
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def pytest_project(tmp: Path, ini: str = "") -> Path:
    """A user's project: conftest.py imports crossbuf before pytest enables faulthandler."""
    (tmp / "pytest.ini").write_text("[pytest]\n" + ini)
    (tmp / "conftest.py").write_text("import crossbuf  # noqa: F401\n")
    (tmp / "test_fault.py").write_text(FAULT_TEST)
    return tmp


def test_pytest_enabling_faulthandler_after_import(tmp_path: Path) -> None:
    p = run(["-m", "pytest", "-q", "-p", "faulthandler", "-W", "default"], pytest_project(tmp_path))
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "1 passed" in out
    assert "Fatal Python error" not in out
    assert out.count("faulthandler was enabled after crossbuf loaded") == 1, out
    assert "python -X faulthandler -m pytest" in out


def test_pytest_with_warnings_as_errors(tmp_path: Path) -> None:
    # The notice must not make faulthandler.enable() raise inside pytest's set-up.
    p = run(["-m", "pytest", "-q", "-p", "faulthandler"], pytest_project(tmp_path, "filterwarnings = error\n"))
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "1 passed" in out
    assert out.count("faulthandler was enabled after crossbuf loaded") == 1, out


def test_pytest_with_faulthandler_from_the_start(tmp_path: Path) -> None:
    p = run(["-X", "faulthandler", "-m", "pytest", "-q", "-W", "default"], pytest_project(tmp_path))
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "1 passed" in out
    assert "faulthandler was enabled after" not in out


def test_faulthandler_still_reports_crashes_outside_go(tmp_path: Path) -> None:
    script = (
        "import ctypes, crossbuf\n"
        "try:\n"
        "    crossbuf.debug_fault(2)\n"
        "except crossbuf.InternalError:\n"
        "    print('recovered', flush=True)\n"
        "ctypes.string_at(0)\n"
    )
    p = run(["-X", "faulthandler", "-c", script], tmp_path)
    assert p.stdout == "recovered\n", p.stdout + p.stderr
    assert p.returncode == -signal.SIGSEGV
    assert "Fatal Python error: Segmentation fault" in p.stderr
    assert "string_at" in p.stderr  # faulthandler's traceback of the crash


def test_enabling_faulthandler_after_import_warns_once(tmp_path: Path) -> None:
    script = (
        "import faulthandler, warnings\n"
        "warnings.simplefilter('always')\n"
        "import crossbuf\n"
        "faulthandler.enable()\n"
        "faulthandler.disable()\n"
        "faulthandler.enable()\n"
        "for _ in range(3):\n"
        "    try:\n"
        "        crossbuf.debug_fault(2)\n"
        "    except crossbuf.InternalError:\n"
        "        print('recovered', flush=True)\n"
    )
    p = run(["-c", script], tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout == "recovered\n" * 3
    assert p.stderr.count("faulthandler was enabled after crossbuf loaded") == 1, p.stderr
