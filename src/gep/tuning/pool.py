"""The local process pool every step of a study runs in (InVEST runs, zonal sums, surrogate
passes, valuation and settlement)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

from gep.errors import GepError
from gep.tuning.errors import TuningError


def _guard(fn: Callable, args: tuple):
    """Run in a worker; return errors as text (gep's errors do not pickle)."""
    try:
        return ("ok", fn(*args))
    except GepError as exc:
        return ("gep", type(exc).__name__, str(exc))
    except Exception as exc:  # noqa: BLE001 - reported to the parent with its type
        import traceback

        return ("err", type(exc).__name__, f"{exc}\n{traceback.format_exc(limit=6)}")


def _unwrap(res):
    if res[0] == "ok":
        return res[1]
    if res[0] == "gep":
        raise TuningError(f"{res[2]}")
    raise TuningError(f"{res[1]}: {res[2]}")


class Pool:
    """A lazily started process pool.

    On Linux the workers are forked (Python 3.11's default there): the parent holds no open
    datasets and no threads when the pool starts, and forking spares every worker the import
    of InVEST and GDAL. Elsewhere they are spawned, which needs the usual
    ``if __name__ == "__main__":`` guard in scripts.
    """

    def __init__(self, jobs: int):
        self.jobs = max(1, int(jobs))
        self._ex: ProcessPoolExecutor | None = None

    def map(self, fn: Callable, tasks: Sequence[tuple], chunksize: int = 1) -> list:
        if not tasks:
            return []
        if self.jobs == 1 or len(tasks) == 1:
            return [_unwrap(_guard(fn, t)) for t in tasks]
        out = self._executor().map(_guard, [fn] * len(tasks), tasks, chunksize=chunksize)
        return [_unwrap(r) for r in out]

    def submit(self, fn: Callable, tasks: Sequence[tuple]) -> Callable[[], list]:
        """Start ``tasks`` in the background; return a function that waits for the results.
        With one job they run at once, in this process."""
        if not tasks:
            return lambda: []
        if self.jobs == 1:
            results = [_unwrap(_guard(fn, t)) for t in tasks]
            return lambda: results
        ex = self._executor()
        futures = [ex.submit(_guard, fn, t) for t in tasks]
        return lambda: [_unwrap(f.result()) for f in futures]

    def _executor(self) -> ProcessPoolExecutor:
        if self._ex is None:
            import multiprocessing as mp
            import sys

            ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
            self._ex = ProcessPoolExecutor(self.jobs, mp_context=ctx)
        return self._ex

    def close(self) -> None:
        if self._ex is not None:
            self._ex.shutdown()
            self._ex = None

