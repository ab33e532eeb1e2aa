"""Run every lab in fast mode as Colab would, on Colab's library versions.

    python tools/colab_check.py --python .venv-colab/bin/python [--jobs N] [notebook or folder ...]

``make colab-check`` builds the environment (``requirements-colab.txt``, on Colab's Python)
and calls this. Each lab runs in a kernel of that environment, in an empty folder outside
the repository, with a stand-in ``google.colab`` module imported at start-up, so its setup
cell takes the Colab branch: it clones the book from ``BOOK_REPO_URL`` (here this repository's
committed tree, ``file://``), installs what Colab lacks, and runs on from the clone. The first
lab runs alone, since its setup cell installs into the shared environment; then ``--jobs``
labs at a time, each kernel on one thread. Exits non-zero if any lab fails, naming the cell.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, only tools/ is on the path
from tools.execute import targets  # noqa: E402
from tools.slots import kernel_env  # noqa: E402

VERSIONS = ROOT / "requirements-colab.txt"
NODEPS = ROOT / "requirements-nodeps.txt"  # what the setup cell installs on Colab
KERNEL = "colab-check"
STAND_IN = '''"""Stands in for Colab's own module: a lab's setup cell only asks whether it is imported."""
'''
CELL_TIMEOUT_S = 600


def colab_python_version(path: Path = VERSIONS) -> str:
    """The Python version Colab runs, from the ``# python: X.Y`` line of ``path``."""
    for line in path.read_text().splitlines():
        if line.startswith("# python:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"{path} has no '# python: X.Y' line")


def kernel_spec(folder: Path, python: str, repo_url: str) -> None:
    """A kernel spec named :data:`KERNEL` under ``folder/kernels``: ``python``'s ipykernel,
    with a ``google.colab`` stand-in imported before any cell runs, in fast mode, on one
    thread, cloning the book from ``repo_url``."""
    stand_in = folder / "site" / "google" / "colab"  # `google` stays a namespace package:
    stand_in.mkdir(parents=True)                     # protobuf's google.protobuf still loads
    (stand_in / "__init__.py").write_text(STAND_IN)
    env = kernel_env(1, base={})
    env.update(PYTHONPATH=str(folder / "site"), BOOK_MODE="fast", BOOK_REPO_URL=repo_url,
               PYDEVD_DISABLE_FILE_VALIDATION="1")  # Colab's ipykernel starts a debugger,
    spec = {"argv": [python, "-Xfrozen_modules=off",  # which warns about frozen modules
                     "-m", "ipykernel_launcher", "-f", "{connection_file}",
                     "--IPKernelApp.exec_lines=import google.colab"],
            "display_name": "Colab check", "language": "python", "env": env}
    (folder / "kernels" / KERNEL).mkdir(parents=True)
    (folder / "kernels" / KERNEL / "kernel.json").write_text(json.dumps(spec, indent=1))


def run_lab(path: Path, folder: Path) -> tuple[str, float, str | None]:
    """Run lab ``path`` in a fresh folder under ``folder``: (name, seconds, error or None)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    work = folder / path.stem
    work.mkdir()
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name=KERNEL,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(work)}})
    began = time.perf_counter()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        return path.name, time.perf_counter() - began, str(error)[-4000:]
    return path.name, time.perf_counter() - began, None


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", required=True, help="the Colab environment's interpreter")
    parser.add_argument("--jobs", type=int, default=2, help="labs at a time after the first")
    parser.add_argument("notebooks", nargs="*", help="notebooks or folders (default: notebooks/)")
    args = parser.parse_args(arguments)
    if args.jobs < 1:
        parser.error("--jobs takes a positive whole number")
    want = colab_python_version()
    have = subprocess.run([args.python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True).stdout.strip()
    if have != want:
        raise SystemExit(f"{args.python} is Python {have or '(does not run)'}; Colab runs {want}")
    found = targets(args.notebooks)
    # What Colab lacks is installed by the first lab's setup cell, as on Colab: not before.
    lacking = [line.split("==")[0] for line in NODEPS.read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    subprocess.run([args.python, "-m", "pip", "uninstall", "-y", "-q", *lacking],
                   capture_output=True)
    folder = Path(tempfile.mkdtemp(prefix="colab-check-"))
    try:
        kernel_spec(folder, os.path.abspath(args.python), f"file://{ROOT}")  # not resolved:
        # a virtual environment's python is a link that must stay one
        os.environ["JUPYTER_PATH"] = str(folder)  # where jupyter_client finds the kernel spec
        print(f"{len(found)} labs in fast mode on Colab's versions ({VERSIONS.name}, Python "
              f"{want}), cloned from {ROOT}'s committed tree", flush=True)
        results = []

        def run(path: Path) -> None:
            name, seconds, error = result = run_lab(path, folder)
            print(f"  {name}: {seconds:.0f} s {'FAILED' if error else 'ok'}", flush=True)
            results.append(result)

        run(found[0])
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(run, found[1:]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    failed = [(name, error) for name, _, error in results if error]
    for name, error in failed:
        print(f"\n{name} failed on Colab's versions:\n{error}")
    print(f"{len(results) - len(failed)} of {len(results)} labs passed on Colab's versions")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
