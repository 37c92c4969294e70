"""Where a server's CPU goes: py-spy samples the running process (no change to it), and
its stacks are summed by package (own time) and by our own functions (inclusive)."""

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

# py-spy names a file by its path below sys.path; langgraph's namespace package loses its
# name that way, so its subpackages are named here.
LANGGRAPH = {"pregel", "_internal", "channels", "graph", "managed", "checkpoint", "func"}
OURS = ("agent/", "core/", "api/", "tools/", "markets/", "monitor/")
FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?):\d+\)$")


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Profiler:
    """Samples `pid` from start() to stop(); None from stop() when py-spy is missing."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid = pid
        self.out = out
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if spy := py_spy():
            # Only samples holding the GIL: a thread blocked or preempted in a system call
            # (a socket send wakes its peer) is not running Python, and counting it would
            # weigh every send by the machine's load. These samples add up to the CPU time.
            command = [spy, "record", "--pid", str(self.pid), "--format", "raw", "--gil"]
            command += ["--rate", "200"]
            self.proc = subprocess.Popen(
                [*command, "--nonblocking", "--output", str(self.out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def stop(self) -> dict[str, Any] | None:
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(60)
        return summary(self.out) if self.out.exists() else None


def package(path: str) -> str:
    head = path.split("/", 1)[0] if "/" in path else Path(path).stem
    if path.startswith(OURS):
        return f"ours: {head}"
    return "langgraph" if head in LANGGRAPH else head


def summary(raw: Path, top: int = 14) -> dict[str, Any]:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [m for f in stack.split(";") if (m := FRAME.match(f))]
        if not frames:
            continue
        own[package(frames[-1]["path"])] += samples
        for name in {f"{m['path']}:{m['function']}" for m in frames if m["path"].startswith(OURS)}:
            inclusive[name] += samples
    share = 100 / (total or 1)
    return {
        "samples": total,
        "by_package": {name: n * share for name, n in own.most_common()},
        "ours_inclusive": [
            {"function": name, "percent": n * share}
            for name, n in inclusive.most_common(top)
            if "serve" not in name and "cli.py" not in name
        ],
    }
