"""Tables, figures and target checks of the final comparison (``final_comparison.sh``).

    python benchmarks/report_final.py [--results docs/results/final] [--doc docs/results.md]

Reads the rows the comparison wrote so far and, per data set, summarizes two
horizons: every seed to 500 labels, and the seeds extended to 1,000 labels.
Only complete runs count (a run still going is left out), so a partial
results file gives a smaller but honest table.  Writes ``<dataset>_<horizon>``
summaries and plots next to the rows, and the markdown section between the
``<!-- final:begin -->`` / ``<!-- final:end -->`` markers of ``--doc``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd
from _setup import source_commit  # benchmarks/, the script's folder

from skdfal.experiments import paired_differences, save_learning_curves, summarize, summary_markdown

RECOMMENDED = "dfal_batch"
HORIZONS = {500: (60, 100, 200, 300, 500), 1000: (100, 200, 300, 500, 1000)}
TARGETS = (0.9, 0.95, 0.97)
BEGIN, END = "<!-- final:begin -->", "<!-- final:end -->"


def complete_runs(frame, horizon):
    """Rows up to ``horizon`` labels of the runs that reached it."""
    reached = frame.groupby(["strategy", "seed"])["n_labels"].transform("max") >= horizon
    return frame[reached & (frame["n_labels"] <= horizon)]


def _labels(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def check_targets(frame, table, horizon, name=RECOMMENDED):
    """The issue's four targets for ``name``: (target, met, evidence) triples."""
    if name not in table.index or "random" not in table.index:
        return []
    out = []
    ours, random = _labels(table.loc[name, "labels_to_0.95"]), _labels(table.loc["random", "labels_to_0.95"])
    if ours is None:
        out.append(("95% with at most half of random's labels", False, f"not reached by {horizon}"))
    elif random is None:
        met = ours <= horizon / 2 or None  # random needs more than `horizon`: half of it is a bound
        out.append(("95% with at most half of random's labels", met,
                    f"{ours} labels; random not reached by {horizon}"))
    else:
        out.append(("95% with at most half of random's labels", ours <= random / 2, f"{ours} vs random's {random}"))
    ours97 = _labels(table.loc[name, "labels_to_0.97"])
    others = {s: _labels(table.loc[s, "labels_to_0.97"]) for s in table.index if s != name}
    beaten_by = sorted(s for s, v in others.items() if v is not None and (ours97 is None or v <= ours97))
    evidence = f"{ours97 if ours97 is not None else 'not reached'}; "
    evidence += f"as early or earlier: {', '.join(beaten_by)}" if beaten_by else "every other strategy later or never"
    out.append(("97% before every other strategy", ours97 is not None and not beaten_by, evidence))
    if "badge" in table.index:
        a, b = table.loc[name, "aulc"], table.loc["badge", "aulc"]
        out.append(("area under the curve at least BADGE's", a >= b, f"{a:.4f} vs {b:.4f}"))
    budgets = sorted(n for n in frame["n_labels"].unique() if n >= 50)
    diffs = paired_differences(frame[frame["strategy"].isin([name, "random"])], budgets).loc[name]
    negative = diffs[diffs["mean"] < 0]
    evidence = ("none negative" if negative.empty else
                "negative at " + ", ".join(f"{int(b)} ({row['mean']:+.3f})" for b, row in negative.iterrows()))
    out.append(("paired difference to random not negative at any budget from 50", negative.empty,
                f"{len(budgets)} budgets; {evidence}"))
    return out


def section(results, dataset, horizon):
    path = results / f"{dataset}.csv"
    if not path.is_file():
        return None
    frame = complete_runs(pd.read_csv(path), horizon)
    if frame.empty:
        return None
    budgets = HORIZONS[horizon]
    table = summarize(frame, budgets=budgets, targets=TARGETS)
    stem = results / f"{dataset}_{horizon}"
    save_learning_curves(frame, stem, title=f"{dataset}, LeNet5: test accuracy vs labels paid")
    accuracy = [c for c in table.columns if c.startswith(("seeds", "acc@", "labels_to", "aulc", "drop"))]
    differences = [c for c in table.columns if c.startswith("diff@")]
    seconds = ["query_s", "fit_s", "eval_s"]
    runs = frame.groupby(["strategy", "seed"]).ngroups
    core_s = frame[["query_time", "fit_time", "eval_time"]].to_numpy().sum()
    lines = [
        f"### {dataset}, {runs} complete runs to {horizon} labels",
        "",
        f"![{dataset} to {horizon} labels]({stem.relative_to(results.parent.parent)}.png)",
        "",
        "Mean test accuracy ± std over seeds, labels to reach each accuracy (mean curve), area under "
        "the mean curve (aulc), share of rounds losing more than 2 points (drop rate):",
        "",
        summary_markdown(table[accuracy]),
        "",
        "Paired difference to random (mean over seeds, 95% interval):",
        "",
        summary_markdown(table[differences].dropna(how="all"))
        if differences else "(no random rows)",
        "",
        "Seconds per round (query, fit, evaluation on the test set; two runs at a time on 2 cores):",
        "",
        summary_markdown(table[seconds]),
        "",
        f"Compute: {core_s / 3600:.2f} core-hours of query + fit + evaluation for these rows.",
        "",
    ]
    checks = check_targets(frame, table, horizon)
    if checks:
        lines += [f"Targets for `{RECOMMENDED}` (issue 10) at this horizon:", "",
                  "| target | met | evidence |", "|---|---|---|"]
        word = {True: "yes", False: "**no**", None: "undetermined"}
        lines += [f"| {t} | {word[m]} | {e} |" for t, m, e in checks]
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("docs/results/final"))
    parser.add_argument("--doc", type=Path, default=None, help="markdown file with the final markers")
    args = parser.parse_args(argv)
    parts = [f"Generated by `python benchmarks/report_final.py --doc docs/results.md` "
             f"(report at commit {source_commit()})."]
    for dataset in ("mnist", "digits"):
        for horizon in HORIZONS:
            text = section(args.results, dataset, horizon)
            if text:
                parts.append(text)
    whole = args.results / "mnist_whole_pool.csv"
    if whole.is_file() and (args.results / "mnist.csv").is_file():
        frame = pd.concat([pd.read_csv(args.results / "mnist.csv"), pd.read_csv(whole)])
        frame = complete_runs(frame[frame["strategy"].isin(["random", "dfal", "dfal_screen"])], 500)
        if frame["strategy"].eq("dfal_screen").any():
            table = summarize(frame, budgets=HORIZONS[500], targets=TARGETS)
            parts.append("### Whole pool (dfal_screen) or 1,000 candidates (dfal), MNIST\n\n"
                         + summary_markdown(table) + "\n")
    warm = args.results / "mnist_warm.csv"
    if warm.is_file() and (args.results / "mnist.csv").is_file():
        scratch = pd.read_csv(args.results / "mnist.csv")
        warm_rows = pd.read_csv(warm).assign(strategy=lambda f: f["strategy"] + " (warm, 200 steps)")
        seeds = warm_rows["seed"].unique()
        scratch = scratch[scratch["strategy"].isin(["random", "dfal_batch"]) & scratch["seed"].isin(seeds)]
        frame = complete_runs(pd.concat([scratch, warm_rows]), 500)
        if frame["strategy"].str.contains("warm").any():
            table = summarize(frame, budgets=HORIZONS[500], targets=TARGETS)
            parts.append("### Warm start or retraining from scratch, MNIST (same seeds)\n\n"
                         + summary_markdown(table) + "\n")
    text = "\n".join(parts)
    print(text)
    if args.doc is not None:
        doc = args.doc.read_text()
        if BEGIN not in doc or END not in doc:
            raise SystemExit(f"{args.doc} has no {BEGIN} ... {END} markers")
        head, rest = doc.split(BEGIN, 1)
        args.doc.write_text(head + BEGIN + "\n" + text + "\n" + END + rest.split(END, 1)[1])


if __name__ == "__main__":
    main()
