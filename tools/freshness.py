"""Whether a lab's stored outputs are fresh: the stamp ``tools/execute.py`` writes, and its check.

The stamp in ``metadata["dropout_to_fid"]`` records a hash of the code cells' syntax trees
(so a lab reformatted, or with its comments edited, stays fresh), a hash of each ``helpers``
definition and module the lab reaches (see ``tools/reach.py``), a whole-file hash of any
helpers module the kernel loaded that the analysis did not reach, the library versions, the
device and the wall time. :func:`stale_reasons` (used by the tests and ``make stale``)
compares a stamp with the current files; a version difference is reported by
:func:`version_notes` but does not make a lab stale.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, only tools/ is on the path
from tools.reach import dump, package_sources, reach_of, strip_docstrings  # noqa: E402

KEY = "dropout_to_fid"


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
