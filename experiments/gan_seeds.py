"""Chapter 5's DCGAN trained from more seeds than its lab can hold, by the lab's own code.

The lab trains its DCGAN once, from seed 0, and judges that one generator against the
chapter's goals. One seed cannot say whether the goals are met by the design or by luck. This
script runs the lab's own cells (everything before its first section: the setup, the
hyperparameters, the imports; then its sections "A DCGAN on MNIST" and "Judging the digits",
taken from the notebook as they stand) in a fresh kernel per seed, with ``HP["seed"]`` set to
that seed after the hyperparameter cell, and records what the pinned network says of each
generator's 10,000 digits. The seed is the lab's one seed: it starts the networks, orders the
batches, draws the noise that is scored and the 10,000 training digits FID compares with. Seed 0 is the lab's own full-mode run: its numbers are read from
``results/05_gans.json``, which that run of the same cells wrote.

    python experiments/gan_seeds.py --framework torch --seeds 1 2
    python experiments/gan_seeds.py --framework tensorflow --seeds 1 2 --threads 1

Each seed's record is written to ``--out`` as soon as it is measured, so an interrupted run
keeps what it finished. The file holds ``{"runs": {framework: {seed: record}}, "lab":
{framework: stamp}, framework: summary}``: the stamp is the lab's code fingerprint as
``tools/execute.py`` stamps it (a test compares it with the lab's, so a changed lab shows the
file as stale), and the summary, which the book quotes as ``05_gans.seeds``, gives for each
measure its mean and standard deviation over the seeds (``seeds_fid_mean``, ``seeds_fid_sd``,
...), the number of seeds and how many met all three goals. On a 2-core CPU a seed takes about
as long as the lab's DCGAN (35 minutes on one thread); the checkpoints go to a folder of their
own, so the lab's are left alone. ``--fast`` runs the lab's fast mode (seconds; for tests) and
records no seed 0.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers.recorded import read_file  # noqa: E402
from tools.freshness import code_hash, fingerprint  # noqa: E402
from tools.reach import package_sources  # noqa: E402
from tools.slots import core_slots, kernel_env  # noqa: E402

LABS = {"torch": ROOT / "notebooks" / "05_gans_pytorch.ipynb",
        "tensorflow": ROOT / "notebooks" / "05_gans_tensorflow.ipynb"}
SECTIONS = ("A DCGAN on MNIST", "Judging the digits")
MEASURES = ("confident_pct", "digits_present", "kl_to_uniform", "fid", "fid_floor")
MARK = "GAN_SEEDS_RECORD "
# The last cell: what the lab's cells computed, as one line of JSON.
REPORT = f"""
import json as _json
print({MARK!r} + _json.dumps({{
    "confident_pct": scored["report"].confident_pct,
    "digits_present": float(scored["report"].digits_present),
    "kl_to_uniform": scored["report"].kl_to_uniform,
    "fid": scored["fid"], "fid_floor": floor, "mode": BUDGET.mode}}))
"""


def meets_goals(record: dict) -> bool:
    """The chapter's three goals: >= 80 % confident, all ten classes, KL <= 0.05."""
    return (record["confident_pct"] >= 80 and record["digits_present"] == 10
            and record["kl_to_uniform"] <= 0.05)


def lab_program(nb, seed: int) -> list[str]:
    """The code of the lab's cells this script runs, with the seed set, and the report."""
    cells, section, seen = [], None, set()
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            section = cell.source.splitlines()[0][3:].strip()
            seen.add(section)
        elif cell.cell_type == "code" and (section is None or section in SECTIONS):
            cells.append(cell.source)
            if cell.source.startswith("HP = dict("):
                cells.append(f'HP["seed"] = {int(seed)}')
    missing = [s for s in SECTIONS if s not in seen]
    if missing:
        raise ValueError(f"the lab has no section {missing}: update SECTIONS")
    if not any(c.startswith('HP["seed"] =') for c in cells):
        raise ValueError("the lab has no cell that starts with 'HP = dict('")
    return cells + [REPORT]


def run_seed(path: Path, seed: int, *, fast: bool, threads: int | None,
             checkpoints: Path) -> dict:
    """Run the lab's program for ``seed`` in a fresh kernel; its record and wall time."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)
                                         for source in lab_program(nbformat.read(path, 4), seed)])
    env = dict(kernel_env(threads) if threads else os.environ)
    env.update(BOOK_MODE="fast" if fast else "full", BOOK_CHECKPOINT_DIR=str(checkpoints))
    client = NotebookClient(nb, timeout=4 * 3600, kernel_name="python3",
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(path.parent)}})
    with core_slots(threads):  # never beside a lab that tools/execute.py runs
        began = time.perf_counter()
        with client.setup_kernel(env=env):
            client.execute(reset_kc=False, cleanup_kc=False)
        wall = time.perf_counter() - began
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs
                      if o.get("name") == "stdout")
    line = next((l for l in printed.splitlines() if l.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"{path.name}, seed {seed}: the report cell printed {printed!r}")
    record = json.loads(line[len(MARK):])
    if record.pop("mode") != ("fast" if fast else "full"):
        raise RuntimeError(f"{path.name}, seed {seed}: the kernel ran in another mode")
    return {**record, "minutes": round(wall / 60, 1)}


def summarise(runs: dict[str, dict]) -> dict[str, float]:
    """Mean and standard deviation over the seeds of each measure, and the goals met."""
    if not runs:
        raise ValueError("no runs to summarise")
    out = {}
    for measure in MEASURES:
        values = [float(r[measure]) for r in runs.values()]
        out[f"seeds_{measure}_mean"] = float(np.mean(values))
        if len(values) > 1:
            out[f"seeds_{measure}_sd"] = float(np.std(values, ddof=1))
    out["seeds_n"] = float(len(runs))
    out["seeds_meeting_goals"] = float(sum(meets_goals(r) for r in runs.values()))
    return out


def lab_seed0(framework: str, results: Path) -> dict:
    """The lab's own seed-0 run, as its full-mode run recorded it."""
    recorded = read_file("05_gans", results)[framework]
    return {**{m: recorded[m] for m in MEASURES}, "source": "results/05_gans.json"}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--framework", choices=sorted(LABS), required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "05_gans.seeds.json")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of the kernel (tools/slots.kernel_env); default: all")
    parser.add_argument("--fast", action="store_true", help="the lab's fast mode; no seed 0")
    parser.add_argument("--checkpoints", type=Path,
                        default=ROOT / "checkpoints" / "05_gans_seeds")
    args = parser.parse_args(argv)
    if any(s < 1 for s in args.seeds):
        parser.error("seeds must be >= 1: seed 0 is the lab's own run")
    path = LABS[args.framework]
    out = json.loads(args.out.read_text()) if args.out.exists() else {}
    mode = "fast" if args.fast else "full"
    if out.get("mode", mode) != mode:
        raise SystemExit(f"{args.out} holds runs of the other mode: use another --out")
    out.update(about=__doc__.split("\n\n")[0].replace("\n", " "), mode=mode)
    nb = nbformat.read(path, 4)
    out.setdefault("lab", {})[args.framework] = {
        "code_tree_sha256": code_hash(nb), "reached": fingerprint(nb, package_sources(ROOT))}
    runs = out.setdefault("runs", {}).setdefault(args.framework, {})
    if not args.fast:
        runs["0"] = lab_seed0(args.framework, ROOT / "results")
    for seed in args.seeds:
        print(f"{path.name}: seed {seed} ...", flush=True)
        runs[str(seed)] = run_seed(path, seed, fast=args.fast, threads=args.threads,
                                   checkpoints=args.checkpoints)
        out[args.framework] = summarise(runs)
        args.out.write_text(json.dumps(out, indent=1) + "\n")
        shown = ", ".join(f"{k} {v:.4g}" for k, v in runs[str(seed)].items())
        print(f"  {shown}", flush=True)
    return out


if __name__ == "__main__":
    main()
