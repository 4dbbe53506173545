"""Builds libcrossbuf.so with the Go toolchain and ships it inside the wheel.

The library does not use the Python C API, so the wheel is tagged
py3-none-<platform>: one wheel per OS/architecture serves every Python 3. The
platform is the oldest manylinux the built library meets, read from its ELF
file: the newest glibc symbol version it needs and its CPU. A library built on
an older glibc gets an older tag; nothing is claimed that the binary does not
meet.

Nothing is written into the source tree: setuptools' build and egg-info
directories are temporary, and the library is built straight into the wheel's
staging directory by `build.sh golib` (C tests and tools are not built). The
version is the one in include/crossbuf.h, read through `build.sh version`.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = os.path.dirname(os.path.abspath(__file__))
BUILD_SH = os.path.join(ROOT, "build.sh")
LIB_NAME = "libcrossbuf.so"
# ELF machine -> the architecture part of a manylinux tag
ARCHES = {"EM_X86_64": "x86_64", "EM_AARCH64": "aarch64"}
# The oldest glibc a manylinux tag names today (manylinux2014).
MIN_GLIBC = (2, 17)


def build_sh(*args: str) -> str:
    out = subprocess.run(["bash", BUILD_SH, *args], check=True, stdout=subprocess.PIPE, text=True)
    return out.stdout.strip()


def manylinux_tag(lib: str) -> str:
    """manylinux_<glibc major>_<minor>_<arch> for the ELF shared library lib."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection

    with open(lib, "rb") as f:
        elf = ELFFile(f)
        machine = elf["e_machine"]
        if machine not in ARCHES:
            raise SystemExit(f"crossbuf: no manylinux tag for a {machine} library")
        glibc = MIN_GLIBC
        needs = elf.get_section_by_name(".gnu.version_r")
        for _, versions in needs.iter_versions() if isinstance(needs, GNUVerNeedSection) else []:
            for v in versions:
                m = re.fullmatch(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?", v.name)
                if m:
                    glibc = max(glibc, (int(m.group(1)), int(m.group(2))))
    return f"manylinux_{glibc[0]}_{glibc[1]}_{ARCHES[machine]}"


def temp_dir() -> str:
    d = tempfile.mkdtemp(prefix="crossbuf-setup-")
    atexit.register(shutil.rmtree, d, True)
    return d


class BuildPyWithLib(build_py):
    def run(self) -> None:
        if shutil.which("go") is None:
            sys.exit(
                "crossbuf: building from source needs the Go toolchain (the version in go.mod) on PATH: "
                "install Go, or install a crossbuf wheel instead"
            )
        super().run()
        build_sh("golib", os.path.join(self.build_lib, "crossbuf", LIB_NAME))


class BinaryDistribution(Distribution):
    def has_ext_modules(self) -> bool:
        return True


class BdistWheelManylinux(bdist_wheel):
    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> tuple[str, str, str]:
        lib = os.path.join(self.get_finalized_command("build_py").build_lib, "crossbuf", LIB_NAME)
        return "py3", "none", manylinux_tag(lib)


setup(
    version=build_sh("version"),
    # setuptools' staging and metadata stay out of the source tree
    options={"build": {"build_base": temp_dir()}, "egg_info": {"egg_base": temp_dir()}},
    distclass=BinaryDistribution,
    cmdclass={"build_py": BuildPyWithLib, "bdist_wheel": BdistWheelManylinux},
)
