"""Run lab notebooks in full mode, store their outputs, and stamp what produced them.

    BOOK_MODE=full python tools/execute.py [notebook or folder ...]   (default: notebooks/)

The stamp in ``metadata["dropout_to_fid"]`` records a hash of the code cells, a hash of
every ``helpers`` module the kernel loaded, the device and the wall time. ``stale_reasons``
(used by the tests) compares a stamp with the current files, so a notebook whose code changed
after its outputs were made is caught.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
KEY = "dropout_to_fid"
MAX_OUTPUT_BYTES = 1_000_000
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


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def code_hash(nb) -> str:
    """sha256 of the code cells' sources, in order."""
    sources = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    return sha256_bytes("\n\x1e\n".join(sources).encode())


def snapshot(root: Path = ROOT) -> dict[str, str]:
    """sha256 of every helpers source, taken before a run: edits made while it runs then
    show up as stale instead of being stamped as if the run had used them."""
    return {p.relative_to(root).as_posix(): sha256_bytes(p.read_bytes())
            for p in sorted((root / "helpers").rglob("*.py"))}


def helpers_hashes(files: list[str], before: dict[str, str], root: Path = ROOT) -> dict[str, str]:
    """The entries of ``before`` for the helpers ``files`` a kernel loaded."""
    out = {}
    for file in files:
        try:
            relative = Path(file).resolve().relative_to(root).as_posix()
        except ValueError:  # a helpers package from elsewhere: not ours to track
            continue
        out[relative] = before.get(relative, "missing before the run")
    return dict(sorted(out.items()))


def stale_reasons(path: str | Path, root: Path = ROOT) -> list[str]:
    """Why the stored outputs of notebook ``path`` are not from a full run of its current code."""
    nb = nbformat.read(path, as_version=4)
    stamp = nb.metadata.get(KEY)
    if not stamp:
        return ["never executed with tools/execute.py"]
    reasons = []
    if stamp.get("mode") != "full":
        reasons.append(f"outputs are from {stamp.get('mode')!r} mode, not full")
    if stamp.get("code_sha256") != code_hash(nb):
        reasons.append("code cells changed since the outputs were made")
    for relative, digest in stamp.get("helpers", {}).items():
        file = root / relative
        if not file.exists():
            reasons.append(f"{relative} no longer exists")
        elif sha256_bytes(file.read_bytes()) != digest:
            reasons.append(f"{relative} changed since the outputs were made")
    if not any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"):
        reasons.append("no stored outputs")
    return reasons


def collapse_carriage_returns(text: str) -> str:
    """Keep what a terminal would show: for each line, the text after its last '\\r'.

    Trailing '\\r's are dropped first, so a Windows line end ('\\r\\n') or a progress bar
    that ends on '\\r' keeps its last text instead of becoming an empty line.
    """
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))


def merge_streams(outputs: list) -> list:
    """Join consecutive stream outputs of the same name (a progress bar sends hundreds)."""
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous["name"] == output["name"]):
            previous["text"] += output["text"]
        else:
            merged.append(output)
    return merged


def without_root(text: str, root: Path = ROOT) -> str:
    """``text`` with this checkout's absolute path cut from file names (warnings print them),
    so stored outputs read ``helpers/lab.py`` wherever the book was executed."""
    return text.replace(f"{root}/", "")


def lean(nb, where: str = "notebook", root: Path = ROOT) -> None:
    """Shrink outputs: collapse progress-bar updates, drop widget views and timing metadata,
    make file names relative to ``root``.

    Raises ``SystemExit`` naming ``where`` when an output stays over ``MAX_OUTPUT_BYTES``.
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        cell.outputs = merge_streams(cell.get("outputs", []))
        for output in cell.outputs:
            if output.get("output_type") == "stream":
                output["text"] = without_root(collapse_carriage_returns(output["text"]), root)
            data = output.get("data", {})
            data.pop("application/vnd.jupyter.widget-view+json", None)
            if isinstance(data.get("text/plain"), str):
                data["text/plain"] = without_root(data["text/plain"], root)
            size = len(json.dumps(output))
            if size > MAX_OUTPUT_BYTES:
                raise SystemExit(f"{where}: an output of {size:,} bytes is over the "
                                 f"{MAX_OUTPUT_BYTES:,}-byte limit; the file is left unchanged. "
                                 f"The cell:\n{cell.source[:300]}")


def execute(path: Path) -> float:
    """Execute ``path`` in place in full mode; return the wall time in seconds."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    # The kernel's start-up warning about unencrypted local TCP says nothing about the lab.
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(path.resolve().parent)}})
    before = snapshot()
    began = time.perf_counter()
    with client.setup_kernel():
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
    nb.metadata[KEY] = {
        "mode": "full",
        "code_sha256": code_hash(nb),
        "helpers": helpers_hashes(info["helpers"], before),
        "device": info["device"],
        "device_name": info["device_name"],
        "versions": info["versions"],
        "wall_time_s": round(wall, 1),
        "executed_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "platform": platform.platform(terse=True),
    }
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
    sys.path.insert(0, str(ROOT))  # run as a script, only tools/ is on the path
    from helpers.config import ENV_VAR, current_budget

    try:
        full = current_budget().full
    except ValueError as error:
        raise SystemExit(str(error))
    if not full:
        raise SystemExit(f"stored outputs must come from full mode: run with {ENV_VAR}=full "
                         "(make execute does)")


def main(arguments: list[str]) -> None:
    """Execute every target notebook in full mode, printing each one's wall time."""
    require_full_mode()
    found = targets(arguments)
    if not found:
        raise SystemExit(f"no notebooks in {' '.join(arguments) or ROOT / 'notebooks'}")
    for path in found:
        print(f"executing {path} ...", flush=True)
        wall = execute(path)
        print(f"{path}: {wall:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
