"""The runs and report of the stopping study (``studies/stopping_study.toml``; issue 21, item 3).

One DFAL run per data set and seed goes to 500 labels (the full run), with every rule
*watching* (never stopping it): after each round the rules are updated and
the row records which of them says "you may stop".  The report gives, per
data set and rule (mean and standard deviation over the seeds):

* the labels paid when the rule first fires;
* the validation accuracy there, the accuracy at the end of the run, and
  the difference (what stopping early gave up);
* the share of the run's labels saved.

The rules and their parameters are the study file's ``[run.rules]``:
:class:`~skdfal.StabilizingPredictions` (Bloodgood & Vijay-Shanker 2009: mean
kappa of 3 rounds >= 0.99 on a stop set of 1,000 pool samples),
:class:`~skdfal.MarginPlateau` (ours: margin quantiles q10 and q50 of a stop
set of 500 move by at most 5% for 3 rounds), and :class:`~skdfal.LabelBudget`
(300 labels) as the plain reference.

    skdfal benchmark --study benchmarks/studies/stopping_study.toml --data-dir DIR   # resumable
    skdfal benchmark --study benchmarks/studies/stopping_study.toml --report         # the table
    python benchmarks/stopping_study.py [--report]          # the same
    python benchmarks/stopping_study.py --tune              # other windows, thresholds, tolerances
    python benchmarks/stopping_study.py --semi-supervised   # studies/stopping_study_fixmatch.toml

With ``--semi-supervised`` (issue 32, item 5) every fit is the FixMatch fit of
issue 32 (900 steps, the whole pool unlabeled) and the run queries with the
strategy recommended with it; rows go to
``benchmarks/results/stopping_study_fixmatch/``.

Accuracy is measured on samples held out of the pool (validation), never on
a test set.  Each (data set, seed) is written to
``benchmarks/results/stopping_study/<dataset>-s<seed>.csv`` when it is
complete, so an interrupted study resumes at the first missing one.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _setup import STUDIES, markdown_table, study_main  # benchmarks/, the script's folder

from skdfal.experiments import load_study, study_rows
from skdfal.learners._stopping_rules import _relative_change

#: The rules the tuning replays (``--tune``), as stopping_study.toml watches them.
MARGIN_QUANTILES = (0.1, 0.5)


def make_rules(seed: int, rules) -> dict:
    """The rules of the study file's ``[run.rules]``, their stop sets drawn with ``seed``."""
    from skdfal import LabelBudget, MarginPlateau, StabilizingPredictions

    margin = {**rules["margin"], "quantiles": tuple(rules["margin"]["quantiles"])}
    return {
        "stable": StabilizingPredictions(**rules["stable"], random_state=seed),
        "margin": MarginPlateau(**margin, random_state=seed),
        "budget": LabelBudget(**rules["budget"]),
    }


def run_one(study, dataset: str, seed: int, data_dir, rules) -> pd.DataFrame:
    """One run of the study's strategy with every rule watching; one row per round."""
    from skdfal import make_classifier
    from skdfal.experiments import load_benchmark_data, make_strategy, simulate

    protocol = study.benchmark_kwargs(dataset)
    X_pool, y_pool, X_val, y_val = load_benchmark_data(
        dataset, None if dataset == "digits" else data_dir,
        validation_size=protocol["validation_size"], random_state=seed,
    )
    n_classes = len(np.unique(y_pool))
    name = study.strategies[0]
    strategy, adversarial = make_strategy(name)
    watching = make_rules(seed, rules)
    quantiles = watching["margin"].quantiles

    def record(row):
        for rule_name, rule in watching.items():
            row[f"stop_{rule_name}"] = bool(rule.decision_.stop)
        # What the rules watched, so that other windows and tolerances can be
        # evaluated from the rows without running again (see ``--tune``).
        kappas = getattr(watching["stable"], "kappas_", [])
        row["kappa"] = kappas[-1] if kappas else np.nan
        for q, value in zip(quantiles, watching["margin"].statistics_[-1], strict=True):
            row[f"margin_q{round(100 * q)}"] = value

    n_rounds = (protocol["budget"] - protocol["n_initial"]) // protocol["n_instances"]
    rows = simulate(
        lambda s: make_classifier("lenet5", input_shape=X_pool.shape[1:], n_classes=n_classes, random_state=s,
                                  **study.trainer),
        strategy, X_pool, y_pool, X_val, y_val, n_initial=protocol["n_initial"],
        n_instances=protocol["n_instances"], n_rounds=n_rounds, subsample=protocol["subsample"],
        adversarial_augmentation=adversarial,
        random_state=seed, strategy_name=name, on_round=record, stopping=list(watching.values()),
        learn_from_pool="semi_supervised" in study.trainer,
    )
    frame = pd.DataFrame(rows).drop(columns=["queried", "stop"], errors="ignore")
    frame.insert(0, "dataset", dataset)
    return frame


def summarize(frame: pd.DataFrame, rules) -> pd.DataFrame:
    """Per data set and rule: labels at the first stop, accuracy there and at the end (mean, sd)."""
    lines = []
    for (dataset, seed), run in frame.groupby(["dataset", "seed"]):
        run = run.sort_values("round")
        final = run.iloc[-1]
        for rule in rules:
            fired = run[run[f"stop_{rule}"]]
            at = fired.iloc[0] if len(fired) else final  # never fired: it would have run to the end
            lines.append({"dataset": dataset, "rule": rule, "seed": seed, "fired": bool(len(fired)),
                          "labels": at["n_labels"], "accuracy": at["accuracy"],
                          "final accuracy": final["accuracy"], "loss": final["accuracy"] - at["accuracy"],
                          "labels saved": 1 - at["n_labels"] / final["n_labels"]})
    per_seed = pd.DataFrame(lines)
    table = per_seed.groupby(["dataset", "rule"]).agg(
        seeds=("seed", "nunique"), fired=("fired", "sum"),
        labels=("labels", "mean"), labels_sd=("labels", "std"),
        accuracy=("accuracy", "mean"), accuracy_sd=("accuracy", "std"),
        final=("final accuracy", "mean"), loss=("loss", "mean"), saved=("labels saved", "mean"),
    )
    return table


def first_stops(run: pd.DataFrame, variant: tuple) -> int | None:
    """Position of the first round at which ``variant`` fires on one run's rows (``None``: never).

    Recomputed from the watched statistics the rows hold, so that windows,
    thresholds and tolerances the run did not use can be compared:
    ``("stable", window, threshold)``, ``("margin", quantiles, tol, window)``
    or ``("budget", n_labels)``; ``("hindsight", tol)`` is no rule: the first
    round whose accuracy is within ``tol`` of the run's last, the most any
    rule giving up at most ``tol`` could save.
    """
    kind, *params = variant
    if kind == "hindsight":  # no rule can know this: the first round within params[0] of the end
        accuracy = run["accuracy"].to_numpy()
        return int(np.flatnonzero(accuracy >= accuracy[-1] - params[0])[0])
    if kind == "budget":
        hits = np.flatnonzero(run["n_labels"].to_numpy() >= params[0])
        return int(hits[0]) if len(hits) else None
    if kind == "stable":
        window, threshold = params
        kappa = run["kappa"].to_numpy()
        for r in range(window, len(run)):  # kappas start at the second round
            if np.mean(kappa[r - window + 1:r + 1]) >= threshold:
                return r
        return None
    quantiles, tol, window = params
    values = run[[f"margin_q{round(100 * q)}" for q in quantiles]].to_numpy(dtype=np.float64)
    change = _relative_change(values[:-1], values[1:]).max(axis=1)  # MarginPlateau's own measure
    for r in range(window, len(run)):  # change[r - 1] is round r's change
        if change[r - window:r].max() <= tol:
            return r
    return None


STUDIED = {"stable": ("stable", 3, 0.99), "margin": ("margin", MARGIN_QUANTILES, 0.05, 3),
           "budget": ("budget", 300)}
CANDIDATES = (
    [("stable", w, t) for w in (2, 3, 4, 5, 6) for t in (0.98, 0.99, 0.995, 0.999)]
    + [("margin", q, tol, w) for q in ((0.1,), (0.5,), (0.1, 0.5)) for tol in (0.02, 0.05, 0.1, 0.15, 0.2)
       for w in (2, 3, 4, 5)]
    + [("budget", n) for n in range(100, 500, 20)]
)


def name_of(variant: tuple) -> str:
    kind, *params = variant
    if kind == "stable":
        return f"stable(window={params[0]}, kappa>={params[1]})"
    if kind == "margin":
        quantiles = "+".join(f"q{round(100 * q)}" for q in params[0])
        return f"margin({quantiles}, tol={params[1]}, window={params[2]})"
    if kind == "hindsight":
        return f"hindsight: first within {100 * params[0]:g} point of the end"
    return f"budget({params[0]})"


def variant_table(frame: pd.DataFrame, variants) -> pd.DataFrame:
    """Per variant and data set: mean labels at the stop, accuracy given up and share of labels saved."""
    lines = []
    for (dataset, seed), run in frame.groupby(["dataset", "seed"]):
        run = run.sort_values("round").reset_index(drop=True)
        final = run.iloc[-1]
        for variant in variants:
            at = first_stops(run, variant)
            row = run.iloc[len(run) - 1 if at is None else at]
            lines.append({"variant": name_of(variant), "kind": variant[0], "dataset": dataset, "seed": seed, "labels": row["n_labels"],
                          "loss": final["accuracy"] - row["accuracy"],
                          "saved": 1 - row["n_labels"] / final["n_labels"]})
    return pd.DataFrame(lines).groupby(["kind", "variant", "dataset"])[["labels", "loss", "saved"]].mean()


def choose(table: pd.DataFrame, datasets, max_loss: float = 0.01):
    """The variant of each rule that saves most labels on average over ``datasets`` while giving
    up at most ``max_loss`` on every one (the least worst loss where none does)."""
    over = table[table.index.get_level_values("dataset").isin(datasets)].groupby(["kind", "variant"]).agg(
        loss=("loss", "max"), saved=("saved", "mean"))
    chosen = {}
    for kind in ("stable", "margin", "budget"):
        mine = over.loc[kind]
        ok = mine[mine["loss"] <= max_loss + 1e-9]
        chosen[kind] = (ok.sort_values(["saved", "loss"], ascending=[False, True]).index[0] if len(ok)
                        else mine["loss"].idxmin())
    return chosen


def tune_report(frame: pd.DataFrame) -> str:
    """Which window, threshold or tolerance each rule needs, chosen on every data set at once, and
    how a choice made without a data set fares on it (leave one data set out)."""
    for (dataset, seed), run in frame.groupby(["dataset", "seed"]):  # the replay matches the run
        run = run.sort_values("round").reset_index(drop=True)
        for rule, variant in STUDIED.items():
            fired = np.flatnonzero(run[f"stop_{rule}"].to_numpy())
            if (int(fired[0]) if len(fired) else None) != first_stops(run, variant):
                raise RuntimeError(f"replaying {rule} on {dataset} seed {seed} disagrees with the run")
    hindsight = ("hindsight", 0.01)
    table = variant_table(frame, [*CANDIDATES, hindsight])
    datasets = sorted(frame["dataset"].unique())
    lines = ["Chosen on every data set at once (at most 1 point given up on each, most labels saved on "
             "average); cells: labels at the stop (accuracy given up, labels saved), means over seeds:", "",
             "| rule | worst given up | fewest labels saved | " + " | ".join(datasets) + " |",
             "|---|---|---|" + "---|" * len(datasets)]
    for kind, variant in [*choose(table, datasets).items(), ("hindsight", name_of(hindsight))]:
        rows = table.loc[(kind, variant)]
        cells = [f"{rows.loc[d, 'labels']:.0f} ({rows.loc[d, 'loss']:+.3f}, {rows.loc[d, 'saved']:.0%})"
                 for d in datasets]
        lines.append(f"| {variant} | {rows['loss'].max():+.3f} | {rows['saved'].min():.0%} | "
                     + " | ".join(cells) + " |")
    lines += ["", "Leave one data set out: chosen on the others, measured on it (labels at the stop, "
              "accuracy given up, labels saved):", "", "| held out | rule chosen without it | labels | "
              "given up | labels saved |", "|---|---|---|---|---|"]
    for held in datasets:
        for kind, variant in choose(table, [d for d in datasets if d != held]).items():
            r = table.loc[(kind, variant, held)]
            lines.append(f"| {held} | {variant} | {r['labels']:.0f} | {r['loss']:+.3f} | {r['saved']:.0%} |")
    return "\n".join(lines)


def markdown(table: pd.DataFrame, budget: int) -> str:
    """The table of docs/results.md: per data set and rule, where it fired and what that gave up."""
    return markdown_table(
        ["data set", "rule", "seeds (fired)", "labels at stop", "accuracy at stop", f"accuracy at {budget}",
         "given up", "labels saved"],
        ([dataset, rule, f"{int(r.seeds)} ({int(r.fired)})", f"{r.labels:.0f} ± {np.nan_to_num(r.labels_sd):.0f}",
          f"{r.accuracy:.3f} ± {np.nan_to_num(r.accuracy_sd):.3f}", f"{r.final:.3f}", f"{r.loss:+.3f}", f"{r.saved:.0%}"]
         for (dataset, rule), r in table.iterrows()))


def report(study, frames: dict[str, pd.DataFrame]) -> str:
    """The table of docs/results.md from the finished runs."""
    if not frames:
        return "no finished runs yet"
    frame = pd.concat(frames.values(), ignore_index=True)
    return markdown(summarize(frame, list(study.run["rules"])), study.protocol["budget"])


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    name = "stopping_study"
    if "--semi-supervised" in argv:  # FixMatch fits and the strategy recommended with them (issue 32)
        argv.remove("--semi-supervised")
        name = "stopping_study_fixmatch"
    if "--tune" in argv:  # only compare other windows, thresholds and tolerances on the finished runs
        frames = study_rows(load_study(STUDIES / f"{name}.toml"))
        print(tune_report(pd.concat(frames.values(), ignore_index=True)) if frames else "no finished runs yet")
        return
    study_main(name, argv)


if __name__ == "__main__":
    main()
