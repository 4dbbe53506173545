"""Builds libcrossbuf.so with the Go toolchain and ships it inside the wheel.

The library does not use the Python C API, so the wheel is tagged
py3-none-<platform>: one wheel per OS/architecture serves every Python 3.
"""

import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70
    from wheel.bdist_wheel import bdist_wheel

ROOT = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(ROOT, "build", "lib", "libcrossbuf.so")


class BuildPyWithLib(build_py):
    def run(self):
        if not os.environ.get("CROSSBUF_SKIP_GO_BUILD"):
            subprocess.check_call(["bash", os.path.join(ROOT, "build.sh"), "lib"], cwd=ROOT)
        super().run()
        dest = os.path.join(self.build_lib, "crossbuf")
        os.makedirs(dest, exist_ok=True)
        shutil.copyfile(os.path.realpath(LIB), os.path.join(dest, "libcrossbuf.so"))


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


class BdistWheelPy3None(bdist_wheel):
    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(
    # build/lib holds libcrossbuf.so itself: keep setuptools' staging elsewhere
    options={"build": {"build_base": "build/py"}},
    distclass=BinaryDistribution,
    cmdclass={"build_py": BuildPyWithLib, "bdist_wheel": BdistWheelPy3None},
)
