"""Two service nodes on one throwaway PostgreSQL cluster under paced load, through faults:
a database restart, a database outage, SIGTERM of one node and SIGKILL of the other; every
acknowledged check is matched serial by serial against the database at the end.

    .venv/bin/python bench/faults.py [--rate 250] [--phase-seconds 10] [--outage-seconds 10]
    .venv/bin/python bench/faults.py --soak 600 [--rate 250] [--codes 10000]

The fault run prints, for each phase: the requests answered in it, the answers by status
(200, 429, 500, 503, other statuses, timeouts, refused connections, connections dropped), the
acknowledged checks lost (a 200 whose check has no row in ``scans``), the seconds until both
nodes answer correctly again (``/healthz`` 200 and a verify 200 with complete scans) counted
from the fault and from the moment the database or the node is back, and whether a node had
to be restarted by hand (the bench restarts only the node it stopped itself, and a node that
does not come back counts as one). Then the issue's targets, each PASS or FAIL.

The 200s' median and 99th percentile times, and how many said their scans were incomplete
or showed a count other than one (each serial is checked once in a fault run) come with each
phase. ``--soak`` loads both nodes steadily for that many seconds without faults, checking
``--codes`` serials in turn, and prints each node's resident memory (``VmRSS`` of the
``ocop serve`` process, which answers itself with one worker) once every serial was checked
(the recorder then holds all their aggregates) and at the end, the share of a core each node
and the bench used, the answers, errors and losses.

The bench itself is one Python process; when it cannot keep the pace it skips requests and
says how many: keep ``--rate`` where none are skipped.

Everything runs on 127.0.0.1 and is removed when the script ends, however it ends: a cluster
of our own in a temporary directory (its socket there too, on a free port, as the user
``postgres`` when run as root), two ``ocop serve`` processes, each with its own copy of the
demo's data directory. All load comes from one address, so the verify rate limit is raised
through the environment (every request is still counted by the limiter). The nodes' logs are
kept (their paths are printed) when the script ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TypeVar

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.verify_http import BENCH_LIMITS, free_port, make_codes  # noqa: E402
from signing import parse_stamp  # noqa: E402
from verifier.registry.batches import MAX_BATCH  # noqa: E402
from verifier.scans import recorder  # noqa: E402
from verifier.store.database import make_engine  # noqa: E402
from verifier.store.models import Scan, SerialScans  # noqa: E402

OCOP = ROOT / ".venv" / "bin" / "ocop"
TIMEOUT_SECONDS = 5.0  # per request
RECOVERY_LIMIT_SECONDS = 5.0  # the target after the database is back
GIVE_UP_SECONDS = 60.0  # a node not answering correctly by then needs a restart by hand
Result = TypeVar("Result")
OUTCOMES = ("200", "429", "500", "503", "other", "timeout", "refused", "dropped")


def as_owner(command: list[str]) -> list[str]:
    """Return ``command`` run as the user ``postgres`` when we are root (PostgreSQL refuses
    to run as root), else as is."""
    return ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else command


class Cluster:
    """A throwaway PostgreSQL cluster in ``home``: its data, socket and log, on a free port."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        binaries = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
        )
        if not binaries:
            raise SystemExit("PostgreSQL's server is missing: apt-get install postgresql")
        self.bin = binaries[-1]
        self.data = home / "pg"
        self.url = f"postgresql+psycopg://ocop@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        """Run pg_ctl on the cluster with ``args``; raises CalledProcessError when it fails."""
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                      str(self.home / "server.log"), "-o", options, "-w", *args]),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def create(self) -> None:
        """Make the cluster (user ``ocop``, trusted on 127.0.0.1) and start it."""
        if os.getuid() == 0:
            shutil.chown(self.home, "postgres")
        subprocess.run(
            as_owner([str(self.bin / "initdb"), "-D", str(self.data), "-U", "ocop", "-A",
                      "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.start()

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._ctl("start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``mode`` as pg_ctl's ``-m``) and wait until it is down."""
        self._ctl("-m", mode, "stop")

    def restart(self) -> None:
        """Restart the server in fast mode (sessions are cut) and wait until it is up."""
        self._ctl("-m", "fast", "restart")

    def remove(self) -> None:
        """Stop the server at once if it runs."""
        subprocess.run(
            as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip


class Node:
    """One ``ocop serve`` process on its own data directory and port; its log in ``log``."""

    def __init__(self, number: int, data_dir: Path, log: Path, env: dict[str, str]) -> None:
        self.number, self.data_dir, self.log, self.env = number, data_dir, log, env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Launch the process (one worker: the process that answers); returns at once."""
        command = [str(OCOP), "serve", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        with self.log.open("ab") as log:
            log.write(f"--- bench: start {self.starts + 1} at {time.strftime('%X')}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1

    def signal(self, number: int) -> None:
        """Send the process signal ``number``."""
        assert self.process is not None
        self.process.send_signal(number)

    def wait(self, seconds: float = 30) -> int:
        """Wait for the process to end; returns its exit status (killed after ``seconds``)."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            print(f"node {self.number} slow to stop; killed", file=sys.stderr)
            self.process.kill()
            return self.process.wait()

    def cpu_seconds(self) -> float:
        """Return the CPU time the process has used so far, in seconds."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        """Return the process's resident memory (VmRSS) in MB."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


@dataclass(slots=True)
class Answer:
    """One request: the node asked, the serial checked, when it was answered
    (``time.monotonic()``) and how long that took, its outcome (an HTTP status or a failure,
    see ``OUTCOMES``), and from a 200 the answer's scan count and whether it was complete."""

    node: int
    serial: int
    at: float
    took: float
    outcome: str
    count: int | None = None
    complete: bool | None = None


def outcome_of(status: int) -> str:
    """Return the outcome name of an HTTP ``status``."""
    name = str(status)
    return name if name in OUTCOMES else "other"


class Codes:
    """Distinct genuine stamp codes, each with its serial, handed out in turn (from the
    start again when all are used)."""

    def __init__(self, key_index: int, serials: list[int], codes: list[str]) -> None:
        self.key_index, self.serials, self.codes = key_index, serials, codes
        self._next = 0

    def take(self) -> tuple[int, str]:
        """Return the next (serial, code)."""
        i = self._next % len(self.codes)
        self._next += 1
        return self.serials[i], self.codes[i]


def genuine_codes(data_dir: Path, database_url: str, count: int, now: datetime) -> Codes:
    """Return ``count`` codes for new serials of the demo's genuine certificate, ordered in
    batches as large as allowed."""
    serials: list[int] = []
    codes: list[str] = []
    while len(codes) < count:
        size = min(MAX_BATCH, count - len(codes))
        batch, _ = make_codes(data_dir, size, now, database_url=database_url)
        first = parse_stamp(batch[0]).payload  # the batch's serials follow on
        serials += range(first.serial, first.serial + size)
        codes += batch
    return Codes(first.key_index, serials, codes)


async def check(
    client: httpx.AsyncClient, node: Node, codes: Codes, answers: list[Answer]
) -> Answer:
    """Verify the next code on ``node``; record and return the answer."""
    serial, code = codes.take()
    sent = time.monotonic()
    try:
        response = await client.get(f"{node.url}/api/v1/verify?code={code}")  # digits only
    except httpx.TimeoutException:
        outcome = "timeout"
    except httpx.ConnectError:
        outcome = "refused"
    except httpx.TransportError:  # the connection was cut mid-request
        outcome = "dropped"
    else:
        at = time.monotonic()
        answer = Answer(node.number, serial, at, at - sent, outcome_of(response.status_code))
        if response.status_code == 200:
            scans = response.json()["scans"]
            answer.count, answer.complete = scans["count"], scans.get("complete", True)
        answers.append(answer)
        return answer
    at = time.monotonic()
    answer = Answer(node.number, serial, at, at - sent, outcome)
    answers.append(answer)
    return answer


@dataclass
class Load:
    """Paced load on every node: ``rate`` requests a second each, each a task, until
    ``stop`` is set. ``skipped`` counts requests not sent because the client fell over a
    second behind its schedule (it could not keep up)."""

    client: httpx.AsyncClient
    nodes: list[Node]
    codes: Codes
    rate: float
    answers: list[Answer] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    skipped: int = 0
    sent: int = 0

    async def pace(self, node: Node) -> None:
        """Send ``rate`` checks a second to ``node`` until stopped; returns when all are in."""
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[Answer]] = set()
        due = loop.time()
        try:
            while not self.stop.is_set():
                task = asyncio.create_task(check(self.client, node, self.codes, self.answers))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                self.sent += 1
                due += 1 / self.rate
                behind = loop.time() - due
                if behind > 1:  # skip the missed requests rather than send them in a burst
                    self.skipped += int(behind * self.rate)
                    due = loop.time()
                await asyncio.sleep(max(0.0, due - loop.time()))  # always yield to the others
            await asyncio.gather(*tasks)
        finally:  # interrupted: no request outlives the client
            for task in tasks:
                task.cancel()

    async def run(self) -> None:
        """Load every node until stopped."""
        await asyncio.gather(*(self.pace(node) for node in self.nodes))


@contextlib.asynccontextmanager
async def loading(load: Load) -> AsyncIterator[Load]:
    """Run ``load`` for the block; returns once its requests are answered, or at once,
    cancelling them, when the block fails."""
    running = asyncio.create_task(load.run())
    try:
        yield load
    except BaseException:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        raise
    load.stop.set()
    await running


async def node_ready(client: httpx.AsyncClient, node: Node, load: Load) -> bool:
    """Return whether ``node`` answers correctly: ``/healthz`` 200, and a
    verify 200 whose scans are complete (the check is recorded among the load's answers)."""
    try:
        if (await client.get(f"{node.url}/healthz")).status_code != 200:  # 200: all is well
            return False
    except httpx.HTTPError:
        return False
    answer = await check(client, node, load.codes, load.answers)
    return answer.outcome == "200" and bool(answer.complete)


async def recovery_seconds(client: httpx.AsyncClient, load: Load, since: float) -> float | None:
    """Probe both nodes every tenth of a second until both answer correctly; return the
    seconds from ``since`` until then, or None when that takes over ``GIVE_UP_SECONDS``."""
    while time.monotonic() - since < GIVE_UP_SECONDS:
        ready = await asyncio.gather(*(node_ready(client, n, load) for n in load.nodes))
        if all(ready):
            return time.monotonic() - since
        await asyncio.sleep(0.1)
    return None


@dataclass
class Phase:
    """One fault: its name, when its load began, when the fault struck, when the database or
    node was back, when it ended (``time.monotonic()``), the seconds until both nodes answer
    correctly again (None: not within ``GIVE_UP_SECONDS``), and for a killed node the
    checks it acknowledged in the last flush interval before the kill."""

    name: str
    began: float
    struck: float = 0.0
    back: float = 0.0
    ended: float = 0.0
    recovered: float | None = None
    at_risk: int | None = None

    def holds(self, answer: Answer) -> bool:
        """Return whether ``answer`` came within this phase."""
        return self.began <= answer.at < self.ended


async def in_thread(action: Callable[[], object]) -> None:
    """Run the blocking ``action`` off the event loop, so that the load goes on."""
    await asyncio.to_thread(action)


async def restart_node(node: Node, number: int) -> None:
    """Send ``node`` signal ``number``, wait for it to end and start it again."""
    node.signal(number)
    await asyncio.to_thread(node.wait)
    node.start()


async def run_phase(
    name: str, fault: Callable[[], Awaitable[None]], client: httpx.AsyncClient, load: Load,
    seconds: float, killed: Node | None = None,
) -> Phase:  # fmt: skip
    """Load for ``seconds``, strike with ``fault`` (which returns when the database or the
    node is back), wait for both nodes to answer correctly, load for ``seconds`` more.
    Returns the phase's times."""
    phase = Phase(name, time.monotonic())
    print(f"  {name}: steady load", flush=True)
    await asyncio.sleep(seconds)
    phase.struck = time.monotonic()
    if killed is not None:
        interval = flush_seconds()
        phase.at_risk = sum(
            1 for a in load.answers
            if a.node == killed.number and a.outcome == "200" and a.at >= phase.struck - interval
        )  # fmt: skip
    await fault()
    phase.back = time.monotonic()
    phase.recovered = await recovery_seconds(client, load, phase.back)
    recovered = "never" if phase.recovered is None else f"{phase.recovered:.1f} s"
    print(f"  {name}: back, recovered in {recovered}", flush=True)
    await asyncio.sleep(seconds)
    phase.ended = time.monotonic()
    return phase


def flush_seconds() -> float:
    """Return the recorder's flush interval: ``OCOP_SCAN_FLUSH_SECONDS`` when set, else the
    recorder's default."""
    return float(os.environ.get("OCOP_SCAN_FLUSH_SECONDS") or recorder.FLUSH_SECONDS)


def stored_per_serial(database_url: str, codes: Codes) -> tuple[Counter[int], Counter[int]]:
    """Return, per serial of ``codes``, the rows in ``scans`` and the count in
    ``serial_scans``."""
    engine = make_engine(database_url)
    low, high = min(codes.serials), max(codes.serials)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Scan.serial, func.count())
            .where(Scan.key_index == codes.key_index, Scan.serial.between(low, high))
            .group_by(Scan.serial)
        )
        raw = Counter({int(serial): int(n) for serial, n in rows if serial is not None})
        rows = connection.execute(
            select(SerialScans.serial, SerialScans.count).where(
                SerialScans.key_index == codes.key_index, SerialScans.serial.between(low, high)
            )
        )
        aggregated = Counter({int(serial): int(n) for serial, n in rows if serial is not None})
    engine.dispose()
    return raw, aggregated


@dataclass
class Losses:
    """The acknowledged checks missing from the database, per serial, and the serials stored
    more often than asked at all (duplicates) or than acknowledged (a check recorded although
    its answer never arrived: not a loss)."""

    lost: Counter[int]
    duplicated: Counter[int]
    unacknowledged: Counter[int]
    aggregate_mismatch: dict[int, tuple[int, int]]


def match(answers: list[Answer], raw: Counter[int], aggregated: Counter[int]) -> Losses:
    """Return the losses: per serial, acknowledged (200) answers against stored rows, and
    the stored rows against the per-serial aggregate."""
    acknowledged = Counter(a.serial for a in answers if a.outcome == "200")
    asked = Counter(a.serial for a in answers)
    lost, duplicated, unacknowledged = Counter[int](), Counter[int](), Counter[int]()
    for serial in set(asked) | set(raw):
        stored = raw[serial]
        if acknowledged[serial] > stored:
            lost[serial] = acknowledged[serial] - stored
        elif stored > asked[serial]:
            duplicated[serial] = stored - asked[serial]
        elif stored > acknowledged[serial]:
            unacknowledged[serial] = stored - acknowledged[serial]
    mismatch = {
        s: (raw[s], aggregated[s]) for s in set(raw) | set(aggregated) if raw[s] != aggregated[s]
    }
    return Losses(lost, duplicated, unacknowledged, mismatch)


def lost_answers(answers: list[Answer], losses: Losses) -> list[Answer]:
    """Return the acknowledged answers whose checks are missing: for each serial, its latest
    200s, as many as it lost."""
    remaining = Counter(losses.lost)
    lost = []
    for a in sorted(answers, key=lambda a: -a.at):
        if a.outcome == "200" and remaining[a.serial] > 0:
            remaining[a.serial] -= 1
            lost.append(a)
    return lost


def by_node(answers: list[Answer]) -> str:
    """Return how many of ``answers`` each node gave, as text."""
    counts = Counter(a.node for a in answers)
    return ", ".join(f"node {n}: {c}" for n, c in sorted(counts.items())) or "none"


def outcome_line(answers: list[Answer]) -> str:
    """Return the number of ``answers`` and their outcomes, as text."""
    outcomes = Counter(a.outcome for a in answers)
    return f"{len(answers)} requests: " + "  ".join(f"{o} {outcomes[o]}" for o in OUTCOMES)


def latency_line(answers: list[Answer]) -> str:
    """Return the median and 99th percentile time to answer of the 200s, as text."""
    times = sorted(a.took for a in answers if a.outcome == "200")
    if not times:
        return "no 200s"
    p50, p99 = times[len(times) // 2], times[min(len(times) - 1, len(times) * 99 // 100)]
    return f"200s answered in p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"


def odd_answers(answers: list[Answer], asked: Counter[int]) -> str:
    """Return, as text, how many 200s said their scans were incomplete, and how many of
    those for a serial asked once only showed a count other than one."""
    ok = [a for a in answers if a.outcome == "200"]
    incomplete = sum(1 for a in ok if a.complete is False)
    off = sum(1 for a in ok if asked[a.serial] == 1 and a.count != 1)
    return f"200s with scans incomplete: {incomplete}; with a count other than 1: {off}"


def seconds(value: float | None) -> str:
    """Return ``value`` seconds as text, or 'never' for None."""
    return "never" if value is None else f"{value:.1f} s"


def report_phases(phases: list[Phase], answers: list[Answer], losses: Losses) -> list[str]:
    """Print each phase's figures and return the targets missed (each a line of text)."""
    lost = lost_answers(answers, losses)
    asked = Counter(a.serial for a in answers)
    missed = []
    for phase in phases:
        mine = [a for a in answers if phase.holds(a)]
        its_lost = [a for a in lost if phase.holds(a)]
        fault = [a for a in mine if phase.struck <= a.at < phase.back + (phase.recovered or 0)]
        hand = phase.recovered is None
        print(f"\n{phase.name} ({phase.ended - phase.began:.1f} s of load; the fault lasted "
              f"{phase.back - phase.struck:.1f} s)")  # fmt: skip
        print(f"  answers:          {outcome_line(mine)}")
        print(f"  from the fault until recovered: {outcome_line(fault)}")
        print(f"  {latency_line(mine)}; {odd_answers(mine, asked)}")
        print(f"  acknowledged scans lost: {len(its_lost)} ({by_node(its_lost)})")
        print(f"  both nodes correct again: {seconds(phase.recovered)} after it was back, "
              f"{seconds(None if hand else phase.back - phase.struck + (phase.recovered or 0))} "
              "after the fault")  # fmt: skip
        print(f"  restart by hand needed: {'yes' if hand else 'no'}")
        missed += phase_targets(phase, mine, its_lost)
    return missed


def phase_targets(phase: Phase, answers: list[Answer], lost: list[Answer]) -> list[str]:
    """Print the issue's targets for ``phase`` with PASS or FAIL; return those missed."""
    checks: list[tuple[str, bool]] = [("no restart by hand", phase.recovered is not None)]
    if phase.at_risk is None:
        checks.append(("0 acknowledged scans lost", not lost))
    else:
        checks.append((
            f"lost {len(lost)} within the bound: {phase.at_risk} checks the killed node "
            f"acknowledged in the last flush interval ({flush_seconds()} s) before the kill",
            len(lost) <= phase.at_risk,
        ))  # fmt: skip
    if phase.name.startswith("database"):
        recovered = phase.recovered is not None and phase.recovered <= RECOVERY_LIMIT_SECONDS
        checks.append(
            (f"recovered within {RECOVERY_LIMIT_SECONDS:.0f} s of the database", recovered)
        )
    if phase.name.startswith("database outage"):
        errors = sum(1 for a in answers if a.outcome == "500")
        checks.append((f"0 HTTP 500 (saw {errors})", errors == 0))
    missed = []
    for text, passed in checks:
        print(f"  target: {text}: {'PASS' if passed else 'FAIL'}")
        if not passed:
            missed.append(f"{phase.name}: {text}")
    return missed


def report_totals(answers: list[Answer], losses: Losses, load: Load, seconds: float) -> None:
    """Print the whole run's answers, losses, duplicates and aggregate mismatches."""
    print(f"\nwhole run ({seconds:.0f} s): {outcome_line(answers)}")
    print(f"  {latency_line(answers)}")
    print(f"  sent {load.sent} at {load.rate:g}/s per node; not sent because the client fell "
          f"behind: {load.skipped}")  # fmt: skip
    print(f"  acknowledged scans lost: {sum(losses.lost.values())} over {len(losses.lost)} serials")
    print(f"  serials stored more often than asked (duplicates): {len(losses.duplicated)} "
          f"{dict(list(losses.duplicated.items())[:5])}")  # fmt: skip
    print(f"  checks stored whose answer never arrived (timeouts, cut connections): "
          f"{sum(losses.unacknowledged.values())}")  # fmt: skip
    mismatch = losses.aggregate_mismatch
    print(f"  serials whose serial_scans count differs from their scans rows: {len(mismatch)} "
          f"{dict(list(mismatch.items())[:5])}")  # fmt: skip


async def wait_alive(client: httpx.AsyncClient, node: Node, seconds: float = 60) -> None:
    """Wait until ``node`` answers ``/livez``; raises SystemExit when it does not in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if (await client.get(f"{node.url}/livez")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit(f"node {node.number} did not start; see {node.log}")


def make_client() -> httpx.AsyncClient:
    """Return the load's HTTP client: the per-request timeout, enough connections for a
    node that stalls for the whole timeout at the bench's rates."""
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    return httpx.AsyncClient(timeout=TIMEOUT_SECONDS, limits=limits)


async def run_faults(
    nodes: list[Node], cluster: Cluster, codes: Codes, args: argparse.Namespace
) -> tuple[list[Phase], Load]:
    """Load both nodes through the four faults in turn; returns the phases and the load."""
    first, second = nodes
    outage = args.outage_seconds

    async def stop_database() -> None:
        await in_thread(cluster.stop)
        await asyncio.sleep(outage)
        await in_thread(cluster.start)

    faults: list[tuple[str, Callable[[], Awaitable[None]], Node | None]] = [
        ("database restart (pg_ctl restart -m fast)", lambda: in_thread(cluster.restart), None),
        (f"database outage ({outage:g} s stop)", stop_database, None),
        ("SIGTERM of node 1", lambda: restart_node(first, signal.SIGTERM), None),
        ("SIGKILL of node 2", lambda: restart_node(second, signal.SIGKILL), second),
    ]
    async with make_client() as client, make_client() as probes:
        for node in nodes:
            await wait_alive(probes, node)
        phases = []
        async with loading(Load(client, nodes, codes, args.rate)) as load:
            await asyncio.sleep(args.phase_seconds)  # warm-up
            for name, fault, killed in faults:
                phases.append(
                    await run_phase(name, fault, probes, load, args.phase_seconds, killed=killed)
                )
    return phases, load


@dataclass
class Soak:
    """What a soak measured: each node's resident memory in MB after the warm-up and at the
    end, and the share of one core each node and the bench itself used meanwhile."""

    memory: dict[int, tuple[float, float]]
    cpu: dict[str, float]


async def run_soak(nodes: list[Node], codes: Codes, args: argparse.Namespace) -> tuple[Load, Soak]:
    """Load both nodes steadily for ``args.soak`` seconds after a warm-up long enough to
    check every code once; returns the load and what the soak measured."""
    async with make_client() as client:
        for node in nodes:
            await wait_alive(client, node)
        async with loading(Load(client, nodes, codes, args.rate)) as load:
            # warm: every serial checked once, so the recorder holds all their aggregates
            await asyncio.sleep(args.phase_seconds + len(codes.codes) / (len(nodes) * args.rate))
            memory = {n.number: n.rss_mb() for n in nodes}
            cpu = {f"node {n.number}": n.cpu_seconds() for n in nodes}
            cpu["bench"], began = time.process_time(), time.monotonic()
            await asyncio.sleep(args.soak)
            took = time.monotonic() - began
            soak = Soak(
                {n.number: (memory[n.number], n.rss_mb()) for n in nodes},
                {
                    **{f"node {n.number}": (n.cpu_seconds() - cpu[f"node {n.number}"]) / took
                       for n in nodes},
                    "bench": (time.process_time() - cpu["bench"]) / took,
                },
            )  # fmt: skip
    return load, soak


def codes_needed(args: argparse.Namespace) -> int:
    """Return how many codes the run asks for: ``--codes`` for a soak (which reuses them in
    turn), else enough for every check of the fault run to have a serial of its own."""
    if args.soak:
        return int(args.codes)
    phase = 2 * args.phase_seconds + args.outage_seconds + 15
    return int(2 * args.rate * (args.phase_seconds + 4 * phase) * 1.3)


def set_up(
    home: Path, logs: Path, cluster: Cluster, args: argparse.Namespace
) -> tuple[list[Node], Codes]:
    """Make the cluster, the demo on it and the codes, and start two nodes on copies of the
    demo's data directory. Returns the nodes and the codes."""
    cluster.create()
    env = {**os.environ, "OCOP_DATABASE_URL": cluster.url, "OCOP_KEY_PASSPHRASE": "demo",
           **BENCH_LIMITS}  # fmt: skip
    demo = home / "demo"
    subprocess.run([str(OCOP), "demo", "--data-dir", str(demo)], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    codes = genuine_codes(demo, cluster.url, codes_needed(args), datetime.now(UTC))
    nodes = []
    for number in (1, 2):
        shutil.copytree(demo, home / f"node{number}")
        node = Node(number, home / f"node{number}", logs / f"node{number}.log", env)
        node.start()
        nodes.append(node)
    return nodes, codes


def stop_nodes(nodes: list[Node]) -> None:
    """SIGTERM every node still running (it flushes its queue) and wait for it to end."""
    for node in nodes:
        if node.process is not None and node.process.poll() is None:
            node.signal(signal.SIGTERM)
    for node in nodes:
        if node.process is not None:
            node.wait()


def on_sigterm(number: int, frame: FrameType | None) -> None:
    """End the script as an interrupt does, so that everything is cleaned up."""
    raise KeyboardInterrupt


async def cancelled_by_sigterm(work: Awaitable[Result]) -> Result:
    """Return what ``work`` returns; SIGTERM cancels it meanwhile (as asyncio.run does on an
    interrupt), so that its requests end before the client closes."""
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    return await work


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=250, help="requests a second per node")
    parser.add_argument(
        "--phase-seconds", type=float, default=10, help="steady load before and after each fault"
    )
    parser.add_argument("--outage-seconds", type=float, default=10)
    parser.add_argument(
        "--codes", type=int, default=10_000, help="distinct codes a soak checks in turn"
    )
    parser.add_argument("--soak", type=float, default=0, help="seconds of steady load, no faults")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)
    home = Path(tempfile.mkdtemp(prefix="ocop-faults-"))
    logs = Path(tempfile.mkdtemp(prefix="ocop-faults-logs-"))
    cluster = Cluster(home)
    nodes: list[Node] = []
    try:
        nodes, codes = set_up(home, logs, cluster, args)
        print(f"two nodes at {args.rate:g} checks/s each, {len(codes.codes)} distinct genuine "
              f"codes; flush interval {flush_seconds()} s; logs in {logs}", flush=True)  # fmt: skip
        began = time.monotonic()
        if args.soak:
            load, soak = asyncio.run(cancelled_by_sigterm(run_soak(nodes, codes, args)))
        else:
            phases, load = asyncio.run(
                cancelled_by_sigterm(run_faults(nodes, cluster, codes, args))
            )
        took = time.monotonic() - began
        stop_nodes(nodes)
        losses = match(load.answers, *stored_per_serial(cluster.url, codes))
        if args.soak:
            for number, (start, end) in soak.memory.items():
                print(
                    f"node {number} RSS: {start:.1f} MB after the warm-up, {end:.1f} MB at the end"
                )
            print(
                "CPU, share of one core: " + ", ".join(f"{k} {v:.0%}" for k, v in soak.cpu.items())
            )
            report_totals(load.answers, losses, load, took)
            return 0
        missed = report_phases(phases, load.answers, losses)
        report_totals(load.answers, losses, load, took)
        print("\ntargets missed:" if missed else "\nall targets met")
        for line in missed:
            print(f"  {line}")
        return 1 if missed else 0
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted: stopping the nodes and the cluster", file=sys.stderr)
        return 130
    finally:
        for node in nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.kill()
                node.process.wait()
        cluster.remove()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
