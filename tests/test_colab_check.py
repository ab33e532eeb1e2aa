"""The Colab check's pieces: Colab's Python read from the versions file, and a kernel spec
whose stand-in ``google.colab`` loads without hiding other ``google`` packages."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.colab_check import KERNEL, VERSIONS, colab_python_version, kernel_spec  # noqa: E402


def test_colab_python_is_read_from_the_versions_file(tmp_path: Path) -> None:
    assert colab_python_version() == "3.13"
    assert "torch==" in VERSIONS.read_text() and "read in" in VERSIONS.read_text()
    (tmp_path / "bare.txt").write_text("torch==2.11.0\n")
    with pytest.raises(SystemExit, match="no '# python: X.Y' line"):
        colab_python_version(tmp_path / "bare.txt")


def test_the_kernel_sees_google_colab_and_still_finds_other_google_packages(tmp_path: Path) -> None:
    kernel_spec(tmp_path, sys.executable, "file:///somewhere")
    spec = json.loads((tmp_path / "kernels" / KERNEL / "kernel.json").read_text())
    assert "--IPKernelApp.exec_lines=import google.colab" in spec["argv"]
    assert spec["env"]["BOOK_MODE"] == "fast" and spec["env"]["OMP_NUM_THREADS"] == "1"
    assert spec["env"]["BOOK_REPO_URL"] == "file:///somewhere"
    other = tmp_path / "elsewhere" / "google" / "other"  # as protobuf installs google.protobuf
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")
    run = subprocess.run(
        [sys.executable, "-c", "import google.colab, google.other, sys; "
         "print('google.colab' in sys.modules)"],
        env={"PYTHONPATH": f"{spec['env']['PYTHONPATH']}:{tmp_path / 'elsewhere'}"},
        capture_output=True, text=True)
    assert run.stdout.strip() == "True", run.stderr
