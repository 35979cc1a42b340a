"""DFAL on a pool larger than memory: a 1,000,000-image 28x28 float32 memmap (about 3 GB).

Run from the repository root::

    python benchmarks/large_pool.py

Writes the pool to ``--path`` (default: ``benchmarks/.cache/``, or
``SKDFAL_BENCH_CACHE``; MNIST's 70,000 images repeated, digits as
fallback), then, for each pool size, scores it in a fresh process with
``DFALMargin()(lenet5, memmap, n_instances=100)`` (default DeepFool: all
classes, L2, max_iter 50, overshoot 0.02) and reports time and peak resident
memory (``VmHWM``: anonymous memory plus the file pages mapped in).  The pool
file is deleted at the end unless ``--keep``.  Results go to
``benchmarks/results/large_pool.json`` and a section of ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import CACHE_DIR, REPO, get_model, load_data  # noqa: E402

SHAPE = (1, 28, 28)


def make_pool(path: Path, n: int, data, chunk=10_000):
    images = np.concatenate([data[0], data[2]])
    if images.shape[1:] != SHAPE:  # digits fallback: pad 8x8 into 28x28
        padded = np.zeros((len(images), *SHAPE), dtype=np.float32)
        padded[:, :, 10:18, 10:18] = images
        images = padded
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(n, *SHAPE))
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        mm[start:stop] = images[np.arange(start, stop) % len(images)]
        if start % (20 * chunk) == 0:
            mm.flush()
    mm.flush()
    del mm


def _status():
    fields = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) / 1024  # MiB
    return fields


def score(path: str, rows: int, n_total: int, threads: int, weights: str, candidates, log: str):
    """Child process: score the first ``rows`` samples of the memmap with DFAL."""
    import torch

    from skdfal import DFALMargin, LeNet5

    if threads:
        torch.set_num_threads(threads)
    # Weights only (no dataset in this process): the high-water mark is the scoring's.
    module = LeNet5(in_channels=1, input_size=28)
    module.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    module.eval()

    class CountingMemmap(np.memmap):
        """The pool as DFAL reads it (a read-only memmap), counting the rows sliced out."""

        rows_read = 0

        def __getitem__(self, key):
            out = super().__getitem__(key)
            if isinstance(key, slice) and getattr(out, "ndim", 0) == self.ndim:
                CountingMemmap.rows_read += len(out)
            return out

    pool = np.memmap(path, dtype=np.float32, mode="r", shape=(n_total, *SHAPE)).view(CountingMemmap)[:rows]
    CountingMemmap.rows_read = 0
    before = _status()
    peak_anon = before["RssAnon"]
    stop = threading.Event()
    t0 = time.perf_counter()

    def monitor():
        nonlocal peak_anon
        last = 0.0
        while not stop.wait(0.5):
            st = _status()
            peak_anon = max(peak_anon, st["RssAnon"])
            if time.perf_counter() - last > 30:
                last = time.perf_counter()
                with open(log, "a") as fh:
                    fh.write(json.dumps({"rows": rows, "done": CountingMemmap.rows_read, "elapsed_s": last - t0, **st}) + "\n")

    thread = threading.Thread(target=monitor, daemon=True)
    thread.start()
    idx, margins = DFALMargin(candidates=candidates)(module, pool, n_instances=100)
    elapsed = time.perf_counter() - t0
    stop.set()
    thread.join()
    after = _status()
    return {
        "rows": rows, "time_s": elapsed, "samples_per_s": rows / elapsed,
        "rss_before_mib": before["VmRSS"], "peak_rss_mib": after["VmHWM"],
        "peak_rss_above_start_mib": after["VmHWM"] - before["VmRSS"],
        "peak_anon_mib": max(peak_anon, after["RssAnon"]), "file_mib": rows * 784 * 4 / 2**20,
        "smallest_margin": float(margins[0]), "hundredth_margin": float(margins[-1]),
        "threads": threads, "candidates": candidates,
    }


def markdown(results, meta):
    from _timing import quiet

    lines = [
        "<!-- large_pool:begin (written by benchmarks/large_pool.py) -->",
        "## A pool larger than memory",
        "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine']}; {meta['date']}; {meta['threads']} intra-op "
        f"thread(s); load average {meta['load_before']} before, {meta['load_after']} after"
        + (f"; other processes used {meta['others_cores']:.2f} cores on average"
           if "others_cores" in meta else "")
        + (" (the machine was otherwise idle).  " if quiet(meta) else " (cores shared with other jobs).  "),
        "Pool: a float32 `np.memmap` of shape (n, 1, 28, 28) on local disk (MNIST images repeated), "
        f"scored by `DFALMargin(candidates={meta['candidates']})(lenet5, pool, n_instances=100)` "
        "in a fresh process (DeepFool L2, max_iter 50, overshoot 0.02, batches of 256). Peak RSS is the kernel's high-water mark (`VmHWM`), file pages "
        "included; `start` is the process after importing torch and loading the model.",
        "",
        "| pool images | file (MiB) | time (s) | samples/s | RSS at start (MiB) | peak RSS (MiB) | "
        "peak above start (MiB) | peak anonymous (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['rows']:,} | {r['file_mib']:.0f} | {r['time_s']:.0f} | {r['samples_per_s']:.0f} | "
            f"{r['rss_before_mib']:.0f} | {r['peak_rss_mib']:.0f} | {r['peak_rss_above_start_mib']:.0f} | "
            f"{r['peak_anon_mib']:.0f} |"
        )
    lines += [
        "",
        "The file never becomes resident: scored rows of the memmap are handed back to the kernel "
        "as the pass goes (`madvise(MADV_DONTNEED)` in `iter_pool`; without it the resident set "
        "grows by the file's size). Selection keeps only the best `n_instances` scores, and free "
        "heap pages are handed back every 16 batches (`malloc_trim`); "
        "`benchmarks/results/large_pool.progress.jsonl` records the resident set every 30 s.",
        "<!-- large_pool:end -->",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="images in the pool file")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000],
                    help="pool sizes scored (first rows of the file)")
    ap.add_argument("--path", default=str(CACHE_DIR / "skdfal_pool.f32"),
                    help="the pool file (default: in the cache folder)")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch intra-op threads; 0 (default) keeps torch's default, one per core")
    ap.add_argument("--candidates", type=int, default=None,
                    help="DFALMargin(candidates=...): None attacks every class")
    ap.add_argument("--keep", action="store_true", help="keep the pool file")
    ap.add_argument("--cache-dir", default=str(CACHE_DIR))
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "large_pool.json"))
    ap.add_argument("--doc", default=str(REPO / "docs" / "performance.md"))
    ap.add_argument("--score", nargs=2, type=int, metavar=("ROWS", "N_TOTAL"), help=argparse.SUPPRESS)
    ap.add_argument("--weights", help=argparse.SUPPRESS)
    ap.add_argument("--render", metavar="JSON", help="only rewrite the doc section from a results file")
    args = ap.parse_args(argv)
    log = str(Path(args.out).with_suffix(".progress.jsonl"))
    if args.render:
        from _timing import write_section

        saved = json.loads(Path(args.render).read_text())
        write_section(Path(args.doc), markdown(saved["results"], saved["meta"]), "large_pool")
        return
    if args.score:
        print(json.dumps(score(args.path, args.score[0], args.score[1], args.threads, args.weights,
                               args.candidates, log)))
        return

    from _timing import OtherCpuUse, load_average, run_meta, write_section

    data = load_data()
    _, info = get_model("lenet5", data, cache_dir=Path(args.cache_dir), epochs=2)  # train once, here
    path = Path(args.path)
    meta = {**run_meta("large_pool.py", argv), "candidates": args.candidates}
    meta["threads"] = args.threads or meta["threads"]
    others, t0 = OtherCpuUse(), time.perf_counter()
    make_pool(path, args.n, data)
    del data
    print(f"wrote {path} ({path.stat().st_size / 2**30:.2f} GiB) in {time.perf_counter() - t0:.0f} s", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for rows in args.sizes:
            cmd = [sys.executable, __file__, "--path", str(path), "--threads", str(args.threads),
                   "--weights", info["path"], "--out", args.out, "--score", str(rows), str(args.n)]
            if args.candidates:
                cmd += ["--candidates", str(args.candidates)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
            print(json.dumps(results[-1]), flush=True)
            meta["load_after"] = load_average()
            meta["others_cores"] = others.cores()
            Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
            if args.doc:
                write_section(Path(args.doc), markdown(results, meta), "large_pool")
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
