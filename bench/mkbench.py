"""Shared by the Python benchmarks in bench/ (imported, not run): a scratch folder whose
processes are killed on exit, `migratekit up` as a child with its REST API and its event
stream, nbdkit servers, percentiles, and the results file of each benchmark.

Every benchmark writes build/bench/NAME.json; bench/report.py turns them into the one table.
"""

import atexit
import http.client
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("MK_BIN", ROOT / "build" / "cmd" / "migratekit"))
OUT = ROOT / "build" / "bench"
NAME = Path(sys.argv[0]).name
FINAL = {"stopped", "failed", "cancelled", "completed"}


def say(text):
    print(f"{NAME}: {text}", file=sys.stderr, flush=True)


def env_int(name, default):
    return int(os.environ.get(name, default))


def now():
    return time.perf_counter()


# -- the scratch folder -------------------------------------------------------------------

class Scratch:
    """A folder under /tmp for the benchmark's data. On exit (also on an error or a signal)
    every process whose command line names it is killed by its pid (`up` leaves movers,
    volume servers and nats-server running by design when it is killed), then it is removed,
    unless MK_BENCH_KEEP is set (to read the logs of `up`, its agent and the movers)."""

    def __init__(self):
        self.path = Path(tempfile.mkdtemp(prefix=f"mk-bench-{NAME}-"))
        atexit.register(self.cleanup)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda s, f: sys.exit(128 + s))

    def processes(self, under=None):
        """The pids of the processes whose command line names this folder, or `under`."""
        mine = str(under or self.path).encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if mine in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
        return pids

    def cleanup(self):
        self.kill(self.path)
        if os.environ.get("MK_BENCH_KEEP"):
            say(f"kept {self.path}")
        else:
            shutil.rmtree(self.path, ignore_errors=True)

    def kill(self, under):
        """SIGKILL, until none is left, to every process whose command line names `under`."""
        for _ in range(50):
            pids = self.processes(under)
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)


def start_nbdkit(socket, *args):
    """nbdkit serving on a Unix socket, returned once it accepts connections (pid file)."""
    pidfile = Path(str(socket) + ".pid")
    log = open(str(socket) + ".log", "wb")
    proc = subprocess.Popen(["nbdkit", "-f", "-U", str(socket), "-P", str(pidfile), *args],
                            stdout=log, stderr=log)
    deadline = now() + 10
    while not (pidfile.exists() and pidfile.read_text().strip()):
        if proc.poll() is not None or now() > deadline:
            raise RuntimeError(f"nbdkit {' '.join(args)} did not start: "
                               + Path(str(socket) + ".log").read_text())
        time.sleep(0.02)
    return proc


# -- migratekit up ------------------------------------------------------------------------

class Up:
    """`migratekit up --data DATA --listen 127.0.0.1:0 ARGS...` in a process group of its own,
    with a keep-alive connection to its API."""

    def __init__(self, data, args=(), ready_timeout=120):
        self.data = Path(data)
        self.data.mkdir(parents=True, exist_ok=True)
        (self.data / "api-url").unlink(missing_ok=True)
        self.out = self.data.parent / (self.data.name + "-up.out")
        self.err = self.data.parent / (self.data.name + "-up.log")
        argv = [str(BIN), "up", "--data", str(self.data), "--listen", "127.0.0.1:0", *args]
        self.proc = subprocess.Popen(argv, stdout=open(self.out, "ab"),
                                     stderr=open(self.err, "ab"), start_new_session=True)
        self.started = now()
        deadline = self.started + ready_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"migratekit up ended ({self.proc.returncode}):\n" + self.log())
            if now() > deadline:
                raise RuntimeError(f"migratekit up not ready in {ready_timeout} s:\n" + self.log())
            url = self.data / "api-url"
            if "Web UI: " in self.out.read_text() and url.exists() and url.read_text().strip():
                break
            time.sleep(0.05)
        self.ready_s = now() - self.started
        self.url = (self.data / "api-url").read_text().strip()
        self.token = (self.data / "api-token").read_text().strip()
        hostport = self.url.split("://", 1)[1]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.conn = None

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        return self.err.read_text()[-4000:] if self.err.exists() else ""

    def connect(self, timeout=60):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None):
        """(status, parsed body) over the kept connection, opened again if it dropped."""
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = self.connect()
                self.conn.request(method, path, body=data, headers=headers)
                res = self.conn.getresponse()
                text = res.read()
                return res.status, (json.loads(text) if text else None)
            except (http.client.HTTPException, ConnectionError):
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def ok(self, method, path, body=None, expect=(200, 201, 202)):
        status, answer = self.request(method, path, body)
        if status not in expect:
            raise RuntimeError(f"{method} {path}: {status} {answer}")
        return answer

    def jobs(self, state=""):
        """Every job, a page of 1000 at a time."""
        out, cursor = [], None
        while True:
            path = "/api/v1/replications?limit=1000" + (f"&state={state}" if state else "")
            if cursor:
                path += "&cursor=" + cursor
            page = self.ok("GET", path)
            out += page["replications"]
            cursor = page.get("next_cursor")
            if not cursor:
                return out

    def job_log(self, job):
        return self.ok("GET", f"/api/v1/replications/{job}/log")["entries"]

    def status(self):
        """VmRSS and VmHWM of the `up` process, in KiB."""
        return proc_memory(self.pid)

    def kill(self):
        """SIGKILL to its group; what it started elsewhere goes with the scratch folder."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


class CpuUse:
    """The share of this machine's CPU time spent busy between its making and busy()
    (/proc/stat): the benchmark's processes and whatever else ran meanwhile."""

    @staticmethod
    def sample():
        fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    def __init__(self):
        self.before = self.sample()

    def busy(self):
        total, idle = self.sample()
        dt = total - self.before[0]
        return round(1 - (idle - self.before[1]) / dt, 3) if dt else 0.0


class ProcessCpu:
    """CPU time of every process and kernel thread between its making and use() (/proc/PID/stat,
    utime + stime), in shares of one core, grouped by `kind(pid, argv, comm)`. Only what lived
    at both ends counts: take it once the processes to watch have started."""

    TICK = os.sysconf("SC_CLK_TCK")

    @staticmethod
    def sample():
        out = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            out[int(entry.name)] = (int(fields[11]) + int(fields[12]),
                                    [a.decode(errors="replace") for a in argv if a], comm)
        return out

    def __init__(self):
        self.before = self.sample()
        self.t0 = time.monotonic()

    def use(self, kind):
        """{group: share of one core} over the time since the making, largest first."""
        after = self.sample()
        secs = time.monotonic() - self.t0
        groups = {}
        for pid, (ticks, argv, comm) in after.items():
            if pid not in self.before or self.before[pid][2] != comm:
                continue
            used = (ticks - self.before[pid][0]) / self.TICK / secs
            if used > 0:
                group = kind(pid, argv, comm)
                groups[group] = groups.get(group, 0) + used
        return dict(sorted(((g, round(v, 3)) for g, v in groups.items()),
                           key=lambda kv: -kv[1]))


def proc_memory(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def wait_until(what, holds, timeout, every=0.25):
    deadline = now() + timeout
    while True:
        if holds():
            return
        if now() > deadline:
            raise RuntimeError(f"not {what} after {timeout} s")
        time.sleep(every)


def wait_states(up, ids, states, timeout):
    """Waits until every job of `ids` is in one of `states` (a set)."""
    ids = set(ids)

    def holds():
        return all(j["state"] in states for j in up.jobs() if j["id"] in ids)
    wait_until(f"all {len(ids)} jobs {'/'.join(sorted(states))}", holds, timeout)


class Events(threading.Thread):
    """GET /api/v1/events in a thread: the time each job event arrived, by job."""

    def __init__(self, up):
        super().__init__(daemon=True)
        self.cond = threading.Condition()
        self.seen = {}  # job id -> [(perf_counter time, state)]
        conn = up.connect(timeout=3600)
        conn.request("GET", "/api/v1/events", headers={"Authorization": f"Bearer {up.token}"})
        self.res = conn.getresponse()
        if self.res.status != 200:
            raise RuntimeError(f"/events: {self.res.status}")
        self.start()

    def run(self):
        try:
            self.follow()
        except (http.client.HTTPException, OSError):
            pass  # `up` ended (the end of a part): the stream ends with it, and so do we

    def follow(self):
        event = ""
        for raw in self.res:
            line = raw.decode().rstrip("\n")
            t = now()
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "job":
                job = json.loads(line[6:])
                with self.cond:
                    self.seen.setdefault(job["id"], []).append((t, job["state"]))
                    self.cond.notify_all()

    def wait_state(self, job, states, after, timeout):
        """The time the job was first seen in one of `states` at or after `after`."""
        deadline = now() + timeout
        with self.cond:
            while True:
                for t, state in self.seen.get(job, []):
                    if t >= after and state in states:
                        return t
                left = deadline - now()
                if left <= 0:
                    raise RuntimeError(f"job {job} not {'/'.join(sorted(states))} "
                                       f"after {timeout} s")
                self.cond.wait(left)


# -- figures ------------------------------------------------------------------------------

def percentile(values, p):
    """Nearest rank: the smallest value with at least p percent of the values at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def distribution(values):
    return {"n": len(values), "p50": percentile(values, 50), "p90": percentile(values, 90),
            "p99": percentile(values, 99), "max": max(values), "min": min(values),
            "mean": sum(values) / len(values)}


def ms(seconds):
    return round(seconds * 1000, 3)


def rfc3339_ms(text):
    """Unix ms of the API's times ("2026-01-02T03:04:05.678Z")."""
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def write_result(result):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{NAME}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    say(f"results in {path.relative_to(ROOT)}")
