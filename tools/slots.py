"""Core slots: executors of labs share a machine's cores without slowing each other down.

Executors share the cores through one lock file per core under ``_build/``
(``execute.lock.0``, ``execute.lock.1``, ...): two torch processes side by side on a 2-core
machine, each with a thread per core, slow each other down about 30 times, their OpenMP
threads spinning for each other's cores. An executor takes every core unless it limits its
kernel to N threads (:func:`kernel_env`: OpenMP, MKL, OpenBLAS and TensorFlow); then it takes
N cores, so two one-thread executors run side by side on 2 cores.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS")


def kernel_env(threads: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with the thread-count variables that
    torch, NumPy and TensorFlow read at import set to ``threads``, and one inter-op thread."""
    env = dict(os.environ if base is None else base)
    env.update({name: str(threads) for name in THREAD_VARIABLES}, TF_NUM_INTEROP_THREADS="1")
    return env


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
