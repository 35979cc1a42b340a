"""What every timing benchmark shares: clocks, memory and load probes, the machine, publishing.

The timing benchmarks (deepfool_speed.py, screening.py, large_pool.py,
head_space_speed.py, frozen_round_time.py) time on an otherwise idle
machine and say how idle it was: :class:`OtherCpuUse` measures the cores
other processes kept busy during the run, :func:`run_meta` records the
command, machine, torch, threads, device, date and load average, and
:func:`publish` writes the figures to ``benchmarks/results/TAG.json`` and
their markdown between ``<!-- TAG:begin`` / ``<!-- TAG:end -->`` markers of a
doc page (docs/performance.md).
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import threading
import time
from pathlib import Path

import psutil
import torch
from _setup import REPO  # benchmarks/, the script's folder


def clock() -> float:
    """Wall time, after waiting for queued GPU work (kernels run asynchronously)."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    return time.perf_counter()


class PeakRSS:
    """Peak resident memory above the starting level, sampled by a thread."""

    def __init__(self, period=0.002):
        self.period = period
        self.proc = psutil.Process()

    def __enter__(self):
        self.base = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.period)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)
        self.extra_mb = (self.peak - self.base) / 2**20


def _busy_cpu_s() -> tuple[float, float]:
    """CPU seconds used so far by the whole machine and by this process (and its children)."""
    t = psutil.cpu_times()
    machine_busy = sum(t) - t.idle - getattr(t, "iowait", 0.0)
    own = psutil.Process().cpu_times()
    return machine_busy, own.user + own.system + own.children_user + own.children_system


class OtherCpuUse:
    """Cores other processes kept busy, on average, since this object was made."""

    def __init__(self):
        self.busy0, self.own0 = _busy_cpu_s()
        self.t0 = time.perf_counter()

    def cores(self) -> float:
        busy, own = _busy_cpu_s()
        return max(0.0, (busy - self.busy0) - (own - self.own0)) / (time.perf_counter() - self.t0)


def quiet(meta) -> bool:
    """Whether other processes used under a fifth of a core on average during the run."""
    return meta.get("others_cores", math.inf) < 0.2


def fmt(v, spec):
    return "n/a" if isinstance(v, float) and math.isnan(v) else format(v, spec)


def publish(meta, results, md, *, tag, out=None, doc=None):
    """Write the figures as JSON under benchmarks/results/, print their table, put it in the doc page."""
    out = Path(out or REPO / "benchmarks" / "results" / f"{tag}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print(md)
    if doc:
        write_section(Path(doc), md, tag)


def write_section(doc: Path, section: str, tag: str):
    begin, end = f"<!-- {tag}:begin", f"<!-- {tag}:end -->"
    text = doc.read_text() if doc.exists() else "# Performance\n\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)


def machine(device="cpu") -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = psutil.virtual_memory().total / 2**30
    desc = f"{cpu}, {os.cpu_count()} logical CPUs, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"
    if torch.device(device).type == "cuda":
        desc += f"; GPU {torch.cuda.get_device_name(torch.device(device))}"
    return desc


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, ``"0.3 / 0.5 / 0.4"``."""
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def run_meta(script: str, argv=None, device: str = "cpu") -> dict:
    """What a timing run records about itself before it starts (``load_after`` is added at the end)."""
    args = sys.argv[1:] if argv is None else list(argv)
    return {
        "command": f"python benchmarks/{script}" + (" " + " ".join(args)).rstrip(),
        "machine": machine(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
        "device": device, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": load_average(),
    }
