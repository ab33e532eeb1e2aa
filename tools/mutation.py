"""Mutation testing of the helpers modules the book's numbers rest on (``make mutation``).

    python tools/mutation.py                 every module in tools/mutation.toml, in its order
    python tools/mutation.py fid vae        only these (helpers/fid.py, helpers/vae.py)
    python tools/mutation.py --jobs 2 ...    mutants tested side by side (default: 2)

Each module is tested with mutmut (pinned in requirements-mutation.txt) in a temporary copy
of the repository, so the working tree is never touched: mutmut mutates only that module,
and each mutant runs only the tests of the module's test files (tools/mutation.toml) that
reached the mutated function. A mutant is killed when a test fails (or the run times out);
mutants listed in tests/mutation_equivalent.txt, with a reason each, behave like the
original and are left out of the score. The table is printed and written, with the diff of
every surviving mutant, to _build/mutation/; the run fails when a module scores under the
goal, or when the equivalent list names a mutant that no longer exists or was killed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tools" / "mutation.toml"
EQUIVALENT = ROOT / "tests" / "mutation_equivalent.txt"
OUT = ROOT / "_build" / "mutation"
# What a test run needs beside helpers/ and the module's test files.
ALSO_COPY = ["conftest.py", "tools", "results"]  # mutmut copies tests/ itself
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                              "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}
KILLED = {1, 3, 36, 24, -24, 152, 255, -9, -11}  # a test failed, or the run timed out
SURVIVED = {0}
NO_TESTS = {5, 33}


def load_equivalent(path: Path = EQUIVALENT) -> dict[str, str]:
    """Mutant name -> the reason it behaves like the original ("name: reason" lines)."""
    out = {}
    if not path.exists():
        return out
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, reason = line.partition(":")
        if not sep or not reason.strip():
            raise SystemExit(f"{path.name}:{n}: want 'mutant_name: reason', got {line!r}")
        out[name.strip()] = reason.strip()
    return out


def setup_cfg(module: str, tests: list[str]) -> str:
    lines = ["[mutmut]", "source_paths=", "    helpers/", f"only_mutate=", f"    {module}",
             "pytest_add_cli_args_test_selection="] + [f"    {t}" for t in tests]
    lines += ["pytest_add_cli_args=", "    -p", "    no:cacheprovider", "    -p", "    no:randomly",
              "also_copy="] + [f"    {p}" for p in ALSO_COPY]
    # torch and TensorFlow are not fork-safe once they have run: fork the mutants from a
    # process that only imported them.
    lines += ["process_isolation=forkserver", "use_git_change_detection=false",
              "use_setproctitle=false"]
    return "\n".join(lines) + "\n"


def copy_tree(dest: Path, tests: list[str]) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "helpers", dest / "helpers", ignore=ignore)
    for p in ALSO_COPY + ["tests/conftest.py"] + tests:
        src = ROOT / p
        if src.is_dir():
            shutil.copytree(src, dest / p, ignore=ignore)
        else:
            (dest / p).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / p)


def run_module(module: str, tests: list[str], jobs: int, keep: bool) -> dict:
    work = Path(tempfile.mkdtemp(prefix="mutation-"))
    log = OUT / (Path(module).stem + ".log")
    try:
        copy_tree(work, tests)
        (work / "setup.cfg").write_text(setup_cfg(module, tests))
        env = {**os.environ, **ONE_THREAD, "BOOK_MODE": "fast", "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("BOOK_CHECKPOINT_DIR", None)  # tests/conftest.py gives each run its own
        mutmut = [sys.executable, "-m", "mutmut"]
        start = time.monotonic()
        with open(log, "w") as f:
            rc = subprocess.run(mutmut + ["run", "--max-children", str(jobs)], cwd=work, env=env,
                                stdout=f, stderr=subprocess.STDOUT).returncode
        wall = time.monotonic() - start
        meta = work / "mutants" / (module + ".meta")
        if rc != 0 or not meta.exists():
            return {"module": module, "error": f"mutmut run exited {rc}; see {log}",
                    "wall_s": wall}
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        survivors = sorted(k for k, c in codes.items() if c not in KILLED)
        diffs = []
        for name in survivors:
            shown = subprocess.run(mutmut + ["show", name], cwd=work, env=env,
                                   capture_output=True, text=True)
            diffs.append(shown.stdout.strip())
        (OUT / (Path(module).stem + ".survivors.diff")).write_text("\n\n".join(diffs) + "\n")
        return {"module": module, "codes": codes, "wall_s": wall}
    finally:
        if keep:
            print(f"  kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def summarise(result: dict, equivalent: dict[str, str], goal: float) -> dict:
    codes = result["codes"]
    killed = [k for k, c in codes.items() if c in KILLED]
    equiv = [k for k, c in codes.items() if k in equivalent and c not in KILLED]
    stale = [k for k in equivalent if k.startswith(result["module"][:-3].replace("/", ".") + ".")
             and (k not in codes or codes[k] in KILLED)]
    survived = [k for k in codes if k not in killed and k not in equiv]
    counted = len(codes) - len(equiv)
    score = 100.0 * len(killed) / counted if counted else 100.0
    return {"module": result["module"], "mutants": len(codes), "killed": len(killed),
            "equivalent": len(equiv), "survived": len(survived),
            "no_tests": sum(codes[k] in NO_TESTS for k in survived), "score": score,
            "wall_s": result["wall_s"], "ok": score >= goal and not stale,
            "survivors": sorted(survived), "stale_equivalent": stale}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="fid, helpers/fid.py, ... (default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary copies")
    args = parser.parse_args(argv)
    config = tomllib.loads(CONFIG.read_text())
    mapping, goal = config["modules"], float(config["goal"])
    wanted = [m if m.endswith(".py") else f"helpers/{m}.py" for m in args.modules] or list(mapping)
    unknown = [m for m in wanted if m not in mapping]
    if unknown:
        raise SystemExit(f"not in {CONFIG.relative_to(ROOT)}: {', '.join(unknown)}")
    equivalent = load_equivalent()
    OUT.mkdir(parents=True, exist_ok=True)
    rows, failed = [], False
    header = "| module | mutants | killed | equivalent | survived | score | wall time |"
    print(f"mutation testing {len(wanted)} module(s), goal {goal:g} % killed; logs in "
          f"{OUT.relative_to(ROOT)}/", flush=True)
    for module in wanted:
        print(f"{module} ({', '.join(mapping[module])}) ...", flush=True)
        result = run_module(module, mapping[module], args.jobs, args.keep)
        if "error" in result:
            print(f"  ERROR: {result['error']}", flush=True)
            rows.append(f"| {module} | error | | | | | {result['wall_s']:.0f} s |")
            failed = True
            continue
        s = summarise(result, equivalent, goal)
        row = (f"| {module} | {s['mutants']} | {s['killed']} | {s['equivalent']} | "
               f"{s['survived']} | {s['score']:.1f} % | {s['wall_s'] / 60:.1f} min |")
        rows.append(row)
        print("  " + row, flush=True)
        if s["survivors"]:
            print(f"  surviving ({s['no_tests']} reached by no test; diffs in "
                  f"{OUT.relative_to(ROOT)}/{Path(module).stem}.survivors.diff):", flush=True)
            for name in s["survivors"]:
                print(f"    {name}", flush=True)
        for name in s["stale_equivalent"]:
            print(f"  {EQUIVALENT.name} lists {name}, which no longer survives or exists")
        failed |= not s["ok"]
    table = "\n".join([f"Mutation testing, {dt.date.today().isoformat()} "
                       f"(mutmut, goal {goal:g} %)", "", header,
                       "| --- | --: | --: | --: | --: | --: | --: |", *rows])
    (OUT / "summary.md").write_text(table + "\n")
    print("\n" + table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
