"""The Jupyter labeler, driven through its callbacks (no browser, no display)."""

from __future__ import annotations

import io

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from skdfal.labeling import (  # noqa: E402
    Labeler,  # noqa: E402
    LabelingSession,
    make_digits_session,
)


def _png_shape(data):
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return im.size, np.asarray(im)


@pytest.fixture
def session(tmp_path):
    s = make_digits_session(tmp_path / "s", query_strategy="random_sampling", n_instances=3, max_epochs=1)
    yield s
    s.close(save=False)


def test_buttons_teach_and_the_labeled_set_grows(session, digits):
    _, y = digits
    labeler = Labeler(session)
    seen = []
    for step in range(7):  # crosses two batch boundaries: retrain + next query
        index = labeler.current
        assert index is not None and index not in seen
        seen.append(index)
        labeler.class_buttons[int(y[index])].click()
        assert session.n_labels == step + 1
        assert session.labels[index] == int(y[index])
    assert list(session.labels) == seen
    # The learner trained on what the buttons taught (retrained at the batch boundary).
    assert session.learner.n_labels_paid_ == 6
    np.testing.assert_array_equal(np.sort(session.learner.y_training_), np.sort(y[seen[:6]]))
    # The shown image is the pool sample on screen, as a PNG of the right size.
    (width, height), pixels = _png_shape(labeler.image.value)
    assert width == height == 8 * (160 // 8)
    block = pixels[::20, ::20].astype(float)
    expected = session.X_pool[labeler.current][0]
    np.testing.assert_allclose(block / 255, expected / expected.max(), atol=1 / 255 + 1e-6)


def test_undo_and_skip(session):
    labeler = Labeler(session)
    first = labeler.current
    labeler.class_buttons[3].click()
    second = labeler.current
    assert second != first
    labeler.undo_button.click()
    assert session.labels == {} and labeler.current == first  # back on screen
    labeler.class_buttons[5].click()
    assert session.labels == {first: 5}
    labeler.skip_button.click()
    assert session.skipped == [second] and labeler.current not in (first, second)
    labeler.undo_button.click()  # undoes the skip
    assert session.skipped == [] and labeler.current == second
    labeler.undo_button.click()
    labeler.undo_button.click()  # nothing left: a message, no error
    assert session.labels == {} and "Nothing to undo" in labeler.message.value


def test_keyboard_entry(session):
    labeler = Labeler(session)
    a = labeler.current
    labeler.keys.value = "4"  # what Enter in the text box does
    assert session.labels == {a: 4} and labeler.keys.value == ""
    b = labeler.current
    labeler.keys.value = "s"
    assert session.skipped == [b]
    labeler.keys.value = "u"
    assert session.skipped == [] and labeler.current == b
    labeler.keys.value = "banana"
    assert "Unknown key" in labeler.message.value and session.n_labels == 1
    labeler.keys.value = "12"
    assert "out of range" in labeler.message.value and session.n_labels == 1


def test_dfal_shows_adversarial_copy_and_jupyter_to_shell_resume(tmp_path, digits):
    _, y = digits
    s = make_digits_session(tmp_path / "d", subsample=30, n_instances=3, max_epochs=2,
                            adversarial_augmentation=True)
    labeler = Labeler(s)
    for _ in range(4):  # first batch at random, then DFAL with copies
        labeler.label(int(y[labeler.current]))
    assert labeler.show_adversarial
    copy = s.adversarial_copy(labeler.current)
    (width, height), _ = _png_shape(labeler.image.value)
    assert copy is not None and copy.shape == (1, 8, 8)  # sample and copy side by side
    assert width > 2 * height and "adversarial copy" in labeler.caption.value
    # The copy is really adversarial: the model that queried it classifies it differently.
    assert s.learner.predict(copy[None])[0] != s.learner.predict(s.X_pool[[labeler.current]])[0]
    labels = s.labels
    s.close()
    # The same directory continues elsewhere (the CLI opens it the same way).
    with LabelingSession(tmp_path / "d") as again:
        assert again.labels == labels
        assert again.queue[0] == labeler.current


def test_closed_session_is_reported_not_raised(session):
    labeler = Labeler(session)
    session.close()
    labeler.class_buttons[1].click()
    labeler.skip_button.click()
    assert "closed" in labeler.message.value and session.n_labels == 0
