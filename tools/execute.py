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
import os
import platform
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
KEY = "dropout_to_fid"
MAX_OUTPUT_BYTES = 1_000_000
CELL_TIMEOUT_S = 4 * 3600

# Run in the kernel after the notebook: which helpers modules did it use, and on what device?
PROBE = """
import json as _json, sys as _sys, os as _os, platform as _platform
_info = {"helpers": sorted({m.__file__ for n, m in list(_sys.modules.items())
                            if (n == "helpers" or n.startswith("helpers.")) and getattr(m, "__file__", None)}),
         "versions": {"python": _platform.python_version()}}
for _name in ("torch", "tensorflow", "keras", "numpy"):
    if _name in _sys.modules:
        _info["versions"][_name] = _sys.modules[_name].__version__
_device = globals().get("DEVICE")
_info["device"] = str(_device)
if "torch" in _sys.modules and _sys.modules["torch"].cuda.is_available():
    _info["device_name"] = _sys.modules["torch"].cuda.get_device_name(0)
else:
    _model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), _platform.processor()) if _os.path.exists("/proc/cpuinfo") else _platform.processor()
    _info["device_name"] = f"{_model}, {_os.cpu_count()} cores"
print(_json.dumps(_info))
"""


def sha256_bytes(data: bytes) -> str:
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
    """Keep what a terminal would show: for each line, the text after its last '\\r'."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


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


def lean(nb) -> None:
    """Shrink outputs: collapse progress-bar updates, drop widget views and timing metadata."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        cell.outputs = merge_streams(cell.get("outputs", []))
        for output in cell.outputs:
            if output.get("output_type") == "stream":
                output["text"] = collapse_carriage_returns(output["text"])
            data = output.get("data", {})
            data.pop("application/vnd.jupyter.widget-view+json", None)
            size = len(json.dumps(output))
            if size > MAX_OUTPUT_BYTES:
                raise SystemExit(f"an output of {size:,} bytes is too large for the book:\n"
                                 f"{cell.source[:300]}")


def execute(path: Path) -> float:
    """Execute ``path`` in place in full mode; return the wall time in seconds."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    before = snapshot()
    began = time.perf_counter()
    with client.setup_kernel():
        try:
            client.execute(reset_kc=False, cleanup_kc=False)
        except CellExecutionError as error:
            raise SystemExit(f"{path}: a cell failed; the file is left unchanged\n{error}")
        wall = time.perf_counter() - began
        probe = nbformat.v4.new_code_cell(PROBE)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
        nb.cells.pop()
    info = json.loads("".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout"))
    lean(nb)
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


def main(arguments: list[str]) -> None:
    if os.environ.get("BOOK_MODE") != "full":
        raise SystemExit("stored outputs must come from full mode: run with BOOK_MODE=full "
                         "(make execute does)")
    for path in targets(arguments):
        print(f"executing {path} ...", flush=True)
        wall = execute(path)
        print(f"{path}: {wall:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
