"""Side-by-side DeepFool benchmark: skdfal vs torchattacks, ART, foolbox and a per-sample loop.

Run from the repository root (``pip install -e ".[bench]"`` first)::

    python benchmarks/deepfool_speed.py

On the same trained model and the same pool, every implementation attacks the
pool in L2 with all classes, ``max_iter=50`` (``steps``) and ``overshoot=0.02``
inside the image box [0, 1]; repetitions are interleaved (rep 1 of every
implementation, then rep 2 ...) and medians quoted.  Floors: one forward pass
and one full input Jacobian (every class, the faster of a loop of backward
passes and one batched backward).  Quality figures are computed here, from the
returned adversarial inputs, against skdfal's DeepFool on a float64 copy of
the model.  Results go to ``benchmarks/results/deepfool_speed.json`` and to a
section of ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _deepfool_others import (  # noqa: E402
    CLIP,
    MAX_ITER,
    OVERSHOOT,
    run_art,
    run_foolbox,
    run_loop,
    run_loop_backward,
    run_torchattacks,
)
from _setup import CACHE_DIR, MNIST_DIR, REPO, get_model, load_data  # noqa: E402
from _timing import (  # noqa: E402
    OtherCpuUse,
    PeakRSS,
    clock,
    fmt,
    load_average,
    publish,
    quiet,
    run_meta,
    write_section,
)

from skdfal import deepfool  # noqa: E402

SLOW = {"torchattacks", "art", "art_b256", "loop", "loop_backward"}


# ---------------------------------------------------------- implementations
# Each returns (x_adv, per-sample iterations or None).
def run_skdfal(model, X, **kw):
    res = deepfool(model, X, max_iter=MAX_ITER, overshoot=OVERSHOOT, **kw)
    return X + res.perturbations, res.n_iter.double()


# ------------------------------------------------------------------- floors
def floor_forward(model, X):
    with torch.no_grad():
        model(X)


def floor_jacobian(model, X, chunk=256):
    """Full input Jacobian (every class) of the pool, the faster of two batchings.

    One backward pass per class over a shared forward graph, either on the
    whole pool at once or in chunks of ``chunk`` samples (on this CPU the
    chunks are faster: the activations stay in cache).  A single batched
    backward (``is_grads_batched``) was never faster and is not tried.
    """
    best = math.inf
    for step in (len(X), chunk):
        t0 = clock()
        for start in range(0, len(X), step):
            x = X[start : start + step].clone().requires_grad_(True)
            out = model(x)
            k = out.shape[1]
            for j in range(k):
                torch.autograd.grad(out[:, j].sum(), x, retain_graph=j < k - 1)
        best = min(best, clock() - t0)
    return best


# ---------------------------------------------------------------- quality
def quality(model, X, labels, x_adv, ref_norms):
    from scipy.stats import spearmanr

    with torch.no_grad():
        adv_pred = torch.cat([model(x_adv[i : i + 500].float()).argmax(1) for i in range(0, len(X), 500)])
    flipped = (adv_pred != labels).cpu().numpy()
    norms = torch.linalg.vector_norm((x_adv.double() - X.double()).flatten(1), dim=1).cpu().numpy()
    # Ranked as DFAL would rank them: a sample that does not flip is infinitely far.
    ranked = np.where(flipped, norms, np.inf)
    k = max(1, len(X) // 10)
    small = set(np.argsort(ranked, kind="stable")[:k].tolist())
    small_ref = set(np.argsort(ref_norms, kind="stable")[:k].tolist())
    return {
        "flipped": float(flipped.mean()),
        "spearman": float(spearmanr(ranked, ref_norms).statistic),
        "overlap10": len(small & small_ref) / k,
        "median_norm": float(np.median(norms[flipped])) if flipped.any() else math.nan,
    }


# ---------------------------------------------------------------- the bench
def bench_arch(arch, data, args):
    # VGG8 is ~40x LeNet5's flops: one epoch is enough for ~98% test accuracy.
    epochs, n_train = (args.epochs, args.n_train) if arch == "lenet5" else (1, args.n_train)
    model, info = get_model(arch, data, cache_dir=args.cache_dir, epochs=epochs, n_train=n_train)
    print(f"[{arch}] {info}", flush=True)
    if not args.as_trained:
        # Conservative for skdfal: the others get weights already frozen, so
        # they do not pay for weight gradients that skdfal avoids by design.
        for p in model.parameters():
            p.requires_grad_(False)
    n = args.n_pool if arch == "lenet5" else args.n_pool_vgg8
    model.to(args.device)
    X = torch.from_numpy(np.ascontiguousarray(data[2][:n])).to(args.device)
    with torch.no_grad():
        labels = model(X).argmax(1)
    m64 = copy.deepcopy(model).double()
    refs = {}
    for clip in (None, CLIP):
        ref = deepfool(m64, X.double(), max_iter=MAX_ITER, overshoot=OVERSHOOT, clip=clip)
        refs[clip] = (np.where(ref.converged.cpu().numpy(), ref.norms.cpu().numpy(), np.inf), ref)
    ref = refs[None][1]

    # Per-sample implementations cost the same per sample whatever the pool
    # size: on a loaded machine they attack only the first n_slow samples.
    n_slow = min(n, args.n_slow if arch == "lenet5" else args.n_slow_vgg8)
    Xs, labels_s = X[:n_slow], labels[:n_slow]
    impls = {
        "skdfal": lambda: run_skdfal(model, X),
        "skdfal_k4": lambda: run_skdfal(model, X, candidates=4),
        "skdfal_box": lambda: run_skdfal(model, X, clip=CLIP),
        "foolbox": lambda: run_foolbox(model, X, labels),
        "art": lambda: run_art(model, Xs, batch_size=1),
        "art_b256": lambda: run_art(model, X, batch_size=256),
        "loop": lambda: run_loop(model, Xs),
        "loop_backward": lambda: run_loop_backward(model, Xs),
        "torchattacks": lambda: run_torchattacks(model, Xs, labels_s),
    }
    sizes = {k: (n_slow if k in ("art", "loop", "loop_backward", "torchattacks") else n) for k in impls}
    impls = {k: v for k, v in impls.items() if k not in args.skip}
    times = {k: [] for k in impls}
    times["forward"], times["jacobian"] = [], []
    mem, gpu_mem, out = {}, {}, {}
    for rep in range(args.reps):
        t0 = clock()
        floor_forward(model, X)
        times["forward"].append(clock() - t0)
        times["jacobian"].append(floor_jacobian(model, X))
        for name, fn in impls.items():
            if name in SLOW and rep >= args.slow_reps:
                continue
            if X.is_cuda:
                torch.cuda.reset_peak_memory_stats(X.device)
                gpu_base = torch.cuda.memory_allocated(X.device)
            with PeakRSS() as peak:
                t0 = clock()
                x_adv, iters = fn()
                dt = clock() - t0
            times[name].append(dt)
            mem[name] = max(mem.get(name, 0.0), peak.extra_mb)
            if X.is_cuda:
                gpu_extra = (torch.cuda.max_memory_allocated(X.device) - gpu_base) / 2**20
                gpu_mem[name] = max(gpu_mem.get(name, 0.0), gpu_extra)
            out[name] = (x_adv.detach(), iters)
            print(f"  [{arch} rep {rep}] {name:14s} {dt:8.3f} s  load {os.getloadavg()[0]:.1f}", flush=True)

    t_fwd = statistics.median(times["forward"])
    t_jac = statistics.median(times["jacobian"])
    t_sk = statistics.median(times["skdfal"])
    rows = []
    for name in impls:
        t = statistics.median(times[name])
        m = sizes[name]
        x_adv, iters = out[name]
        # Boxed attacks are compared with the boxed float64 reference.
        ref_norms = refs[CLIP if name in ("skdfal_box", "torchattacks") else None][0][:m]
        q = quality(model, X[:m], labels[:m], x_adv, ref_norms)
        mean_iter = float(iters.mean()) if iters is not None else math.nan
        rows.append({
            "implementation": name, "time_s": t, "times_s": times[name], "n_samples": m,
            "samples_per_s": m / t, "x_slower_than_skdfal": (t / m) / (t_sk / n), "mean_iter": mean_iter,
            "x_floor": (t / m) / (mean_iter * t_jac / n) if iters is not None else math.nan,
            "peak_extra_rss_mb": mem[name], "peak_extra_gpu_mb": gpu_mem.get(name, math.nan), **q,
        })
    return {
        "arch": arch, "n_pool": n, "model": info, "forward_s": t_fwd, "jacobian_s": t_jac,
        "times_forward_s": times["forward"], "times_jacobian_s": times["jacobian"],
        "float64_reference_mean_iter": float(ref.n_iter.double().mean()),
        "float64_reference_flipped": float(ref.converged.double().mean()),
        "float64_box_reference_mean_iter": float(refs[CLIP][1].n_iter.double().mean()),
        "rows": rows,
    }


LABELS = {
    "skdfal": "skdfal `deepfool` (default, all classes)",
    "skdfal_k4": "skdfal `deepfool(candidates=4)`",
    "skdfal_box": "skdfal `deepfool(clip=(0, 1))` (*box*)",
    "foolbox": "foolbox `L2DeepFoolAttack`",
    "art": "ART `DeepFool` (its default batch_size=1)",
    "art_b256": "ART `DeepFool(batch_size=256)`",
    "loop": "per-sample, per-class reference loop (`autograd.grad` on the input)",
    "loop_backward": "per-sample loop, DeepAL-style (`.backward()` into `x.grad`, host-side norms)",
    "torchattacks": "torchattacks `DeepFool` (*box*)",
}


TARGETS = [  # (what, implementation, field, threshold, at least?)
    ("throughput vs torchattacks", "torchattacks", "x_slower_than_skdfal", 50, True),
    ("throughput vs ART", "art", "x_slower_than_skdfal", 25, True),
    ("throughput vs the per-sample loop (lean)", "loop", "x_slower_than_skdfal", 25, True),
    ("throughput vs the per-sample loop (DeepAL-style)", "loop_backward", "x_slower_than_skdfal", 25, True),
    ("throughput vs foolbox", "foolbox", "x_slower_than_skdfal", 4, True),
    ("time / floor (mean iterations x Jacobian)", "skdfal", "x_floor", 1.3, False),
    ("Spearman vs float64", "skdfal", "spearman", 0.999, True),
    ("share of samples flipped", "skdfal", "flipped", 1.0, True),
    ("candidates=4: speed-up over all classes", "skdfal_k4", "speedup", 2, True),
    ("candidates=4: overlap of the 10% smallest", "skdfal_k4", "overlap10", 0.99, True),
]


def target_lines(res):
    rows = {r["implementation"]: r for r in res["rows"]}
    lines = ["| target (issue point 2) | measured | met |", "|---|---:|:---:|"]
    for what, impl, field, threshold, at_least in TARGETS:
        if impl not in rows:
            continue
        if field == "speedup":
            value = 1.0 / rows[impl]["x_slower_than_skdfal"]
        else:
            value = rows[impl][field]
        ok = value >= threshold if at_least else value <= threshold
        sign = ">=" if at_least else "<="
        lines.append(f"| {what} {sign} {threshold:g} | {value:.4g} | {'yes' if ok else '**no**'} |")
    return lines


def _gpu_mb(row) -> str:
    gpu = row.get("peak_extra_gpu_mb", math.nan)
    return "" if math.isnan(gpu) else f" (GPU {gpu:.0f})"


def markdown(results, meta, tag="deepfool_speed"):
    threads = meta["threads"]
    title = f"DeepFool side by side, {threads} thread{'s' if threads != 1 else ''} on {meta.get('device', 'cpu')}: "
    if meta.get("as_trained"):
        title += "the model as users hold it (weights requiring grad)"
    else:
        title += "weights frozen for every implementation"
    lines = [
        f"<!-- {tag}:begin (written by benchmarks/deepfool_speed.py) -->",
        f"## {title}",
        "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine']}  ",
        f"Run: {meta['date']}; torch {meta['torch']}, {meta['threads']} intra-op threads, "
        f"device {meta.get('device', 'cpu')}; "
        f"load average {meta['load_before']} before, {meta['load_after']} after"
        + (f"; other processes used {meta['others_cores']:.2f} cores on average during the run "
           if "others_cores" in meta else " ")
        + ("(the machine was otherwise idle).  " if quiet(meta) else
           "(the machine's cores were shared with other jobs: read ratios, not absolute times).  "),
        f"Data: {meta['data']}; L2, all classes, max_iter/steps {MAX_ITER}, overshoot {OVERSHOOT}, "
        "no input box (the library default of skdfal and ART; foolbox gets bounds wide enough never "
        "to bind), except the rows marked *box*: torchattacks always clamps to [0, 1], and "
        "`skdfal_box` is `deepfool(clip=(0, 1))`, both compared with the boxed float64 reference. "
        f"Medians over {meta['reps']} interleaved repetitions ({meta['slow_reps']} for the "
        f"per-sample implementations, which attack the pool's first {meta['n_slow']} samples only "
        f"({meta['n_slow_vgg8']} for VGG8): "
        "their cost per sample does not depend on the pool size, and ratios are per sample).",
        "",
    ]
    for res in results:
        lines += [
            f"### {res['arch']}: {res['n_pool']} test images "
            f"(model {res['model']['status']}, test accuracy {res['model']['test_accuracy']:.4f})",
            "",
            f"Floors: one forward pass {res['forward_s'] * 1e3:.1f} ms; one full 10-class input "
            f"Jacobian of the pool {res['jacobian_s'] * 1e3:.1f} ms (the faster of one batch and "
            "chunks of 256). The float64 reference needs "
            f"{res['float64_reference_mean_iter']:.2f} iterations on average and flips "
            f"{res['float64_reference_flipped']:.1%} of the samples.",
            "",
            "| implementation | samples | time (s) | samples/s | x slower than skdfal | x floor | mean iter | "
            "flipped | Spearman vs float64 | 10% smallest overlap | peak extra RSS (MB) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in res["rows"]:
            lines.append(
                f"| {LABELS[r['implementation']]} | {r['n_samples']} | {r['time_s']:.3f} | {r['samples_per_s']:.0f} | "
                f"{r['x_slower_than_skdfal']:.2f} | {fmt(r['x_floor'], '.2f')} | "
                f"{fmt(r['mean_iter'], '.2f')} | {r['flipped']:.1%} | {r['spearman']:.4f} | "
                f"{r['overlap10']:.2f} | {r['peak_extra_rss_mb']:.0f}{_gpu_mb(r)} |"
            )
        lines.append("")
        if res["arch"] == "lenet5":
            lines += ["Against the issue's targets (LeNet5, ratios per sample, this run):", ""]
            lines += target_lines(res) + [""]
    lines += [
        "`x floor` is the time over (the implementation's own mean iterations x one full "
        "Jacobian); n/a where the library does not say how many steps each sample took. "
        "`flipped` is checked here by predicting on the returned input. Spearman and overlap rank "
        "unflipped samples last, as DFAL would.",
        f"<!-- {tag}:end -->",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archs", nargs="+", default=["lenet5", "vgg8"], choices=["lenet5", "vgg8"])
    ap.add_argument("--n-pool", type=int, default=1000, help="pool size for LeNet5")
    ap.add_argument("--n-pool-vgg8", type=int, default=200, help="pool size for VGG8")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--slow-reps", type=int, default=2, help="repetitions of the slow implementations")
    ap.add_argument("--n-slow", type=int, default=100,
                    help="samples (the pool's first) attacked by the per-sample implementations")
    ap.add_argument("--n-slow-vgg8", type=int, default=50)
    ap.add_argument("--skip", nargs="*", default=["art_b256"], help="implementations to leave out")
    ap.add_argument("--epochs", type=int, default=2, help="LeNet5 training epochs")
    ap.add_argument("--n-train", type=int, default=60000, help="LeNet5 training images")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch intra-op threads; 0 (default) keeps torch's default, one per core. "
                         "Use 1 on cores shared with other jobs: more threads then mostly wait "
                         "for each other")
    ap.add_argument("--mnist-dir", default=str(MNIST_DIR))
    ap.add_argument("--cache-dir", default=str(CACHE_DIR))
    ap.add_argument("--device", default="cpu",
                    help="where the model and pool live (e.g. cuda); every implementation runs there")
    ap.add_argument("--as-trained", action="store_true",
                    help="give every implementation the model as trained (weights requiring grad, "
                         "as users hold it) instead of frozen weights")
    ap.add_argument("--tag", default="deepfool_speed", help="name of the results file and doc section")
    ap.add_argument("--out", default=None, help="results file (default benchmarks/results/TAG.json)")
    ap.add_argument("--doc", default=str(REPO / "docs" / "performance.md"))
    ap.add_argument("--render", metavar="JSON", help="only rewrite the doc section from a results file")
    args = ap.parse_args(argv)
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        write_section(Path(args.doc), markdown(saved["results"], saved["meta"], args.tag), args.tag)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_data(args.mnist_dir)
    meta = {**run_meta("deepfool_speed.py", argv, args.device), "data": data[4], "as_trained": args.as_trained,
            "reps": args.reps, "slow_reps": args.slow_reps, "n_slow": args.n_slow, "n_slow_vgg8": args.n_slow_vgg8}
    results = []
    others = OtherCpuUse()
    for arch in args.archs:
        results.append(bench_arch(arch, data, args))
    meta["others_cores"] = others.cores()
    meta["load_after"] = load_average()
    publish(meta, results, markdown(results, meta, args.tag), tag=args.tag, out=args.out, doc=args.doc)


if __name__ == "__main__":
    main()
