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

Labs run one at a time, and executors share the cores through one lock file per core under
``_build/`` (``execute.lock.0``, ``execute.lock.1``, ...): two torch processes side by side on a
2-core machine, each with a thread per core, slow each other down about 30 times, their OpenMP
threads spinning for each other's cores. An executor takes every core unless ``--threads N``
limits its kernel to N threads (OpenMP, MKL, OpenBLAS and TensorFlow); then it takes N cores,
so two ``--threads 1`` executors run side by side on 2 cores. The stamp records ``threads``.

The stamp in ``metadata["dropout_to_fid"]`` records a hash of the code cells' syntax trees
(so a lab reformatted, or with its comments edited, stays fresh), a hash of each
``helpers`` definition and module the lab reaches (see ``tools/reach.py``), a whole-file hash
of any helpers module the kernel loaded that the analysis did not reach, the library
versions, the device and the wall time. ``stale_reasons`` (used by the tests) compares a
stamp with the current files; a version difference is reported by ``version_notes`` but does
not make a lab stale.
"""
from __future__ import annotations

import ast
import contextlib
import datetime as dt
import fcntl
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, only tools/ is on the path
from tools.reach import dump, package_sources, reach_of, strip_docstrings  # noqa: E402

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


def text_hash(nb) -> str:
    """sha256 of the code cells' sources as text, in order: what stamps recorded before
    code cells were hashed by their syntax trees (read only to convert such a stamp)."""
    sources = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    return sha256_bytes("\n\x1e\n".join(sources).encode())


def cell_tree(source: str) -> str:
    """The syntax tree of one code cell as text: comments, line breaks, spacing and the
    docstrings of functions and classes do not show; every statement, name and literal does.

    IPython's own transformation turns magics and shell lines into the calls they run first,
    so they count too. A cell that does not parse is taken as its text."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return "text:" + source
    # A cell's own leading string is not a docstring: the cell shows it as its output.
    return "\n".join(dump(strip_docstrings(statement)) for statement in tree.body)


def code_hash(nb) -> str:
    """sha256 of the code cells' syntax trees (see :func:`cell_tree`), in order: a lab
    reformatted, or with comments edited, keeps its hash."""
    return sha256_bytes("\n\x1e\n".join(cell_tree(source) for source in code_cells(nb)).encode())


def code_cells(nb) -> list[str]:
    """The sources of the code cells of ``nb``, in order."""
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def fingerprint(nb, package: dict[str, str]) -> dict[str, str]:
    """Hashes of the helpers definitions and modules the code of ``nb`` reaches."""
    return reach_of(code_cells(nb), package).fingerprint()


def whole_files(loaded: list[str], reached: dict[str, str], package: dict[str, str],
                root: Path = ROOT) -> dict[str, str]:
    """sha256 of each helpers file the kernel ``loaded`` that ``reached`` does not cover:
    the cross-check for code that the static analysis cannot follow."""
    covered = {key.split("::")[0] for key in reached}
    out = {}
    for file in loaded:
        try:
            relative = Path(file).resolve().relative_to(root).as_posix()
        except ValueError:  # a helpers package from elsewhere: not ours to track
            continue
        if relative not in covered:
            text = package.get(relative)
            out[relative] = sha256_bytes(text.encode()) if text is not None else "missing"
    return dict(sorted(out.items()))


def _describe(key: str) -> str:
    file, _, name = key.partition("::")
    return f"{name} in {file}" if name else f"the top-level statements of {file}"


def stale_reasons(path: str | Path, root: Path = ROOT) -> list[str]:
    """Why the stored outputs of notebook ``path`` are not from a full run of its current code."""
    nb = nbformat.read(path, as_version=4)
    stamp = nb.metadata.get(KEY)
    if not stamp:
        return ["never executed with tools/execute.py"]
    reasons = []
    if stamp.get("mode") != "full":
        reasons.append(f"outputs are from {stamp.get('mode')!r} mode, not full")
    if "code_tree_sha256" not in stamp:
        reasons.append("the stamp predates syntax-tree hashes of code cells: run "
                       "`tools/execute.py --restamp`, which converts it if the cells are unchanged")
    elif stamp["code_tree_sha256"] != code_hash(nb):
        reasons.append("code cells changed since the outputs were made")
    if "reached" not in stamp:
        reasons.append("the stamp predates definition-level stamps: re-run the lab")
    else:
        package = package_sources(root)
        then, now = stamp["reached"], fingerprint(nb, package)
        for key in sorted(set(then) | set(now)):
            if key not in now:
                reasons.append(f"{_describe(key)} is no longer reached (removed or renamed)")
            elif key not in then:
                reasons.append(f"{_describe(key)}: the lab now reaches it")
            elif then[key] != now[key]:
                reasons.append(f"{_describe(key)} changed since the outputs were made")
        for relative, digest in stamp.get("whole_files", {}).items():
            if relative not in package:
                reasons.append(f"{relative} no longer exists")
            elif sha256_bytes(package[relative].encode()) != digest:
                reasons.append(f"{relative} changed since the outputs were made")
    if not any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"):
        reasons.append("no stored outputs")
    return reasons


DISTRIBUTIONS = {"torch": ("torch",), "tensorflow": ("tensorflow-cpu", "tensorflow"),
                 "keras": ("keras",), "numpy": ("numpy",)}


def installed_versions() -> dict[str, str]:
    """The versions of the stamped libraries in this environment, read without importing them."""
    versions = {"python": platform.python_version()}
    for name, distributions in DISTRIBUTIONS.items():
        for distribution in distributions:
            try:
                versions[name] = importlib.metadata.version(distribution)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return versions


def version_notes(path: str | Path, installed: dict[str, str] | None = None) -> list[str]:
    """Libraries whose version here differs from the one the stored outputs were made with.
    Reported, not stale: a new patch release should not force a re-run."""
    stamp = nbformat.read(path, as_version=4).metadata.get(KEY) or {}
    installed = installed_versions() if installed is None else installed
    notes = []
    for name, then in sorted(stamp.get("versions", {}).items()):
        now = installed.get(name)
        if now is not None and now.split("+")[0] != then.split("+")[0]:
            notes.append(f"{name} {then} when run, {now} here")
    return notes


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


# The file name IPython gives a cell's code, which a warning raised in the cell prints:
# /tmp/ipykernel_4242/1234567890.py:22 (a temporary path of the machine that ran it).
KERNEL_CELL = re.compile(r"(?:/[^\s/]+)*/ipykernel_\d+/\d+\.py:(\d+)")


def without_root(text: str, root: Path = ROOT) -> str:
    """``text`` with this checkout's absolute path cut from file names (warnings print them)
    and a cell's temporary file name replaced by "this cell, line N", so stored outputs read
    ``helpers/lab.py`` wherever the book was executed and name no machine's paths."""
    return KERNEL_CELL.sub(r"this cell, line \1", text.replace(f"{root}/", ""))


# Matplotlib's note that its font cache lacks a font: a fact about the machine's cache (a damaged
# one lists none of the fonts matplotlib ships), not about the lab, and it falls back on its own.
FONT_FALLBACK = re.compile(
    r"^findfont: Font family \[.*\] not found\. Falling back to .*(?:\n|$)", re.M)


def lean(nb, where: str = "notebook", root: Path = ROOT) -> None:
    """Shrink outputs: collapse progress-bar updates, drop widget views, timing metadata and
    matplotlib's font-cache notes, make file names relative to ``root``.

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
                if output["name"] == "stderr":
                    output["text"] = FONT_FALLBACK.sub("", output["text"])
        cell.outputs = [o for o in cell.outputs if o.get("output_type") != "stream" or o["text"]]
        for output in cell.outputs:
            data = output.get("data", {})
            data.pop("application/vnd.jupyter.widget-view+json", None)
            if isinstance(data.get("text/plain"), str):
                data["text/plain"] = without_root(data["text/plain"], root)
            size = len(json.dumps(output))
            if size > MAX_OUTPUT_BYTES:
                raise SystemExit(f"{where}: an output of {size:,} bytes is over the "
                                 f"{MAX_OUTPUT_BYTES:,}-byte limit; the file is left unchanged. "
                                 f"The cell:\n{cell.source[:300]}")


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS")


def kernel_env(threads: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with the thread-count variables that
    torch, NumPy and TensorFlow read at import set to ``threads``, and one inter-op thread."""
    env = dict(os.environ if base is None else base)
    env.update({name: str(threads) for name in THREAD_VARIABLES}, TF_NUM_INTEROP_THREADS="1")
    return env


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


def restamp(path: Path) -> bool:
    """Convert a stamp that hashed the code cells as text into one that hashes their syntax
    trees, if the text is still what ran; True if done. Nothing else in the stamp changes."""
    nb = nbformat.read(path, as_version=4)
    stamp = nb.metadata.get(KEY) or {}
    if stamp.get("mode") != "full" or stamp.get("code_sha256") != text_hash(nb):
        return False
    del stamp["code_sha256"]
    stamp["code_tree_sha256"] = code_hash(nb)
    nb.metadata[KEY] = dict(sorted(stamp.items()))
    nbformat.write(nb, path)
    return True


def write_definition_hashes(nb, path: Path, root: Path = ROOT) -> None:
    """Hash, with this Python, the helpers definitions the code of ``nb`` reaches (and whole
    the loaded files the analysis misses) into its stamp, and write ``nb`` to ``path``."""
    stamp = nb.metadata[KEY]
    package = package_sources(root)
    stamp["reached"] = fingerprint(nb, package)
    stamp["whole_files"] = whole_files([str(root / f) for f in stamp["loaded"]], stamp["reached"],
                                       package, root)
    nb.metadata[KEY] = dict(sorted(stamp.items()))
    nbformat.write(nb, path)


def restamp_from(path: Path, revision: str, root: Path = ROOT) -> list[str]:
    """Rewrite the definition hashes of lab ``path``, run on the tree of commit ``revision``
    under another Python version (whose syntax trees dump differently), with this Python's.

    Refused, with the reasons returned, unless the code cells are those the stamp records
    and every helpers file the kernel loaded is the same now as at ``revision``: then the
    definitions it reached are the same code, and only their hashes are written anew.
    """
    nb = nbformat.read(path, as_version=4)
    stamp = nb.metadata.get(KEY) or {}
    if stamp.get("mode") != "full" or "loaded" not in stamp:
        return ["no full-mode, definition-level stamp"]
    if stamp.get("code_tree_sha256") != code_hash(nb):
        return ["code cells changed since the outputs were made"]
    diff = subprocess.run(["git", "diff", "--name-only", revision, "--", *stamp["loaded"]],
                          cwd=root, capture_output=True, text=True)
    if diff.returncode != 0:
        return [f"git cannot compare with {revision!r}: {diff.stderr.strip()}"]
    changed = diff.stdout.split()
    if changed:
        return [f"{file} changed since {revision}" for file in changed]
    run = stamp.get("versions", {}).get("python", "unknown")
    stamp["hashed_by"] = f"Python {platform.python_version()} (the run: {run})"
    write_definition_hashes(nb, path, root)
    return []


def report_stale(found: list[Path]) -> list[Path]:
    """Print each stale lab, why, and how long its last full run took; return them."""
    stale, cost, installed = [], 0.0, installed_versions()
    for path in found:
        reasons = stale_reasons(path)
        stamp = nbformat.read(path, as_version=4).metadata.get(KEY) or {}
        seconds = stamp.get("wall_time_s")
        if reasons:
            stale.append(path)
            cost += seconds or 0.0
            last = f"{seconds:,.0f} s" if seconds else "unknown"
            print(f"STALE {path.name} (last full run: {last} on {stamp.get('device_name', '?')})")
            for reason in reasons:
                print(f"    - {reason}")
        for note in version_notes(path, installed):
            print(f"  note {path.name}: {note} (reported, not stale)")
    print(f"{len(stale)} of {len(found)} labs stale; re-running them took {cost:,.0f} s last time")
    return stale


LOCK = ROOT / "_build" / "execute.lock"  # core slot i is the file execute.lock.i
POLL_S = 1.0


@contextlib.contextmanager
def core_slots(threads: int | None = None, lock: Path = LOCK, slots: int | None = None):
    """Hold ``threads`` of the ``slots`` core slots (default: one per core), each an exclusive
    lock on the file ``lock``.i, for the duration; all of them when ``threads`` is None or not
    below ``slots``. Waits, saying so, until enough are free.

    Every slot is taken in order, blocking; a part is taken only all at once, polling, so two
    executors never each hold a slot the other waits for."""
    slots = slots or os.cpu_count() or 1
    wanted = slots if threads is None else min(threads, slots)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as held:
        handles = [held.enter_context(open(f"{lock}.{i}", "w")) for i in range(slots)]
        said = False

        def say() -> None:
            nonlocal said
            if not said:
                print(f"other tools/execute.py runs hold core slots {lock}.*; waiting for "
                      f"{wanted} of the {slots} to be free", flush=True)
                said = True

        if wanted == slots:
            for handle in handles:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    say()
                    fcntl.flock(handle, fcntl.LOCK_EX)
        else:
            while True:
                taken = []
                for handle in handles:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue
                    taken.append(handle)
                    if len(taken) == wanted:
                        break
                if len(taken) == wanted:
                    break
                for handle in taken:
                    fcntl.flock(handle, fcntl.LOCK_UN)
                say()
                time.sleep(POLL_S)
        yield  # closing the files releases the locks


def one_at_a_time(lock: Path = LOCK, slots: int | None = None):
    """Hold every core slot: no other executor runs beside this one."""
    return core_slots(None, lock, slots)


def parse_threads(arguments: list[str]) -> tuple[int | None, list[str]]:
    """``--threads N`` (or ``--threads=N``) taken out of ``arguments``: (N or None, the rest).
    Raises ``SystemExit`` unless N is a positive whole number."""
    threads, rest, i = None, [], 0
    while i < len(arguments):
        argument = arguments[i]
        if argument == "--threads" or argument.startswith("--threads="):
            if argument == "--threads":
                if i + 1 == len(arguments):
                    raise SystemExit("--threads needs a number: --threads N")
                value, i = arguments[i + 1], i + 2
            else:
                value, i = argument.split("=", 1)[1], i + 1
            try:
                threads = int(value)
            except ValueError:
                threads = 0
            if threads < 1:
                raise SystemExit(f"--threads takes a positive whole number, not {value!r}")
        else:
            rest.append(argument)
            i += 1
    return threads, rest


def main(arguments: list[str]) -> None:
    """Execute every target notebook in full mode, printing each one's wall time."""
    threads, arguments = parse_threads(arguments)
    if threads is not None and arguments[:1] in (["--stale"], ["--restamp"], ["--restamp-from"]):
        raise SystemExit(f"--threads applies to executing notebooks, not to {arguments[0]}")
    if arguments[:1] == ["--stale"]:
        report_stale(targets(arguments[1:]))
        return
    if arguments[:1] == ["--restamp"]:
        for path in targets(arguments[1:]):
            print(f"{path.name}: {'restamped' if restamp(path) else 'left as it is'}")
        return
    if arguments[:1] == ["--restamp-from"]:
        if len(arguments) != 3:
            raise SystemExit("usage: tools/execute.py --restamp-from REV NOTEBOOK")
        refused = restamp_from(Path(arguments[2]), arguments[1])
        print(f"{arguments[2]}: "
              + ("left as it is: " + "; ".join(refused) if refused else "restamped"))
        return
    require_full_mode()
    found = targets(arguments)
    if not found:
        raise SystemExit(f"no notebooks in {' '.join(arguments) or ROOT / 'notebooks'}")
    with core_slots(threads):
        for path in found:
            print(f"executing {path} ...", flush=True)
            wall = execute(path, threads)
            print(f"{path}: {wall:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
