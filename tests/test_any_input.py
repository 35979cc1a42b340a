"""Any image data goes in: integer images, any labels, flat rows, DataFrames, sparse, texts.

Each of these was a raw torch error or a refusal before (issue 12): uint8
images ("Input type (unsigned char) and bias type (float)"), string labels
(``new(): invalid data type 'numpy.str_'``), flat rows into a CNN, a
DataFrame into a pipeline selecting columns by name, sparse input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdfal import (
    ActiveLearner,
    DFALMargin,
    EntropySampling,
    LeNet5,
    SeededNeuralNetClassifier,
    dfal_margin,
    entropy_sampling,
    make_classifier,
)

NAMES = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])


def lenet(**params):
    params.setdefault("max_epochs", 3)
    return make_classifier("lenet5", input_shape=(1, 8, 8), lr=1e-2, random_state=0, **params)


@pytest.fixture(scope="module")
def images(digits):
    """The digits as uint8 images in [0, 255] and their float32 [0, 1] twins."""
    X, y = digits
    return np.round(X * 255).astype(np.uint8), X, y


def test_uint8_images_are_cast_and_scaled_only_when_asked(images):
    X8, Xf, y = images
    # Without standardisation, so that the cast and the scale are all there is to see.
    plain = {"input_mean": None, "input_std": None}
    raw, scaled = lenet(**plain), lenet(input_scale=1 / 255, **plain)
    assert raw.transform_input(X8[:2]).max() > 1.0  # cast only: [0, 255]
    np.testing.assert_allclose(scaled.transform_input(X8[:2]), Xf[:2], atol=1 / 255)
    scaled.fit(X8[:300], y[:300])
    # uint8 images and the same values as float32 give the same predictions.
    np.testing.assert_array_equal(scaled.predict(X8[300:340]), scaled.predict(X8[300:340].astype(np.float32)))
    assert scaled.predict_proba(X8[300:340]).shape == (40, 10)


@pytest.mark.parametrize("dtype", [np.int64, np.int16, np.float16, bool])
def test_other_numeric_dtypes_fit(images, dtype):
    X8, _, y = images
    net = lenet(max_epochs=1).fit(X8[:64].astype(dtype), y[:64])
    assert net.predict(X8[64:70].astype(dtype)).shape == (6,)


def test_string_labels_with_a_class_list(images):
    X8, _, y = images
    net = lenet(classes=NAMES, input_scale=1 / 255).fit(X8[:300], NAMES[y[:300]])
    assert net.classes_.tolist() == NAMES.tolist()
    pred = net.predict(X8[300:400])
    assert pred.dtype.kind == "U" and set(pred) <= set(NAMES)
    assert (pred == NAMES[y[300:400]]).mean() > 0.3  # chance is 0.1


def test_string_labels_without_a_class_list_are_encoded_and_decoded(images):
    X8, _, y = images
    keep = y < 3
    labels = np.array(["cat", "dog", "emu"])[y[keep]]
    net = SeededNeuralNetClassifier(
        LeNet5, module__input_size=8, module__n_classes=3, input_scale=1 / 255,
        max_epochs=3, lr=1e-2, train_split=None, verbose=0, random_state=0,
    ).fit(X8[keep][:150], labels[:150])
    assert net.classes_.tolist() == ["cat", "dog", "emu"]
    assert set(net.predict(X8[keep][150:200])) <= {"cat", "dog", "emu"}
    with pytest.raises(ValueError, match="not in the labels of the first fit"):
        net.partial_fit(X8[:2], np.array(["cat", "yak"]))


def test_flat_rows_are_reshaped_for_a_cnn_and_dfal_works_on_them(images):
    _, Xf, y = images
    flat = Xf.reshape(len(Xf), -1)
    learner = ActiveLearner(lenet(), dfal_margin, adversarial_augmentation=True).fit(flat[:200], y[:200])
    idx, inst = learner.query(flat[200:300], n_instances=4)
    assert inst.shape == (4, 64)
    learner.teach(inst, y[200:300][idx])
    assert learner.X_training.shape[1:] == (64,)  # adversarial copies in the raw (flat) layout
    assert learner.n_training_samples_ > learner.n_labels_paid_ == 204


def test_an_active_learner_on_uint8_images_with_string_labels(images):
    X8, _, y = images
    learner = ActiveLearner(lenet(classes=NAMES, input_scale=1 / 255), DFALMargin(), adversarial_augmentation=True)
    learner.fit(X8[:200], NAMES[y[:200]])
    idx, inst = learner.query(X8[200:300], n_instances=3)
    learner.teach(inst, NAMES[y[200:300][idx]])
    assert learner.X_training.dtype == np.float32  # cast, not scaled: the net scales
    assert learner.X_training.max() > 1
    assert learner.predict(X8[:5]).dtype.kind == "U"
    assert set(learner.y_training) <= set(NAMES)


def test_dataframes_keep_their_columns_through_a_pipeline(rng):
    X = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120), "note": ["x"] * 120})
    y = (X["a"] + X["b"] > 0).astype(int).to_numpy()
    pipe = make_pipeline(ColumnTransformer([("num", StandardScaler(), ["a", "b"])]), LogisticRegression())
    learner = ActiveLearner(pipe, entropy_sampling, X_training=X.iloc[:10], y_training=y[:10])
    idx, inst = learner.query(X.iloc[10:], n_instances=3)
    assert isinstance(inst, pd.DataFrame) and list(inst.columns) == ["a", "b", "note"]
    learner.teach(inst, y[10:][idx])
    assert isinstance(learner.X_training, pd.DataFrame) and len(learner.X_training) == 13
    assert learner.predict(X.iloc[:4]).shape == (4,)


def test_sparse_input_for_a_scikit_learn_model(rng):
    X = sp.random(80, 30, density=0.2, format="csr", random_state=0)
    y = np.asarray(X.sum(1)).ravel() > np.median(np.asarray(X.sum(1)))
    learner = ActiveLearner(LogisticRegression(), EntropySampling()).fit(X[:10], y[:10])
    idx, inst = learner.query(X[10:], n_instances=2)
    assert sp.issparse(inst)
    learner.teach(inst, y[10:][idx], bootstrap=True)
    assert sp.issparse(learner.X_training) and learner.X_training.shape == (12, 30)


def test_texts_cold_start_and_teach():
    texts = ["cheap pills", "meeting at noon", "win money now", "lunch tomorrow", "free prize", "notes"]
    y = np.array([1, 0, 1, 0, 1, 0])
    learner = ActiveLearner(make_pipeline(CountVectorizer(), LogisticRegression()), entropy_sampling, random_state=0)
    idx, inst = learner.query(texts, n_instances=2)  # no labels yet: a random draw for texts
    assert isinstance(inst, list) and len(inst) == 2
    learner.teach(inst, y[idx])
    learner.teach([t for i, t in enumerate(texts) if i not in idx], np.delete(y, idx))
    assert learner.X_training[:2] == inst and learner.predict(["free money"]).shape == (1,)


def test_multilabel_y_where_the_model_supports_it(rng):
    X = rng.normal(size=(60, 2))
    Y = (X > 0).astype(int)
    learner = ActiveLearner(OneVsRestClassifier(LogisticRegression()), X_training=X[:10], y_training=Y[:10])
    learner.teach(X[10:12], Y[10:12])
    assert learner.y_training.shape == (12, 2) and learner.predict(X[:3]).shape == (3, 2)


def test_numpy_scalars_are_valid_everywhere(images):
    X8, _, y = images
    net = make_classifier(
        "lenet5", input_shape=(np.int64(1), np.int64(8), np.int64(8)), n_classes=np.int64(10),
        max_epochs=np.int64(1), batch_size=np.int64(16), lr=np.float32(1e-2), random_state=np.int64(0),
        input_scale=np.float32(1 / 255),
    )
    learner = ActiveLearner(net).fit(X8[:64], y[:64])
    idx, _ = learner.query(X8[64:128], n_instances=np.int64(2))
    assert len(idx) == 2


def test_a_tensor_pool_of_integer_images(images):
    X8, _, y = images
    learner = ActiveLearner(lenet(max_epochs=2, input_scale=1 / 255), DFALMargin()).fit(X8[:100], y[:100])
    idx, inst = learner.query(torch.from_numpy(X8[100:160]), n_instances=2)
    assert isinstance(inst, torch.Tensor) and inst.dtype == torch.uint8
