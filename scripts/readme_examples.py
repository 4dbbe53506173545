"""Writes each ```python block of README.md into DIR as its own module, so
mypy --strict checks the examples as users would run them."""

from __future__ import annotations

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    if not blocks:
        sys.exit("README.md has no python example")
    for i, block in enumerate(blocks):
        (out / f"readme_example_{i}.py").write_text(block)


if __name__ == "__main__":
    main()
