# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
"""
Labeling by hand: a session you can close, crash and resume
===========================================================

In real active learning the oracle is a person. A ``LabelingSession`` keeps
everything in one directory: the pool, a journal with every answer (written
to disk before ``teach`` returns), snapshots of the model. The ``Labeler`` widget
shows the sample DFAL picked (and its DeepFool adversarial copy: the same
image nudged just across the decision boundary), with one button per class,
*Skip* and *Undo*, and a text box for the keyboard.

In Jupyter, display ``labeler`` and click. Here the clicks are simulated with
the true digits so that the notebook also runs as a plain script
(``python examples/labeling_session.py``). The widget needs ipywidgets
(``pip install 'skdfal[jupyter]'``); without it the same answers go straight
to the session, which is what the widget's buttons call. Files go to the
folder named by ``SKDFAL_EXAMPLES_OUT`` (a temporary folder otherwise).
"""

# %%
import os
import tempfile
from pathlib import Path

import torch

from skdfal import Labeler, LabelingSession, load_digits_images, make_digits_session

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
out = Path(os.environ.get("SKDFAL_EXAMPLES_OUT") or tempfile.mkdtemp())
directory = out / "digits-session"
_, y_true = load_digits_images()  # stands in for the person

# %% [markdown]
# Start a session on digits
# -------------------------
#
# The first batch is drawn at random (there is no model yet); then DFAL scores
# a random 200-sample share of the pool per query (as the paper does), in
# batches of 10, with adversarial augmentation: each answered sample's
# adversarial copy joins the training set with the same label, for free.

# %%
if (directory / "session.json").exists():
    session = LabelingSession(directory)  # rerunning the notebook resumes
else:
    session = make_digits_session(directory, n_instances=10, subsample=200, adversarial_augmentation=True)
try:
    labeler = Labeler(session)
except ImportError as error:  # no ipywidgets: answer through the session itself
    print(error)
    labeler = None
labeler  # noqa: B018 - in Jupyter this shows the labeler
# sphinx_gallery_capture_repr = ()

# %% [markdown]
# Label (simulated clicks)
# ------------------------
#
# ``labeler.class_buttons[k].click()`` is what clicking class *k* does;
# ``labeler.keys.value = "s"`` is typing ``s`` + Enter. After the last answer
# of a batch the session retrains and DFAL picks the next batch. Without the
# widget, ``session.teach(session.current(), k)``, ``session.skip(...)`` and
# ``session.undo()`` give the same answers.

# %%
def on_screen():
    return labeler.current if labeler is not None else session.current()


def click_class(k):
    if labeler is not None:
        labeler.class_buttons[k].click()
    else:
        session.teach(session.current(), k)


for step in range(24):
    index = on_screen()
    if step == 3:
        click_class((int(y_true[index]) + 1) % 10)  # a slip...
        if labeler is not None:  # ...undone: the same sample comes back
            labeler.undo_button.click()
        else:
            session.undo()
        assert on_screen() == index
    click_class(int(y_true[index]))
if labeler is not None:
    labeler.keys.value = "s"  # not sure about this one: skip it
else:
    session.skip(session.current())
print(session)
print("labels:", session.labels)
learner = session.learner  # as retrained before the current batch
print(f"last retrain: {learner.n_labels_paid_} answers + {learner.is_adversarial_.sum()} free copies")

# %% [markdown]
# Close, then continue elsewhere
# ------------------------------
#
# Every answer is already on disk; ``close`` also writes a snapshot and releases
# the directory. The same directory continues in another notebook, or in a
# terminal with ``skdfal label <directory>`` (images as ASCII art and a PNG).
# Even after ``kill -9``, reopening replays the journal: no answer is lost.

# %%
labels = session.labels
session.close()
with LabelingSession(directory) as resumed:
    assert resumed.labels == labels
    print(f"resumed: {resumed.n_labels} labels, next sample #{resumed.current()}")
    resumed.retrain()  # on every answer so far (otherwise: at the end of the batch)
    accuracy = (resumed.learner.predict(resumed.X_pool) == y_true).mean()
    print(f"accuracy on the whole pool after {resumed.n_labels} answers: {accuracy:.2f}")
print("session directory:", directory)
