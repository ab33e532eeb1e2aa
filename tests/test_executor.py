"""The executor: lean outputs, core slots shared by executors, its command line, the kernel
it starts and the stamp it writes (tools/execute.py, tools/outputs.py, tools/slots.py)."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.execute import execute, main  # noqa: E402
from tools.freshness import KEY  # noqa: E402
from tools.outputs import collapse_carriage_returns, lean  # noqa: E402
from tools.slots import core_slots, kernel_env  # noqa: E402


def read(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path`` as nbformat v4."""
    return nbformat.read(path, as_version=4)

def test_outputs_are_made_lean() -> None:
    assert collapse_carriage_returns("a\r 50%\r100%\nnext\r\n") == "100%\nnext\n"
    assert collapse_carriage_returns("done\r") == "done"
    cell = nbformat.v4.new_code_cell("run()")
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="0%\r"),
                    nbformat.v4.new_output("stream", name="stderr", text="50%\r100%\n"),
                    nbformat.v4.new_output("stream", name="stdout", text=f"{ROOT}/helpers/a.py:1\n"),
                    nbformat.v4.new_output("stream", name="stdout",
                                           text="/tmp/ipykernel_10514/4274618077.py:22: RuntimeWarning: w\n"),
                    nbformat.v4.new_output("display_data", data={
                        "text/plain": "bar", "application/vnd.jupyter.widget-view+json": {}})]
    nb = nbformat.v4.new_notebook(cells=[cell])
    lean(nb)
    assert "execution" not in cell.metadata
    assert [o.get("text") for o in cell.outputs] == [
        "100%\n", "helpers/a.py:1\nthis cell, line 22: RuntimeWarning: w\n", None]
    assert cell.outputs[2]["data"] == {"text/plain": "bar"}

    font = "findfont: Font family ['cmr10'] not found. Falling back to DejaVu Sans.\n"
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=font * 3),
                    nbformat.v4.new_output("stream", name="stdout", text="x = 1\n"),
                    nbformat.v4.new_output("stream", name="stderr", text=font + "UserWarning: real\n")]
    lean(nb)
    assert [(o["name"], o["text"]) for o in cell.outputs] == [("stdout", "x = 1\n"),
                                                             ("stderr", "UserWarning: real\n")]

    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 1_100_000)]
    with pytest.raises(SystemExit, match="over the 1,000,000-byte limit"):
        lean(nb)

def test_executors_run_one_at_a_time(tmp_path: Path) -> None:
    from tools.slots import one_at_a_time

    lock = tmp_path / "execute.lock"
    holder = ("import sys, time; sys.path.insert(0, sys.argv[1]); from pathlib import Path\n"
              "from tools.slots import one_at_a_time\n"
              "with one_at_a_time(Path(sys.argv[2])):\n    print('held', flush=True); time.sleep(2)\n")
    other = subprocess.Popen([sys.executable, "-c", holder, str(ROOT), str(lock)],
                             stdout=subprocess.PIPE, text=True)
    assert other.stdout.readline().strip() == "held"
    import time
    began = time.perf_counter()
    with one_at_a_time(lock):
        waited = time.perf_counter() - began
    other.wait(timeout=30)
    assert waited > 1.0, f"the second executor did not wait ({waited:.2f} s)"

def free_slots(lock: Path, slots: int = 2) -> int:
    """How many of the core slot files ``lock``.i no executor holds."""
    free = 0
    for i in range(slots):
        with open(f"{lock}.{i}", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                free += 1
            except BlockingIOError:
                pass
    return free

class SlotHolder:
    """An executor's ``core_slots(threads, lock, slots)``, held in a thread until released."""

    def __init__(self, threads: int | None, lock: Path, slots: int = 2) -> None:
        self.held, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(threads, lock, slots),
                                        daemon=True)
        self._thread.start()

    def _hold(self, threads: int | None, lock: Path, slots: int) -> None:
        with core_slots(threads, lock, slots):
            self.held.set()
            self._release.wait(30)

    def release(self) -> None:
        self._release.set()
        self._thread.join(5)

def test_two_one_thread_executors_share_two_core_slots(tmp_path: Path) -> None:
    lock = tmp_path / "execute.lock"
    first = SlotHolder(1, lock)
    second = SlotHolder(1, lock)
    try:
        assert first.held.wait(5) and second.held.wait(5), "one-slot executors did not coexist"
        assert free_slots(lock) == 0
    finally:
        first.release()
        second.release()
    assert free_slots(lock) == 2

def test_a_full_executor_excludes_one_slot_executors(tmp_path: Path, capsys,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import tools.slots
    monkeypatch.setattr(tools.slots, "POLL_S", 0.05)
    lock = tmp_path / "execute.lock"
    full = SlotHolder(None, lock)
    assert full.held.wait(5)
    one = SlotHolder(1, lock)
    try:
        assert not one.held.wait(0.5), "a one-slot executor ran beside a full one"
        assert "waiting for 1 of the 2 to be free" in capsys.readouterr().out
        full.release()
        assert one.held.wait(5)
        again = SlotHolder(None, lock)  # and the other way round
        assert not again.held.wait(0.5), "a full executor ran beside a one-slot one"
        one.release()
        assert again.held.wait(5)
        again.release()
    finally:
        full.release()
        one.release()
    assert free_slots(lock) == 2

def test_threads_beyond_the_cores_take_every_slot(tmp_path: Path) -> None:
    lock = tmp_path / "execute.lock"
    with core_slots(8, lock, slots=2):
        assert free_slots(lock) == 0

def test_the_command_line_is_parsed_and_validated(capsys) -> None:
    from tools.execute import parser

    args = parser().parse_args(["--threads", "1", "a.ipynb"])
    assert (args.threads, args.notebooks) == (1, ["a.ipynb"])
    assert parser().parse_args(["a.ipynb", "--threads=2"]).threads == 2
    assert parser().parse_args(["a.ipynb"]).threads is None
    for value in ("0", "-1", "two", "1.5", ""):
        with pytest.raises(SystemExit):
            main(["--threads", value, "notebooks"])
        assert f"positive whole number, not '{value}'" in capsys.readouterr().err
    for arguments, said in ((["notebooks", "--threads"], "expected one argument"),
                            (["--threads", "1", "--stale"], "--threads applies to executing"),
                            (["--stale", "--restamp"], "not allowed with argument"),
                            (["--restamp-from", "HEAD"], "takes one notebook")):
        with pytest.raises(SystemExit):
            main(arguments)
        assert said in capsys.readouterr().err, arguments


def test_thread_variables_reach_the_kernel_env() -> None:
    env = kernel_env(1, {"PATH": "/bin", "OMP_NUM_THREADS": "8"})
    assert env == {"PATH": "/bin", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                   "OPENBLAS_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
                   "TF_NUM_INTEROP_THREADS": "1"}
    env = kernel_env(3)
    assert env["OMP_NUM_THREADS"] == env["TF_NUM_INTRAOP_THREADS"] == "3"
    assert env["TF_NUM_INTEROP_THREADS"] == "1" and env["PATH"] == os.environ["PATH"]

class FakeClient:
    """A NotebookClient that runs nothing: it records how the kernel would start and answers
    the probe."""
    started_with: dict = {}

    def __init__(self, nb, **kwargs) -> None:
        pass

    @contextlib.contextmanager
    def setup_kernel(self, **kwargs):
        FakeClient.started_with = kwargs
        yield

    def execute(self, **kwargs) -> None:
        pass

    def execute_cell(self, cell, index) -> None:
        info = {"helpers": [], "versions": {"python": "3"}, "prefix": sys.prefix,
                "device": "cpu", "device_name": "Some CPU, 2 cores"}
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=json.dumps(info))]

def test_execute_starts_the_kernel_on_the_threads_and_stamps_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbclient
    monkeypatch.setattr(nbclient, "NotebookClient", FakeClient)
    path = tmp_path / "lab.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    execute(path, threads=1)
    assert FakeClient.started_with["env"]["OMP_NUM_THREADS"] == "1"
    assert read(path).metadata[KEY]["threads"] == 1
    execute(path)
    assert "env" not in FakeClient.started_with, "without --threads the kernel inherits the env"
    assert "threads" not in read(path).metadata[KEY]

def test_runs_table_shows_the_thread_count(tmp_path: Path) -> None:
    from tools import scoreboard
    lab = tmp_path / "09_x_pytorch.ipynb"
    stamp = {"mode": "full", "wall_time_s": 60.0, "device_name": "Some CPU, 2 cores", "threads": 1}
    lab.write_text(json.dumps({"cells": [], "metadata": {scoreboard.STAMP: stamp}}))
    assert "Some CPU, 2 cores (1 thread);" in scoreboard.runs_section([lab], tmp_path)
    stamp["threads"] = 2
    lab.write_text(json.dumps({"cells": [], "metadata": {scoreboard.STAMP: stamp}}))
    assert "Some CPU, 2 cores (2 threads);" in scoreboard.runs_section([lab], tmp_path)

def test_execute_refuses_fast_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOK_MODE", "fast")
    with pytest.raises(SystemExit, match="BOOK_MODE=full"):
        main([])
