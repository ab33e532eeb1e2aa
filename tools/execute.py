"""Run lab notebooks in full mode, store their outputs, and stamp what produced them.

    BOOK_MODE=full python tools/execute.py [notebook or folder ...]   (default: notebooks/)
    BOOK_MODE=full python tools/execute.py --threads N [...]   each kernel on N threads
    python tools/execute.py --stale [...]     which labs are stale, why, and what a re-run costs
    python tools/execute.py --restamp [...]   convert stamps that hashed code cells as text,
                                              where the text is unchanged, without re-running
    python tools/execute.py --restamp-from REV NB   rewrite the definition hashes of a lab that
                                              ran under another Python (on a GPU machine, say)
                                              on the tree of commit REV, after checking that no
                                              helpers file it loaded has changed since REV

Labs run one at a time, holding every core slot (``tools/slots.py``) unless ``--threads N``
limits each kernel to N threads and N slots, so that two ``--threads 1`` executors run side by
side on 2 cores; the stamp records ``threads``. What the stamp holds and when it is fresh is
``tools/freshness.py``'s; how outputs are made lean, ``tools/outputs.py``'s.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, only tools/ is on the path
from tools.freshness import (KEY, code_hash, fingerprint, report_stale, restamp,  # noqa: E402
                             restamp_from, whole_files)
from tools.outputs import lean  # noqa: E402
from tools.reach import package_sources  # noqa: E402
from tools.slots import core_slots, kernel_env  # noqa: E402

CELL_TIMEOUT_S = 4 * 3600

# Run in the kernel after the notebook (then removed): which helpers modules did it use, in
# which environment, on what device? One function, deleted afterwards, so it leaves no names.
PROBE = """
def _probe():
    import json, os, platform, sys
    helpers = sorted({m.__file__ for n, m in list(sys.modules.items())
                      if (n == "helpers" or n.startswith("helpers.")) and getattr(m, "__file__", None)})
    versions = {"python": platform.python_version()}
    for name in ("torch", "tensorflow", "keras", "numpy"):
        if name in sys.modules:
            versions[name] = sys.modules[name].__version__
    name = None
    torch, tf = sys.modules.get("torch"), sys.modules.get("tensorflow")
    if torch is not None and torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
    elif tf is not None and tf.config.list_physical_devices("GPU"):
        gpu = tf.config.list_physical_devices("GPU")[0]
        name = tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
    if name is None:  # no GPU in use: the CPU model, as /proc/cpuinfo names it on Linux
        name = platform.processor() or platform.machine()
        if os.path.exists("/proc/cpuinfo"):
            with open("/proc/cpuinfo") as f:
                name = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), name)
        name = f"{name}, {os.cpu_count()} cores"
    print(json.dumps({"helpers": helpers, "versions": versions, "prefix": sys.prefix,
                      "device": str(globals().get("DEVICE")), "device_name": name}))
_probe()
del _probe
"""


def execute(path: Path, threads: int | None = None) -> float:
    """Execute ``path`` in place in full mode, the kernel on ``threads`` threads if given;
    return the wall time in seconds."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    # The kernel's start-up warning about unencrypted local TCP says nothing about the lab.
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(path.resolve().parent)}})
    package = package_sources(ROOT)  # as the run starts: later edits show up as stale
    reached = fingerprint(nb, package)
    began = time.perf_counter()
    with client.setup_kernel(**({} if threads is None else {"env": kernel_env(threads)})):
        try:
            client.execute(reset_kc=False, cleanup_kc=False)
        except CellExecutionError as error:  # its message holds the cell and the traceback
            raise SystemExit(f"{path}: a cell failed; the file is left unchanged\n{error}")
        except CellTimeoutError as error:
            raise SystemExit(f"{path}: a cell ran over {CELL_TIMEOUT_S} s; the file is left "
                             f"unchanged\n{error}")
        except DeadKernelError as error:  # e.g. killed for memory
            raise SystemExit(f"{path}: the kernel died; the file is left unchanged\n{error}")
        wall = time.perf_counter() - began
        probe = nbformat.v4.new_code_cell(PROBE)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
        nb.cells.pop()
    info = json.loads("".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout"))
    # "python3" resolves to this interpreter unless a user-level kernel spec shadows it; outputs
    # from another environment would be stamped with versions and helpers that are not ours.
    if Path(info["prefix"]) != Path(sys.prefix):
        raise SystemExit(f"{path}: the python3 kernel ran in {info['prefix']}, not in "
                         f"{sys.prefix}; remove the kernel spec shown by `jupyter kernelspec "
                         "list` that shadows it. The file is left unchanged.")
    lean(nb, where=str(path))
    stamp = {
        "mode": "full",
        "code_tree_sha256": code_hash(nb),
        "reached": reached,
        "loaded": sorted(Path(f).resolve().relative_to(ROOT).as_posix()
                         for f in info["helpers"] if Path(f).resolve().is_relative_to(ROOT)),
        "whole_files": whole_files(info["helpers"], reached, package),
        "device": info["device"],
        "device_name": info["device_name"],
        "versions": info["versions"],
        "wall_time_s": round(wall, 1),
        "executed_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "platform": platform.platform(terse=True),
    }
    if threads is not None:
        stamp["threads"] = threads
    nb.metadata[KEY] = stamp
    nbformat.write(nb, path)
    return wall


def targets(arguments: list[str]) -> list[Path]:
    """The notebooks named by ``arguments`` (files or folders); ``notebooks/`` by default."""
    paths = [Path(a) for a in arguments] or [ROOT / "notebooks"]
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.glob("*.ipynb"))
        elif path.suffix == ".ipynb" and path.exists():
            found.append(path)
        else:
            raise SystemExit(f"not a notebook or a folder of notebooks: {path}")
    return found


def require_full_mode() -> None:
    """Stop unless the book's one switch (read by helpers/config.py only) says full."""
    from helpers.config import ENV_VAR, current_budget

    try:
        full = current_budget().full
    except ValueError as error:
        raise SystemExit(str(error))
    if not full:
        raise SystemExit(f"stored outputs must come from full mode: run with {ENV_VAR}=full "
                         "(make execute does)")


def positive_int(value: str) -> int:
    """An argparse type: a positive whole number."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"takes a positive whole number, not {value!r}")
    return number


def parser() -> argparse.ArgumentParser:
    """The command line of this script (see the module's docstring)."""
    out = argparse.ArgumentParser(
        prog="tools/execute.py", description=__doc__.split("\n\n")[0],
        epilog="Without --stale, --restamp or --restamp-from, the notebooks are executed "
               "(in full mode: BOOK_MODE=full).")
    out.add_argument("notebooks", nargs="*", help="notebooks or folders (default: notebooks/)")
    what = out.add_mutually_exclusive_group()
    what.add_argument("--stale", action="store_true", help="list stale labs, why, and the cost")
    what.add_argument("--restamp", action="store_true",
                      help="convert stamps that hashed code cells as text")
    what.add_argument("--restamp-from", metavar="REV",
                      help="rehash a lab run on commit REV under another Python")
    out.add_argument("--threads", type=positive_int, metavar="N",
                     help="each kernel on N threads, holding N core slots")
    return out


def main(arguments: list[str]) -> None:
    """Execute every target notebook in full mode, printing each one's wall time; or report
    or restamp, as the options say."""
    args = parser().parse_args(arguments)
    if args.threads is not None and (args.stale or args.restamp or args.restamp_from):
        parser().error("--threads applies to executing notebooks")
    if args.stale:
        report_stale(targets(args.notebooks))
        return
    if args.restamp:
        for path in targets(args.notebooks):
            print(f"{path.name}: {'restamped' if restamp(path) else 'left as it is'}")
        return
    if args.restamp_from:
        if len(args.notebooks) != 1:
            parser().error("--restamp-from REV takes one notebook")
        refused = restamp_from(Path(args.notebooks[0]), args.restamp_from)
        print(f"{args.notebooks[0]}: "
              + ("left as it is: " + "; ".join(refused) if refused else "restamped"))
        return
    require_full_mode()
    found = targets(args.notebooks)
    if not found:
        raise SystemExit(f"no notebooks in {' '.join(args.notebooks) or ROOT / 'notebooks'}")
    with core_slots(args.threads):
        for path in found:
            print(f"executing {path} ...", flush=True)
            wall = execute(path, args.threads)
            print(f"{path}: {wall:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
