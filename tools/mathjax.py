"""Give the book its own copy of MathJax, so formulas render without a CDN.

Installs the npm package ``mathjax`` (version 3) into ``_build/npm`` when it is missing and
copies its browser bundle to ``book/_static/mathjax``, which ``_config.yml`` points Sphinx at.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = "3.2.2"
PREFIX = ROOT / "_build" / "npm"
TARGET = ROOT / "book" / "_static" / "mathjax"
ENTRY = "tex-chtml.js"


def main() -> None:
    source = PREFIX / "node_modules" / "mathjax" / "es5"
    if not (source / ENTRY).exists():
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("npm is needed to install MathJax for the book: install Node.js "
                     "(e.g. `apt-get install npm`) and run `make book` again")
        PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix",
                        str(PREFIX), f"mathjax@{VERSION}"], check=True)
    if not (TARGET / ENTRY).exists():
        shutil.rmtree(TARGET, ignore_errors=True)
        shutil.copytree(source, TARGET)
    print(f"MathJax {VERSION} at {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
