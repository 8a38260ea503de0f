"""The warm-start server (gep.warm, issue 17): a job run through it behaves as the same job
started cold (output, exit code, folder, descriptors), is a process of its own that the server
stops when its client goes, and anything unusual falls back to a cold start."""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gep import warm

GEP = [sys.executable, "-m", "gep"]


@pytest.fixture(scope="module")
def server():
    s = warm.Server()
    try:
        assert s.wait_ready(180), "the warm-start server did not come up"
        yield s
    finally:
        assert s.stop() == 0


def _run(args, env_extra=None, **kw):
    env = dict(os.environ, **(env_extra or {}))
    env.pop("GEP_WARM", None)
    return subprocess.run([*GEP, *args], env=env, capture_output=True, text=True,
                          timeout=300, **kw)


def _children(pid: int) -> set[int]:
    out = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        out |= {int(p) for p in (task / "children").read_text().split()}
    return out


def _job_figures(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_socket_is_private(server):
    assert stat.S_IMODE(os.stat(server.dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(server.path).st_mode) == 0o600


@pytest.mark.parametrize("args", [
    ["--version"],
    ["validate-config", "--config", "config/config.yaml"],
    ["validate-config", "--config", "no/such/config.yaml"],          # bad input: exit 2
    ["no-such-command"],                                              # argparse: exit 2
])
def test_a_job_prints_and_exits_as_the_cold_one(server, repo, tmp_path, args):
    """Same standard output, standard error and exit code, warm or cold; the relative config
    path resolves in the client's folder; and the warm one ran in the server (its client
    recorded the job's own CPU time), not in the client."""
    figures = tmp_path / "job.jsonl"
    cold = _run(args, cwd=repo)
    hot = _run(args, {**server.env, "GEP_JOB_RUSAGE": str(figures)}, cwd=repo)
    assert (hot.returncode, hot.stdout, hot.stderr) == (cold.returncode, cold.stdout,
                                                         cold.stderr)
    jobs = _job_figures(figures)
    assert len(jobs) == 1 and jobs[0]["utime"] + jobs[0]["stime"] > 0
    assert jobs[0]["maxrss_kb"] > 10_000


def test_the_job_writes_into_the_clients_folder_with_its_environment(server, repo, tmp_path):
    """cwd, environment and descriptors are the client's: a relative output lands in the
    client's folder; a variable set only in the client's environment reaches the job (GDAL
    reads OGR_CURRENT_DATE from it: gep sets it only when unset)."""
    out = tmp_path / "work"
    out.mkdir()
    r = _run(["validate-config", "--config", str(repo / "config" / "config.yaml"),
              "--write-schema", "schema.json"], server.env, cwd=out)
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "schema.json").read_text())["type"] == "object"
    assert not (Path(repo) / "schema.json").exists()


def test_a_killed_client_stops_its_job(server, repo, tmp_path):
    """A job waiting on its standard input (a password) is stopped, process group and all,
    when Snakemake kills the job's command."""
    db = tmp_path / "portal.sqlite"
    before = _children(server.proc.pid)
    p = subprocess.Popen([*GEP, "portal", "create-admin", "--config",
                          str(repo / "config" / "config.yaml"), "--db", f"sqlite:///{db}",
                          "--username", "admin"],
                         env=dict(os.environ, **server.env), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    job = set()
    for _ in range(200):
        job = _children(server.proc.pid) - before
        if job:
            break
        time.sleep(0.05)
    assert len(job) == 1, "the job did not start in the server"
    (pid,) = job
    time.sleep(0.5)
    assert os.path.exists(f"/proc/{pid}")             # still waiting for the password
    p.send_signal(signal.SIGTERM)
    p.wait(30)
    p.stdin.close()
    for _ in range(200):
        if pid not in _children(server.proc.pid):
            break
        time.sleep(0.05)
    assert pid not in _children(server.proc.pid) and not os.path.exists(f"/proc/{pid}")
    assert p.returncode == -signal.SIGTERM


def test_standard_input_reaches_the_job(server, repo, tmp_path):
    r = _run(["portal", "create-admin", "--config", str(repo / "config" / "config.yaml"),
              "--db", f"sqlite:///{tmp_path / 'p.sqlite'}", "--username", "admin"],
             server.env, input="short\n")
    assert r.returncode == 2 and "shorter than 8 characters" in r.stderr


def test_no_server_or_slurm_job_starts_cold(repo, tmp_path):
    """A socket nobody listens on, GEP_WARM=0, or a job inside Slurm: the command runs in its
    own process, unchanged."""
    ref = _run(["validate-config", "--config", "config/config.yaml"], cwd=repo)
    dead = str(tmp_path / "nobody")
    for extra in ({warm.ENV: dead}, {warm.ENV: dead, "SLURM_JOB_ID": "1"}):
        r = _run(["validate-config", "--config", "config/config.yaml"], extra, cwd=repo)
        assert (r.returncode, r.stdout) == (0, ref.stdout)


def test_a_server_lost_after_the_request_never_runs_the_job_twice(repo, tmp_path):
    """Once the server has the request it may be running the job: if it goes before it
    answers, the client reports it and exits 1; it does not run the job itself as well."""
    import socket
    import threading

    path = str(tmp_path / "s")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def take_and_vanish():
        conn, _ = listener.accept()
        _msg, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
        for fd in fds:
            os.close(fd)
        conn.close()

    t = threading.Thread(target=take_and_vanish)
    t.start()
    r = _run(["validate-config", "--config", str(repo / "config" / "config.yaml"),
              "--write-schema", "schema.json"], {warm.ENV: path}, cwd=tmp_path)
    t.join(30)
    listener.close()
    assert r.returncode == 1 and "warm-start server stopped" in r.stderr
    assert not (tmp_path / "schema.json").exists()


def test_delegation_is_refused_where_the_job_must_start_cold(server, monkeypatch):
    monkeypatch.setenv(warm.ENV, server.path)
    monkeypatch.setenv("SLURM_JOB_ID", "7")
    assert warm.delegate(["--version"]) is None           # inside Slurm: on its own node
    monkeypatch.delenv("SLURM_JOB_ID")
    monkeypatch.setenv("GEP_WARM", "0")
    assert warm.delegate(["--version"]) is None
    monkeypatch.delenv("GEP_WARM")
    for args in (["run", "--config", "c.yaml"], ["serve"], ["operations", "serve"], [],
                 ["-v", "run"], ["--log-file", "x.log", "-q", "run"], ["-v", "serve"]):
        assert warm.delegate(args) is None, args
    assert warm._command(["--log-file", "run", "-v", "zonal", "--year", "2020"]) == [
        "zonal", "--year", "2020"]


def test_gep_run_starts_the_server_only_for_local_jobs():
    from types import SimpleNamespace

    from gep.pipeline.cli import warm_start

    plain, cold = SimpleNamespace(cold=False), SimpleNamespace(cold=True)
    assert warm_start(plain, []) and warm_start(plain, ["--forceall"])
    assert not warm_start(cold, [])
    for extra in (["--profile", "profiles/slurm"], ["--profile=profiles/slurm"],
                  ["--executor", "slurm"], ["-e", "slurm"], ["--dry-run"], ["-n"],
                  ["--rulegraph"]):
        assert not warm_start(plain, extra), extra


def test_a_codec_other_than_the_preloaded_one_restarts_cold(monkeypatch):
    """pygeoprocessing binds its GeoTIFF codec once per process: a warm child whose job asks
    for another codec than the server imported it with replaces itself by a fresh gep."""
    from gep.models import gtiff

    calls = []
    monkeypatch.setattr(gtiff, "_SELECTED", list(gtiff._SELECTED))
    monkeypatch.setattr(warm, "_IN_CHILD", True)
    monkeypatch.setattr(os, "execve", lambda *a: calls.append(a))
    monkeypatch.setattr(sys, "argv", ["gep", "invest", "--model", "sdr"])
    import pygeoprocessing  # noqa: F401  (the codec is in force from here on)

    other = "lzw" if gtiff.in_force() != "lzw" else "zstd"
    gtiff.select(other)
    assert len(calls) == 1
    exe, argv, env = calls[0]
    assert argv[-3:] == ["invest", "--model", "sdr"] and warm.ENV not in env
    calls.clear()
    gtiff.select(gtiff.in_force())                     # the same codec: no restart
    assert calls == []


def test_a_server_whose_run_was_killed_goes_and_takes_its_folder(tmp_path):
    """gep run killed with SIGKILL cannot stop its server: the server sees its parent gone
    and ends by itself, removing its socket and folder."""
    import textwrap

    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        from gep.warm import Server
        s = Server()
        assert s.wait_ready(180)
        print(s.proc.pid, s.dir, flush=True)
        time.sleep(600)
    """))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    pid, folder = p.stdout.readline().split()
    p.kill()
    p.wait()
    for _ in range(100):
        if not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z":
            break
        time.sleep(0.1)
    assert not os.path.exists(folder)


def test_a_server_started_for_a_run_already_gone_ends(tmp_path):
    """The run that started the server died before the server looked at its parent: the
    server is an orphan from its first instruction and must end, not serve forever."""
    folder = tmp_path / "w"
    folder.mkdir(mode=0o700)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    p = subprocess.run([sys.executable, "-m", "gep.warm", "--socket", str(folder / "s"),
                        "--parent", dead], capture_output=True, timeout=180)
    assert p.returncode == 0 and not folder.exists()


def test_stopping_the_server_removes_its_socket():
    s = warm.Server()
    assert s.wait_ready(180)
    path = s.path
    assert os.path.exists(path)
    assert s.stop() == 0
    assert not os.path.exists(path) and not os.path.exists(s.dir)
    early = warm.Server()              # stopped while it still imports (a short gep run)
    time.sleep(0.3)
    assert early.stop() == 0 and not os.path.exists(early.dir)
