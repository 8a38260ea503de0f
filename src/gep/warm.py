"""Warm start (预热): each job of a run is a fork of one process that has imported gep's
libraries already.

Every rule of the workflow starts ``gep <command>`` as a new process, and a new process imports
what the command needs: for an InVEST job natcap.invest, pygeoprocessing, GDAL, pandas, pint,
geometamaker and InVEST's report stack (matplotlib, altair, scipy.signal), about 2 CPU seconds
before any pixel is read; a zonal or acquisition job about 0.5. On the 300 x 300 demo that is
about half of the jobs' CPU time, and on a 4000 x 4000 basin about 70 CPU s of a 5-year batch.

``gep run`` therefore starts a **warm-start server** beside Snakemake (:func:`running`): a
process that imports those libraries once (:func:`preload`), then waits on a Unix socket in a
private folder (mode 0700; only the same user can connect, checked again by the peer's
credentials). It hands its path to the jobs in ``GEP_WARM_SOCKET``. A job's ``gep`` (the
client, :func:`delegate`) connects and sends its arguments, working folder, environment and
umask, and its standard input, output and error as file descriptors; the server forks, and the
child takes them over and runs ``gep.cli.main`` exactly as the job's own process would have
(its own process group, default signal handlers, a fresh random seed, ``atexit`` handlers run
at the end). The server sends the child's exit status back; the client exits with it. The
job's output goes to the job's log, its exit code to Snakemake.

Whatever goes wrong falls back to the usual cold start, never to a failed job: no server yet
(it binds its socket only once its imports are done, so the first jobs may start cold), a
server that is gone, a job inside Slurm (``SLURM_JOB_ID``: the job belongs on its node, not in
a server on the submitting host), or a child that finds the preloaded state unfit for its
command (:func:`cold_restart`, e.g. another GeoTIFF codec than the one pygeoprocessing was
imported with: the child replaces itself by a fresh ``gep``, same process, same descriptors).
A client killed by Snakemake closes its connection; the server then stops the child's whole
process group (SIGTERM, SIGKILL 5 s later).

The child's CPU time and peak memory (``gep_run.json``) are its own: a forked process starts
with zero CPU time; its peak resident memory includes the preloaded libraries it shares with
the server (as a cold process's includes the libraries it imported).

``GEP_WARM=0`` (or ``gep run --cold``) runs every job cold; ``gep run`` never starts the server
for a Slurm run (``--profile``/``--executor``): those jobs run on other nodes.
"""
from __future__ import annotations

import json
import os
import socket
import struct
import sys

ENV = "GEP_WARM_SOCKET"
#: the command that always starts cold (the orchestrator itself); so does any "serve"
COLD = frozenset({"run"})
_HEADER = struct.Struct("!I")
#: the job's wait status, its user and system CPU seconds and peak resident memory (KB)
_STATUS = struct.Struct("!iddq")
#: status the server sends when it cannot run the job (the client then runs it itself)
REFUSED = -(1 << 30)
_IN_CHILD = False
#: the server's own standard streams in a child: kept referenced, never finalized (their file
#: descriptors are the job's now)
_KEEP: list = []


# --------------------------------------------------------------------------------- client

def delegate(args: list[str]) -> int | None:
    """Run ``gep args`` in the warm-start server named by ``GEP_WARM_SOCKET``; its exit code,
    or None when it cannot (no server, inside Slurm, a command that starts cold): the caller
    then runs the command itself."""
    path = os.environ.get(ENV)
    words = _command(args)
    if (not path or os.environ.get("GEP_WARM") == "0" or os.environ.get("SLURM_JOB_ID")
            or not args or (words and (words[0] in COLD or "serve" in words[:2]))):
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return None
    sent = False
    try:
        fds = [fd for fd in (0, 1, 2) if _is_open(fd)]
        body = json.dumps({"argv": [sys.argv[0], *args], "cwd": os.getcwd(),
                           "env": dict(os.environ), "umask": _umask(), "fds": fds}).encode()
        socket.send_fds(sock, [_HEADER.pack(len(body)) + body], fds)
        sent = True
        data = _recv_exact(sock, _STATUS.size)
    except KeyboardInterrupt:
        return 130           # our connection closes: the server stops the job
    except OSError:
        if not sent:
            return None      # the server never had the request: run it here
        data = None          # it may be running it: never run the job a second time
    finally:
        sock.close()
    if data is None:
        print("gep: the warm-start server stopped while it ran this job", file=sys.stderr)
        return 1
    status, utime, stime, maxrss = _STATUS.unpack(data)
    if status == REFUSED:
        return None
    if os.environ.get("GEP_JOB_RUSAGE"):
        # the job ran in another process than this one: benchmarks read its figures here
        with open(os.environ["GEP_JOB_RUSAGE"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"argv": args, "utime": utime, "stime": stime,
                                 "maxrss_kb": maxrss}) + "\n")
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _command(args: list[str]) -> list[str]:
    """The command words of ``gep args``: the arguments without gep's global options
    (``-v``, ``-q``, ``--log-file PATH``) in front of them."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] == "--log-file" else 1
    return args[i:]


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def cold_restart(reason: str) -> None:
    """In a warm child: replace this process by a fresh ``gep`` with the same arguments,
    descriptors, folder and environment (the preloaded state does not fit the job). Elsewhere:
    nothing."""
    if not _IN_CHILD:
        return
    import logging

    logging.getLogger(__name__).debug("warm start: restarting cold (%s)", reason)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    env = {k: v for k, v in os.environ.items() if k != ENV}
    os.execve(sys.executable, [sys.executable, "-m", "gep", *sys.argv[1:]], env)


# --------------------------------------------------------------------------------- server

#: modules a job of the workflow imports (besides InVEST's models, see :func:`preload`)
PRELOAD = (
    "numpy", "pandas", "rasterio", "rasterio.features", "rasterio.warp", "pyproj",
    "scipy.ndimage", "scipy.signal", "yaml", "jsonschema",
    "gep.config", "gep.paths", "gep.io", "gep.acquire", "gep.zonal", "gep.valuation",
    "gep.tables", "gep.invest", "gep.models", "gep.sources", "gep.attribution",
    "gep.compensation", "gep.monitoring", "gep.ledger", "gep.committee", "gep.rating",
    "gep.report", "gep.pdf", "gep.gis", "gep.portal",
    "weasyprint",        # the PDFs (committee papers, report): 0.24 CPU s a job otherwise
)


def preload(codec: str | None = None) -> list[str]:
    """Import what the workflow's jobs need; returns the modules that could not be imported
    (they are imported by the jobs themselves, as in a cold start)."""
    import importlib

    from gep.models import gtiff

    gtiff.select(codec or gtiff.DEFAULT)   # before pygeoprocessing: the codec is bound once
    failed = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:                  # an optional dependency: the job imports it
            failed.append(name)
    try:
        from gep import models
        from gep.models import lazy_reporters

        for model_id in models.MODEL_MODULES:
            spec = models.get(model_id).invest_module().MODEL_SPEC
            if spec.reporter:
                lazy_reporters.load(spec.reporter)
    except Exception:
        failed.append("natcap.invest")
    return failed


def serve(path: str, codec: str | None = None, ready=None, parent: int | None = None) -> int:
    """Preload, then serve jobs on the Unix socket ``path`` until SIGTERM/SIGINT or until the
    process that started us (``parent``, default: our parent now) is gone. ``ready`` (a
    writable binary file) gets one line when the socket is bound."""
    import gc
    import selectors
    import signal

    parent = os.getppid() if parent is None else parent
    stop = []

    def _stop(*_):
        if not stop:                  # the first signal only: the clean-up is not interrupted
            stop.append(1)
            raise _Stop               # out of select() at once (it would be retried)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    listener = sel = None
    bound = False
    jobs: dict[int, dict] = {}          # pid -> {"conn", "pidfd", "kill_at"}
    try:
        try:
            preload(codec)
            gc.collect()
            gc.freeze()    # the preloaded objects stay shared with the children (no gc writes)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(path)
            bound = True
            os.chmod(path, 0o600)
            listener.listen(64)
            sel = selectors.DefaultSelector()
            sel.register(listener, selectors.EVENT_READ, ("accept", None))
            if ready is not None:
                ready.write(b"ready\n")
                ready.flush()
            while not stop and os.getppid() == parent:
                _tick(listener, sel, jobs)
        except _Stop:       # stopped, possibly still importing: nothing was bound or served
            pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for pid in list(jobs):
            _signal_group(pid, signal.SIGTERM)
        for pid in list(jobs):
            _reap(pid, jobs, sel, block=True)
        for closable in (sel, listener):
            if closable is not None:
                closable.close()
        if bound:
            try:
                os.unlink(path)
            except OSError:
                pass
        try:
            os.rmdir(os.path.dirname(path))    # its private folder, when empty
        except OSError:
            pass
    return 0


def _tick(listener, sel, jobs: dict) -> None:
    """Wait up to half a second for a request, a job's end or a client's departure."""
    import selectors
    import signal
    import time

    for key, _ in sel.select(timeout=0.5):
        kind, pid = key.data
        if kind == "accept":
            try:
                conn, _addr = listener.accept()
            except OSError:
                continue
            child = _start(conn, listener, sel, jobs)
            if child is not None:
                jobs[child["pid"]] = child
                sel.register(conn, selectors.EVENT_READ, ("client", child["pid"]))
                if child["pidfd"] is not None:
                    sel.register(child["pidfd"], selectors.EVENT_READ, ("exit", child["pid"]))
        elif kind == "exit":
            _reap(pid, jobs, sel, block=True)
        elif kind == "client" and pid in jobs and jobs[pid]["kill_at"] is None:
            # the client has gone (killed by Snakemake or the user): stop the job's group
            _signal_group(pid, signal.SIGTERM)
            jobs[pid]["kill_at"] = time.monotonic() + 5
            sel.unregister(jobs[pid]["conn"])
    now = time.monotonic()
    for pid in list(jobs):
        if jobs[pid]["pidfd"] is None:
            _reap(pid, jobs, sel, block=False)       # no pidfd (old kernel): polled
        elif jobs[pid]["kill_at"] is not None and jobs[pid]["kill_at"] < now:
            _signal_group(pid, signal.SIGKILL)


class _Stop(Exception):
    """SIGTERM or SIGINT: the server stops."""


def _signal_group(pid: int, sig) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _reap(pid: int, jobs: dict, sel, block: bool) -> None:
    try:
        done, status, ru = os.wait4(pid, 0 if block else os.WNOHANG)
        figures = (ru.ru_utime, ru.ru_stime, ru.ru_maxrss)
    except ChildProcessError:
        done, status, figures = pid, 1 << 8, (0.0, 0.0, 0)
    if not done:
        return
    job = jobs.pop(pid)
    for f in (job["conn"], job["pidfd"]):
        if f is None:
            continue
        try:
            sel.unregister(f)
        except (KeyError, ValueError):
            pass
    try:
        job["conn"].sendall(_STATUS.pack(status, *figures))
    except OSError:
        pass
    job["conn"].close()
    if job["pidfd"] is not None:
        os.close(job["pidfd"])


def _start(conn: socket.socket, listener, sel, jobs) -> dict | None:
    """Read one request and fork its job; None when the request is refused or unreadable."""
    conn.settimeout(10)
    fds: list[int] = []
    try:
        cred = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", cred)
        msg, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 3)
        if uid != os.getuid() or len(msg) < _HEADER.size:
            raise ValueError("refused")
        (size,) = _HEADER.unpack_from(msg)
        body = msg[_HEADER.size:]
        while len(body) < size:
            chunk = conn.recv(size - len(body))
            if not chunk:
                raise ValueError("short request")
            body += chunk
        req = json.loads(body)
        if len(fds) != len(req["fds"]):
            raise ValueError("descriptors missing")
    except (OSError, ValueError, KeyError):
        for fd in fds:
            os.close(fd)
        try:
            conn.sendall(_STATUS.pack(REFUSED, 0.0, 0.0, 0))
        except OSError:
            pass
        conn.close()
        return None
    conn.settimeout(None)
    pid = os.fork()
    if pid == 0:                                          # the job
        try:
            _child(req, fds, [listener, conn, *(j["conn"] for j in jobs.values())],
                   [j["pidfd"] for j in jobs.values() if j["pidfd"] is not None], sel)
        finally:
            os._exit(70)
    for fd in fds:
        os.close(fd)
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None                                       # polled instead
    return {"pid": pid, "conn": conn, "pidfd": pidfd, "kill_at": None}


def _child(req: dict, fds: list[int], sockets: list, pidfds: list[int], sel) -> None:
    """In the forked job: become the client's process, run gep, exit with its code."""
    import atexit
    import io
    import signal
    import time
    import traceback

    global _IN_CHILD
    _IN_CHILD = True
    os.setpgid(0, 0)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # the server's own descriptors, closed in this process only (through their objects, so
    # none is left pointing at a number the job reuses)
    for closable in (sel, *sockets):
        try:
            closable.close()
        except OSError:
            pass
    for fd in pidfds:
        os.close(fd)
    given = dict(zip(req["fds"], fds))
    for target in (0, 1, 2):
        if target in given:
            os.dup2(given[target], target)
        else:
            try:
                os.close(target)
            except OSError:
                pass
    for fd in fds:
        if fd not in (0, 1, 2):
            os.close(fd)
    os.chdir(req["cwd"])
    os.umask(req["umask"])
    os.environ.clear()
    os.environ.update(req["env"])
    time.tzset()
    sys.argv = list(req["argv"])
    old_out, old_err = sys.stdout, sys.stderr
    _KEEP.extend([sys.stdin, sys.stdout, sys.stderr, sys.__stdin__, sys.__stdout__,
                  sys.__stderr__])
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "r", closefd=False)),
        encoding=getattr(sys.__stdin__, "encoding", None) or "utf-8") \
        if 0 in given else None
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False)),
        encoding=getattr(old_out, "encoding", None) or "utf-8",
        errors=getattr(old_out, "errors", None) or "strict",
        line_buffering=1 in given and os.isatty(1))
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
        encoding=getattr(old_err, "encoding", None) or "utf-8",
        errors="backslashreplace", line_buffering=True)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()     # as unseeded as a fresh process's
    code = 1
    try:
        from gep.cli import main

        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int) and exc.code is not None:
            print(exc.code, file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
    except Exception:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(int(code or 0) & 0xFF)


# ------------------------------------------------------------------------ for gep run

class Server:
    """A warm-start server started as a subprocess (``python -m gep.warm``); ``env`` is what
    the jobs need to reach it. Stop it with :meth:`stop` (also on ``with`` exit)."""

    def __init__(self, codec: str | None = None):
        import subprocess
        import tempfile

        self.dir = tempfile.mkdtemp(prefix="gep-warm-")       # mode 0700
        if len(self.dir) > 90:          # a Unix socket's path holds at most 107 bytes
            os.rmdir(self.dir)
            self.dir = tempfile.mkdtemp(prefix="gep-warm-", dir="/tmp")
        self.path = os.path.join(self.dir, "s")
        # our pid: a server whose gep run died before it even started must see that
        cmd = [sys.executable, "-m", "gep.warm", "--socket", self.path,
               "--parent", str(os.getpid())]
        if codec:
            cmd += ["--codec", codec]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, start_new_session=True)
        self.env = {ENV: self.path}

    def wait_ready(self, timeout: float = 60) -> bool:
        """Block until the socket is bound (tests; ``gep run`` does not wait)."""
        import select

        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return bool(r) and self.proc.stdout.readline() == b"ready\n"

    def stop(self) -> int:
        import shutil
        import subprocess

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m gep.warm",
                                 description="gep's warm-start server (started by gep run)")
    ap.add_argument("--socket", required=True)
    ap.add_argument("--codec", help="GeoTIFF codec for InVEST (models.gtiff_compression)")
    ap.add_argument("--parent", type=int, help="serve while this process is our parent")
    a = ap.parse_args(argv)
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)                  # the server prints nothing; the pipe is for "ready"
    os.dup2(devnull, 2)                  # (a job's output goes to the job's own descriptors)
    os.close(devnull)
    return serve(a.socket, a.codec, ready=out, parent=a.parent)


if __name__ == "__main__":
    sys.exit(_main())
