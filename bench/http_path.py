"""CPU per request of the server's HTTP path, against another version in the same turns.

    python bench/http_path.py [--requests 300] [--turns 4] [--baseline REV]

Starts ``karabakh-kg serve`` on the curated graph (in memory, updates enabled) and, with
``--baseline REV``, the code at git revision ``REV`` beside it (bench/storage.py's
``checkout``); then, in turns, sends each server ``--requests`` requests of each kind on one
keep-alive connection: ``GET /health`` (the framework alone), a cheap ``ASK`` by ``GET
/sparql`` and a one-triple ``INSERT DATA``. It prints the CPU time per request of the
server's event-loop thread (the main thread, from ``/proc/PID/task/PID/stat``) and of all its
processes (query workers included): figures the shared machine's load moves much less than
latencies.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from storage import checkout, cpu_seconds, free_port, running

TOKEN = "bench-token"


def thread_seconds(pid: int) -> float:
    """CPU time (user + system) of the main thread of process ``pid``: the event loop."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def requests(client: httpx.Client) -> dict[str, Callable[[str, int], httpx.Response]]:
    """Each kind of request, given the server's URL and a number that makes it unique."""
    update = {"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"}
    return {
        "GET /health": lambda url, n: client.get(url + "/health"),
        "GET /sparql (ASK)": lambda url, n: client.get(
            url + "/sparql", params={"query": "ASK { ?s ?p ?o }"}
        ),
        "one-triple update": lambda url, n: client.post(
            url + "/sparql/update",
            content=f"INSERT DATA {{ <urn:bench:s{n}> <urn:bench:p> <urn:bench:o{n}> }}",
            headers=update,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per kind, server and turn")
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--baseline", help="a git revision served beside this version")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="karabakh-bench-http-"))
    try:
        versions = {"karabakh-kg": {}}
        if args.baseline:
            versions[f"karabakh-kg at {args.baseline}"] = checkout(args.baseline, folder)
        command = [sys.executable, "-m", "karabakh_kg.server", "serve", "--enable-update"]
        command += ["--ephemeral-updates", "--workers", "2", "--log-level", "warning"]
        with contextlib.ExitStack() as servers, httpx.Client(timeout=60) as client:
            started: dict[str, tuple[int, str]] = {}
            for name, env in versions.items():
                port = free_port()
                url = f"http://127.0.0.1:{port}"
                env = {**env, "KARABAKH_KG_UPDATE_TOKEN": TOKEN}
                process = servers.enter_context(
                    running([*command, "--port", str(port)], url + "/sparql", env)
                )
                started[name] = (process.pid, url)
            kinds = requests(client)
            totals = {(name, kind): [0.0, 0.0] for name in started for kind in kinds}
            sent = 0
            load = os.getloadavg()[0]
            for _ in range(args.turns):
                for kind, send in kinds.items():
                    for name, (pid, url) in started.items():
                        loop, whole = thread_seconds(pid), cpu_seconds(pid)
                        for _ in range(args.requests):
                            sent += 1
                            answer = send(url, sent)
                            if answer.status_code not in (200, 204):
                                raise SystemExit(f"{name}, {kind}: {answer.status_code}")
                        totals[name, kind][0] += thread_seconds(pid) - loop
                        totals[name, kind][1] += cpu_seconds(pid) - whole
        count = args.requests * args.turns
        print(
            f"{count} requests of each kind per server, one keep-alive connection "
            f"(load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)"
        )
        print(f"{'server':32} {'request':20} {'event loop ms':>14} {'processes ms':>13}")
        for (name, kind), (loop, whole) in totals.items():
            print(f"{name:32} {kind:20} {1000 * loop / count:14.3f} {1000 * whole / count:13.3f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
