"""DFAL screening mode against exact all-class DFAL on MNIST's 60,000 training images.

Run from the repository root on an otherwise idle machine (``pip install -e ".[bench]"``)::

    python benchmarks/screening.py --mnist-dir ../shared/data/mnist

For each trained model (LeNet5 and VGG8, from a weak early-round model on 20
labels to one trained on all 60,000 images) the whole training set is the
pool.  Exact mode is ``DFALMargin().score`` (DeepFool, every class, L2,
max_iter 50, overshoot 0.02, on every sample: the work of an exact query,
and every norm, so that the exact top-n is known for each n); screening is
``DFALMargin(screening=True)`` through :func:`skdfal.strategies.screen_pool`
(top-2 first-order margins, exact DeepFool on the adaptive shortlist), once
per query size n.  Reported per model and n: times, the speed-up, the overlap
of the selected top-n with exact mode's, whether picks and norms are exactly
exact mode's, and the shortlist.  Repetitions are interleaved (exact, then
each n) and medians quoted; the first-order pass alone is timed too.

Results go to ``benchmarks/results/screening.json`` (``--out``); ``--doc
docs/performance.md`` also writes the table there.  torch's default threads
unless ``--threads``; ``--device cuda`` runs models and pool on the GPU.

Run time on an idle 2-core CPU: the four LeNet5 models take about 25
minutes (exact passes of 1-2.5 minutes each); each VGG8 model adds its exact
pass, 19 minutes for the one on 1,000 labels and more for weaker ones (the
published table used ``--vgg-labels 1000``).  Trained models are cached
under ``--cache-dir`` for later runs.  ``--pool-size 2000`` with small
models checks the script end to end in a few minutes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# The checkout's skdfal, not another installed copy.
sys.path.insert(0, str(HERE.parent))
from _setup import CACHE_DIR, get_model, load_data, source_commit  # noqa: E402
from _timing import OtherCpuUse, clock, load_average, publish, run_meta, write_section  # noqa: E402

import skdfal  # noqa: E402
from skdfal import DFALMargin  # noqa: E402
from skdfal.attacks import first_order_margins  # noqa: E402
from skdfal.strategies import screen_pool  # noqa: E402

TARGET_SPEEDUP, TARGET_OVERLAP = 5.0, 0.95
#: Epochs by training-set size: the active-learning default (30) for small
#: labelled sets; on all 60,000 images, as in deepfool_speed.py.
FULL_EPOCHS = {"lenet5": 2, "vgg8": 1}


def epochs_for(arch, n_labels):
    return 30 if n_labels <= 5000 else FULL_EPOCHS[arch]


def first_order_pass(module, pool, batch_size, device):
    for start in range(0, len(pool), batch_size):
        x = torch.as_tensor(pool[start : start + batch_size]).to(device)
        first_order_margins(module, x, batch_size=None)


def _max_rel_diff(got, ref):
    """Largest relative difference of two norm vectors (equal infinities agree)."""
    both = np.isfinite(got) & np.isfinite(ref)
    if (np.isinf(got) != np.isinf(ref)).any():
        return math.inf
    return float(np.max(np.abs(got[both] / ref[both] - 1), initial=0.0))


def bench_model(arch, n_labels, data, pool, args):
    epochs = epochs_for(arch, n_labels)
    module, info = get_model(arch, data, cache_dir=args.cache_dir, epochs=epochs, n_train=n_labels)
    module.to(args.device)
    print(f"[{arch}, {n_labels} labels] {info}", flush=True)
    times = {"exact": [], "first_order": [], **{n: [] for n in args.n}}
    runs, exact = {}, None
    for rep in range(args.reps):
        t0 = clock()
        norms = DFALMargin(batch_size=args.batch_size).score(module, pool)
        times["exact"].append(clock() - t0)
        exact = norms if exact is None else exact
        t0 = clock()
        first_order_pass(module, pool, args.batch_size, args.device)
        times["first_order"].append(clock() - t0)
        for n in args.n:
            t0 = clock()
            runs[n] = screen_pool(module, pool, n, batch_size=args.batch_size, random_state=0,
                                  screening_candidates=args.screening_candidates)
            times[n].append(clock() - t0)
            print(f"  rep {rep} n={n}: {times[n][-1]:.1f} s (exact {times['exact'][-1]:.1f} s), "
                  f"shortlist {runs[n].shortlist_sizes}, load {os.getloadavg()[0]:.1f}", flush=True)
    t_exact = statistics.median(times["exact"])
    rows = []
    for n in args.n:
        res, t = runs[n], statistics.median(times[n])
        truth = np.argsort(exact, kind="stable")[:n]
        same = np.array_equal(res.indices, truth)
        rows.append({
            "n": n, "time_s": t, "times_s": times[n], "speedup": t_exact / t,
            "overlap": len(set(res.indices.tolist()) & set(truth.tolist())) / n,
            "same_picks_in_order": bool(same),
            "max_rel_norm_diff": _max_rel_diff(res.margins, exact[res.indices]),
            "shortlist_sizes": list(res.shortlist_sizes), "n_attacked": res.n_attacked,
            "ratio": res.ratio, "threshold": res.threshold,
        })
    return {
        "arch": arch, "labels": n_labels, "epochs": epochs, "model": info, "n_pool": len(pool),
        "exact_s": t_exact, "exact_times_s": times["exact"],
        "first_order_s": statistics.median(times["first_order"]),
        "exact_unflipped": int(np.isinf(exact).sum()), "rows": rows,
    }


def markdown(results, meta, tag="screening"):
    quiet = meta.get("others_cores", math.inf) < 0.2
    lines = [
        f"<!-- {tag}:begin (written by benchmarks/screening.py) -->",
        f"## DFAL screening mode vs exact all-class DFAL, {meta['n_pool']:,} pool images",
        "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine']}  ",
        f"Run: {meta['date']}, commit {meta.get('commit', 'not recorded')}; torch {meta['torch']}, {meta['threads']} intra-op threads, device "
        f"{meta['device']}; load average {meta['load_before']} before, {meta['load_after']} after; "
        f"other processes used {meta['others_cores']:.2f} cores on average "
        + ("(the machine was otherwise idle).  " if quiet else
           "(**the cores were shared with other jobs: read ratios, not absolute times**).  "),
        f"Pool: {meta['data']}. Exact: `DFALMargin().score` (DeepFool L2, every class, max_iter 50, "
        "overshoot 0.02, batches of 256). Screening: `DFALMargin(screening=True)` "
        f"(`screen_pool`: first-order margins to the {meta.get('screening_candidates', 2) - 1} "
        "runner-up class(es), exact DeepFool on the adaptive shortlist), "
        f"one query per n. Medians over {meta['reps']} interleaved repetition(s).",
        "",
        "| net | labels | test acc. | exact (s) | first-order pass (s) | n | screening (s) | x faster "
        "| overlap | same picks | shortlist (by round) | attacked exactly |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---|---:|",
    ]
    for res in results:
        for r in res["rows"]:
            lines.append(
                f"| {res['arch']} | {res['labels']:,} | {res['model']['test_accuracy']:.3f} | "
                f"{res['exact_s']:.1f} | {res['first_order_s']:.1f} | {r['n']:,} | {r['time_s']:.1f} | "
                f"{r['speedup']:.1f} | {r['overlap']:.3f} | {'yes' if r['same_picks_in_order'] else 'no'} | "
                f"{' -> '.join(f'{s:,}' for s in r['shortlist_sizes'])} | {r['n_attacked']:,} |"
            )
    lines += ["", "Over the models, per n (issue 14: at least "
              f"{TARGET_SPEEDUP:g}x faster, overlap at least {TARGET_OVERLAP}):", "",
              "| n | models | overlap min / median | x faster min / median | targets met |",
              "|---:|---:|---|---|:---:|"]
    for n in meta["n"]:
        rows = [r for res in results for r in res["rows"] if r["n"] == n]
        ov, sp = [r["overlap"] for r in rows], [r["speedup"] for r in rows]
        met = min(ov) >= TARGET_OVERLAP and min(sp) >= TARGET_SPEEDUP
        lines.append(f"| {n:,} | {len(rows)} | {min(ov):.3f} / {statistics.median(ov):.3f} | "
                     f"{min(sp):.1f} / {statistics.median(sp):.1f} | {'yes' if met else '**no**'} |")
    lines += ["", "`overlap`: share of the screening picks among exact mode's n smallest norms; "
              "`same picks`: the same samples in the same order; `attacked exactly`: shortlist plus "
              "the evenly spaced probe.", f"<!-- {tag}:end -->"]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mnist-dir", required=True, help="folder of MNIST's IDX files (nothing is assumed)")
    ap.add_argument("--pool-size", type=int, default=60000, help="the first N training images")
    ap.add_argument("--n", type=int, nargs="+", default=[10, 100, 1000], help="query sizes")
    ap.add_argument("--lenet-labels", type=int, nargs="*", default=[20, 200, 1000, 60000],
                    help="training-set sizes of the LeNet5 models (the first N training images)")
    ap.add_argument("--vgg-labels", type=int, nargs="*", default=[20, 1000, 60000])
    ap.add_argument("--screening-candidates", type=int, default=2,
                    help="classes of the first-order margin (the prediction included)")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=0, help="0 (default): torch's default threads")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--cache-dir", default=str(CACHE_DIR))
    ap.add_argument("--tag", default="screening")
    ap.add_argument("--out", default=None, help="results file (default benchmarks/results/TAG.json)")
    ap.add_argument("--doc", default=None, help="also write the table into this markdown file")
    ap.add_argument("--render", metavar="JSON", help="only print (and --doc) the table of a results file")
    args = ap.parse_args(argv)
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        md = markdown(saved["results"], saved["meta"], args.tag)
        print(md)
        if args.doc:
            write_section(Path(args.doc), md, args.tag)
        return
    if max(args.n) > args.pool_size:
        ap.error(f"--n {max(args.n)} is larger than --pool-size {args.pool_size}")
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_data(args.mnist_dir, fallback=False)
    pool = np.ascontiguousarray(data[0][: args.pool_size])
    if torch.device(args.device).type == "cuda":
        pool = torch.from_numpy(pool).to(args.device)
    meta = {
        **run_meta("screening.py", argv, args.device), "commit": source_commit(),
        "data": f"MNIST training images 0-{len(pool) - 1}", "n_pool": len(pool), "n": args.n,
        "reps": args.reps, "skdfal": str(Path(skdfal.__file__).parent),
        "screening_candidates": args.screening_candidates,
    }
    others = OtherCpuUse()
    results = [bench_model("lenet5", k, data, pool, args) for k in args.lenet_labels]
    results += [bench_model("vgg8", k, data, pool, args) for k in args.vgg_labels]
    meta["others_cores"] = others.cores()
    meta["load_after"] = load_average()
    publish(meta, results, markdown(results, meta, args.tag), tag=args.tag, out=args.out, doc=args.doc)


if __name__ == "__main__":
    main()
