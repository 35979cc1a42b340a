"""Plots render to PNG and show what they claim (Agg backend, nothing shown)."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from skdfal import ActiveLearningClassifier, DFALMargin, RandomSampling  # noqa: E402
from skdfal.plotting import (  # noqa: E402
    plot_learning_curves,
    plot_margin_distribution,
    plot_paired_differences,
    plot_query_gallery,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _png(fig, path):
    fig.savefig(path, dpi=60)
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_learning_curves_of_fitted_estimators(digits, tmp_path):
    X, y = digits
    X = X[:300].reshape(300, -1)
    fitted = [
        ActiveLearningClassifier(
            LogisticRegression(max_iter=200), RandomSampling(), n_initial=10, n_instances=10,
            budget=40, validation_size=100, random_state=seed,
        ).fit(X, y[:300])
        for seed in (0, 1)
    ]
    ax = plot_learning_curves(fitted[0])
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [10, 20, 30, 40])
    np.testing.assert_allclose(line.get_ydata(), [r["accuracy"] for r in fitted[0].learning_curve_])
    # Several fits: one line, the mean over seeds.
    ax = plot_learning_curves(fitted)
    (line,) = ax.get_lines()
    mean = np.mean([[r["accuracy"] for r in est.learning_curve_] for est in fitted], axis=0)
    np.testing.assert_allclose(line.get_ydata(), mean)
    assert line.get_label() == "RandomSampling"
    _png(ax.figure, tmp_path / "curves.png")


@pytest.mark.slow  # attacks and draws a gallery
def test_query_gallery_shows_real_attacks(fitted_net, digits, tmp_path):
    X, y = digits
    pool = X[600:700]
    axes = plot_query_gallery(fitted_net, pool, n_images=4)
    assert axes.shape == (4, 3)
    assert all(len(ax.images) == 1 for ax in axes.ravel())
    expected, _ = DFALMargin()(fitted_net, pool, n_instances=4)  # default: DFAL's picks
    for row, idx in enumerate(expected):
        clean_title, pert_title, adv_title = (ax.get_title() for ax in axes[row])
        shown = re.match(r"#(\d+): predicted (\d+)", clean_title)
        assert int(shown.group(1)) == idx
        assert int(shown.group(2)) == fitted_net.predict(pool[idx : idx + 1])[0]
        # The adversarial image on screen really is classified as its title says.
        adv = np.asarray(axes[row, 2].images[0].get_array(), dtype=np.float32).reshape(1, 1, 8, 8)
        adv_label = int(re.search(r"adversarial: predicted (\d+)", adv_title).group(1))
        assert fitted_net.predict(adv)[0] == adv_label != int(shown.group(2))
        # And the perturbation panel is the difference of the two images.
        diff = adv.reshape(8, 8) - pool[idx, 0]
        np.testing.assert_allclose(axes[row, 1].images[0].get_array(), diff, atol=1e-5)
        norm = float(re.search(r"\|r\|=([0-9.e+-]+)", pert_title).group(1))
        assert norm == pytest.approx(np.linalg.norm(diff), rel=1e-2)
        # Its colour scale is symmetric around 0 and has a colour bar.
        image = axes[row, 1].images[0]
        assert image.colorbar is not None
        assert image.norm.vmin == pytest.approx(-np.abs(diff).max(), rel=1e-4) == -image.norm.vmax
    _png(axes[0, 0].figure, tmp_path / "gallery.png")


def test_query_gallery_names_the_true_and_the_predicted_label(fitted_net, digits, tmp_path):
    X, y = digits
    pool, truth = X[600:700], y[600:700]
    predicted = fitted_net.predict(pool)
    wrong, right = np.flatnonzero(predicted != truth)[0], np.flatnonzero(predicted == truth)[0]
    axes = plot_query_gallery(fitted_net, pool, [wrong, right], y=truth, class_names=[f"c{k}" for k in range(10)])
    title = axes[0, 0].title
    assert title.get_text() == f"#{wrong}: predicted c{predicted[wrong]}\ntrue c{truth[wrong]} (wrong)"
    assert matplotlib.colors.same_color(title.get_color(), "tab:red")
    assert axes[1, 0].get_title() == f"#{right}: predicted c{predicted[right]}\ntrue c{truth[right]}"
    assert not matplotlib.colors.same_color(axes[1, 0].title.get_color(), "tab:red")
    assert re.fullmatch(r"(adversarial|not flipped): predicted c\d", axes[0, 2].get_title())
    _png(axes[0, 0].figure, tmp_path / "gallery_truth.png")


@pytest.mark.slow  # an active-learning fit of a CNN
def test_query_gallery_of_an_active_learning_classifier(digits, tmp_path):
    from skdfal import make_classifier

    X, y = digits
    X, y = X[:300], y[:300]
    net = make_classifier("lenet5", input_shape=(1, 8, 8), max_epochs=10, lr=1e-2, batch_size=16)
    clf = ActiveLearningClassifier(net, DFALMargin(), n_initial=20, n_instances=5, budget=30, random_state=0)
    clf.fit(X, y)
    axes = plot_query_gallery(clf, X, n_images=3)
    # By default the gallery shows what the run queried, in query order.
    shown = [int(re.match(r"#(\d+):", ax.get_title()).group(1)) for ax in axes[:, 0]]
    assert shown == clf.queried_indices_[:3].tolist()
    np.testing.assert_allclose(axes[0, 0].images[0].get_array(), X[shown[0], 0])
    _png(axes[0, 0].figure, tmp_path / "gallery_clf.png")


def test_margin_distribution_counts_every_sample(fitted_net, digits, tmp_path):
    X, _ = digits
    pool = X[600:800]
    norms = DFALMargin().score(fitted_net, pool)
    queried = np.argsort(norms)[:10]
    ax = plot_margin_distribution(fitted_net, pool, queried=queried, bins=15)
    pool_bars, queried_bars = ax.containers
    finite = np.isfinite(norms)
    counts, _ = np.histogram(norms[finite], bins=15)
    np.testing.assert_array_equal([p.get_height() for p in pool_bars], counts)
    assert sum(p.get_height() for p in pool_bars) + (~finite).sum() == len(pool)
    assert sum(p.get_height() for p in queried_bars) == 10
    # The queried (smallest) margins sit in the leftmost bins.
    assert queried_bars[0].get_height() > 0
    assert "200 samples" in ax.get_title()
    _png(ax.figure, tmp_path / "margins.png")


@pytest.mark.slow  # an active-learning fit of a CNN in a pipeline
def test_query_gallery_through_a_pipeline_shows_raw_pixels(digits, tmp_path):
    """Flat features scaled inside a Pipeline: images come back in raw pixel space."""
    import torch
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skdfal import make_classifier

    X, y = digits
    flat = X.reshape(len(X), -1)[:300]
    module = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    pipe = make_pipeline(StandardScaler(), make_classifier(module, max_epochs=20, lr=1e-2, batch_size=16))
    pipe.fit(flat, y[:300])
    axes = plot_query_gallery(pipe, flat, [3, 7])
    assert "raw input space" in axes[0, 0].figure.get_suptitle()
    np.testing.assert_allclose(axes[0, 0].images[0].get_array(), flat[3].reshape(8, 8))
    adv = np.asarray(axes[1, 2].images[0].get_array(), dtype=np.float32).reshape(1, 64)
    adv_label = int(re.search(r"adversarial: predicted (\d+)", axes[1, 2].get_title()).group(1))
    assert pipe.predict(adv)[0] == adv_label != pipe.predict(flat[7:8])[0]
    _png(axes[0, 0].figure, tmp_path / "gallery_pipeline.png")


def test_query_gallery_draws_colour_images():
    import torch

    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 3))
    X = np.random.RandomState(0).uniform(size=(5, 3, 4, 4)).astype(np.float32)
    axes = plot_query_gallery(module, X, [0, 1])
    shown = axes[0, 0].images[0].get_array()
    assert shown.shape == (4, 4, 3) and 0 <= shown.min() and shown.max() <= 1
    # Rescaled, not clipped: the colours keep their order.
    assert np.corrcoef(np.ravel(shown), np.moveaxis(X[0], 0, -1).ravel())[0, 1] > 0.99
    assert axes[0, 1].images[0].get_array().shape == (4, 4)  # perturbation: mean over channels


def test_a_strategy_keeps_its_style_across_panels_and_twelve_stay_distinct():
    """Both panels draw a strategy alike (the paired panel has no random line), and with more
    strategies than colours every line still differs."""
    names = ["random"] + [f"s{k:02d}" for k in range(11)]
    rows = [{"strategy": s, "seed": k, "n_labels": n, "accuracy": 0.5 + 0.01 * i + 0.001 * k}
            for i, s in enumerate(names) for k in range(3) for n in (10, 20)]
    curves = {ln.get_label(): (ln.get_color(), ln.get_linestyle()) for ln in plot_learning_curves(rows).get_lines()}
    paired = {ln.get_label(): (ln.get_color(), ln.get_linestyle())
              for ln in plot_paired_differences(rows).get_lines() if ln.get_label() in curves}
    assert paired and all(paired[name] == curves[name] for name in paired)
    assert len(set(curves.values())) == len(names)
    plt.close("all")


def test_the_learning_curve_band_is_the_95_interval_over_seeds_as_in_the_paired_panel():
    """One spread measure per figure: both panels show a 95% Student-t interval, and say so."""
    rows = [{"strategy": s, "seed": k, "n_labels": 10, "accuracy": acc + (s == "dfal") * 0.1 * k}
            for s in ("dfal", "random") for k, acc in enumerate([0.5, 0.6, 0.7])]
    ax = plot_learning_curves(rows, strategies=["random"])
    y = ax.collections[0].get_paths()[0].vertices[:, 1]
    # mean 0.6, sd 0.1 over 3 seeds: t(0.975, 2) = 4.302653 (tables), half-width 4.302653 * 0.1 / sqrt(3)
    half = 4.302653 * 0.1 / np.sqrt(3)
    np.testing.assert_allclose([y.min(), y.max()], [0.6 - half, 0.6 + half], rtol=1e-5)
    assert "95% interval" in ax.get_title()
    assert "95% interval" in plot_paired_differences(rows).get_title()
    with pytest.raises(ValueError, match="spread must be"):
        plot_learning_curves(rows, spread="iqr")
    # The other measures stay available on request.
    sd_band = plot_learning_curves(rows, strategies=["random"], spread="std").collections[0]
    np.testing.assert_allclose(sorted({round(v, 9) for v in sd_band.get_paths()[0].vertices[:, 1]}), [0.5, 0.7])


def test_the_saved_figure_says_in_words_what_the_drop_rate_is(tmp_path):
    """The legend names the measure (no cryptic "drops 0% of rounds"); the number is the right one."""
    from skdfal.experiments import save_learning_curves

    # Strategy "b" loses 5 points in 1 of its 3 rounds in each of 2 seeds: 2 of 6 rounds, 33%.
    rows = [{"strategy": s, "seed": k, "round": r, "n_labels": 10 * (r + 1),
             "accuracy": 0.5 + 0.1 * r - (0.15 if s == "b" and r == 2 else 0.0)}
            for s in ("b", "random") for k in range(2) for r in range(4)]
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text, to read it back
        (svg,) = save_learning_curves(rows, tmp_path / "fig", formats=("svg",))
    text = svg.read_text()
    assert "Share of rounds in which accuracy" in text and "fell by more than 2 points" in text
    assert "b: 33%" in text and "drops" not in text
    assert text.count("95% interval") == 4  # both panels (title and y label), one measure


def test_a_callers_title_does_not_hide_which_spread_a_panel_shows(tmp_path):
    """``skdfal benchmark`` and the reports pass their own titles: the y labels still name the band."""
    from skdfal.experiments import save_learning_curves

    rows = [{"strategy": s, "seed": k, "round": r, "n_labels": 10 * (r + 1), "accuracy": 0.5 + 0.1 * r + 0.01 * k}
            for s in ("dfal", "random") for k in range(3) for r in range(3)]
    ax = plot_learning_curves(rows, title="digits, LeNet5")
    assert ax.get_title() == "digits, LeNet5"
    assert ax.get_ylabel() == "accuracy (mean, 95% interval over seeds)"
    assert plot_learning_curves(rows, spread="std", title="t").get_ylabel() == "accuracy (mean ± 1 sd over seeds)"
    assert plot_learning_curves(rows, spread=None, title="t").get_ylabel() == "accuracy (mean over seeds)"
    paired = plot_paired_differences(rows, title="paired")
    assert paired.get_title() == "paired" and "(mean, 95% interval)" in paired.get_ylabel()
    plt.close("all")
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text, to read it back
        (svg,) = save_learning_curves(rows, tmp_path / "fig", title="digits, LeNet5", formats=("svg",))
    text = svg.read_text()
    # Left: its y label; right: its title and y label.  One measure, no standard deviation.
    assert text.count("95% interval") == 3 and "± 1" not in text and "min-max" not in text
