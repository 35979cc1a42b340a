"""Label a :class:`~skdfal.LabelingSession` in Jupyter with ipywidgets.

``ipywidgets`` is imported only when a :class:`Labeler` is built (install
``skdfal[jupyter]``), so ``import skdfal`` never needs it.

The labeler shows the sample to label (and, for DFAL, its DeepFool
adversarial copy next to it), one button per class, *Skip* and *Undo*, and a
text box for the keyboard: type a class (``3`` or its name), ``s`` (skip) or
``u`` (undo) and press Enter.  Every answer goes through the session, so it is
journaled (durable) before the next image appears; after the last sample of a
batch the session retrains and queries the next batch.

Every callback is a plain method (:meth:`Labeler.label`, :meth:`Labeler.skip`,
:meth:`Labeler.undo`, :meth:`Labeler.submit`), so the labeler can be driven and
tested without a browser.
"""

from __future__ import annotations

import functools
import html
from typing import TYPE_CHECKING

from ._render import as_pixels, png_bytes, side_by_side

if TYPE_CHECKING:
    from ..session import LabelingSession

__all__ = ["Labeler"]


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the Jupyter labeler needs ipywidgets: pip install 'skdfal[jupyter]'"
        ) from None
    return ipywidgets


class Labeler:
    """An ipywidgets labeling panel for a session.

    Parameters
    ----------
    session : LabelingSession
        An open (writable) session.
    image_size : int, default=160
        Approximate width in pixels of each shown image.
    show_adversarial : bool or None, default=None
        Show the adversarial copy next to the sample; ``None``: when the
        session's strategy is DFAL or it uses adversarial augmentation.

    Attributes
    ----------
    widget : ipywidgets.VBox
        The panel (displaying the ``Labeler`` displays it).
    class_buttons : list of ipywidgets.Button
    skip_button, undo_button : ipywidgets.Button
    keys : ipywidgets.Text
        Keyboard entry.
    image : ipywidgets.Image
        PNG of the sample (and its copy).
    status, message : ipywidgets.HTML
    current : int or None
        Pool index on screen (``None`` when the pool is exhausted).

    Examples
    --------
    >>> import tempfile
    >>> from skdfal import make_digits_session
    >>> from skdfal import Labeler
    >>> session = make_digits_session(tempfile.mkdtemp(), query_strategy="random_sampling",
    ...                               max_epochs=1, n_instances=3)
    >>> labeler = Labeler(session)
    >>> labeler.class_buttons[7].click()      # what a click does
    >>> labeler.submit("s")                   # keyboard: skip
    >>> session.n_labels, len(session.skipped)
    (1, 1)
    >>> session.close()
    """

    def __init__(
        self, session: LabelingSession, *, image_size: int = 160, show_adversarial: bool | None = None
    ):
        widgets = _ipywidgets()
        self.session = session
        self.image_size = int(image_size)
        self.show_adversarial = session.shows_adversarial if show_adversarial is None else bool(show_adversarial)
        self.current = None

        self.image = widgets.Image(format="png")
        self.caption = widgets.HTML()
        self.status = widgets.HTML()
        self.message = widgets.HTML()
        self.class_buttons = []
        for k, name in enumerate(session.class_names):
            button = widgets.Button(description=name, tooltip=f"label as {name} (key: {name})",
                                    layout=widgets.Layout(width="auto", min_width="2.5em"))
            button.on_click(functools.partial(self._on_class, k))
            self.class_buttons.append(button)
        self.skip_button = widgets.Button(description="Skip", tooltip="not sure: skip (key: s)", icon="forward")
        self.undo_button = widgets.Button(description="Undo", tooltip="undo the last answer (key: u)", icon="undo")
        self.skip_button.on_click(lambda _: self.skip())
        self.undo_button.on_click(lambda _: self.undo())
        self.keys = widgets.Text(
            placeholder="class, s (skip) or u (undo), then Enter",
            continuous_update=False,  # act on Enter (or leaving the box), not per keystroke
            layout=widgets.Layout(width="22em"),
        )
        self.keys.observe(self._on_keys, names="value")
        self.widget = widgets.VBox([
            self.status,
            self.image,
            self.caption,
            widgets.HBox(self.class_buttons, layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([self.skip_button, self.undo_button, self.keys]),
            self.message,
        ])
        self.refresh()

    # ---------------------------------------------------------------- actions
    def label(self, label: int | str) -> None:
        """Teach ``label`` (class index or name) for the sample on screen, then move on."""
        if self.current is None:
            self._say("Nothing to label: the pool is exhausted.")
            return
        index = self.current
        try:
            self.session.teach(index, label)
        except (TypeError, ValueError) as exc:  # SessionError (a closed session) included
            self._say(html.escape(str(exc)), error=True)
            return
        name = self.session.class_names[self.session.labels[index]]
        self._say(f"#{index} labeled <b>{html.escape(name)}</b> (saved).")
        self.refresh()

    def skip(self) -> None:
        """Skip the sample on screen (it will not be asked again unless undone)."""
        if self.current is None:
            return
        index = self.current
        try:
            self.session.skip(index)
        except ValueError as exc:
            self._say(html.escape(str(exc)), error=True)
            return
        self._say(f"#{index} skipped.")
        self.refresh()

    def undo(self) -> None:
        """Undo the last label or skip; its sample comes back on screen."""
        try:
            action = self.session.undo()
        except ValueError as exc:
            self._say(html.escape(str(exc)), error=True)
            return
        if action is None:
            self._say("Nothing to undo.")
        else:
            what = ("label " + self.session.class_names[action["label"]]) if action["op"] == "label" else "skip"
            self._say(f"Undid {html.escape(what)} of #{action['index']}.")
        self.refresh()

    def submit(self, text: str) -> None:
        """Keyboard entry: a class index or name, ``s`` (skip) or ``u`` (undo)."""
        text = str(text).strip()
        if not text:
            return
        if text.lower() in ("s", "skip"):
            self.skip()
        elif text.lower() in ("u", "undo"):
            self.undo()
        elif text in self.session.class_names:
            self.label(self.session.class_names.index(text))
        elif text.isdigit():
            self.label(int(text))
        else:
            self._say(f"Unknown key {html.escape(text)!r}: type a class, s or u.", error=True)

    # -------------------------------------------------------------- callbacks
    def _on_class(self, label, _button=None):
        self.label(label)

    def _on_keys(self, change):
        text = change["new"]
        if text:
            self.keys.value = ""  # fires again with "", ignored
            self.submit(text)

    # ---------------------------------------------------------------- drawing
    def _say(self, text, error=False):
        color = "#b00" if error else "#333"
        self.message.value = f'<span style="color:{color}">{text}</span>'

    def refresh(self) -> None:
        """Show the sample to label now (querying and retraining when a batch is done)."""
        session = self.session
        if not session.queue:
            self.status.value = "<i>Training and choosing the next batch...</i>"
        self.current = session.current()
        done = self.current is None
        for button in [*self.class_buttons, self.skip_button]:
            button.disabled = done
        if done:
            self.status.value = f"<b>Pool exhausted</b>: {session.n_labels} labels."
            self.image.value = b""
            self.caption.value = ""
            return
        X = session.X_pool
        samples = [X[self.current]]
        copy = session.adversarial_copy(self.current) if self.show_adversarial else None
        if copy is not None:
            samples.append(copy)
        shape = samples[0].shape
        side = max(shape[-2:]) if len(shape) >= 2 else int(round(shape[0] ** 0.5))
        scale = max(1, self.image_size // max(1, side))
        self.image.value = png_bytes(side_by_side(as_pixels(samples, scale=scale), gap=max(2, scale)))
        self.caption.value = (
            "sample &nbsp;|&nbsp; its DeepFool adversarial copy" if copy is not None
            else ("sample (the model cannot flip it)" if self.show_adversarial else "")
        )
        queue = session.queue
        self.status.value = (
            f"Pool sample <b>#{self.current}</b> &middot; {len(queue)} left in this batch &middot; "
            f"{session.n_labels} labeled, {len(session.skipped)} skipped"
        )
        decision = session.stop_decision
        if decision is not None and decision.stop:
            self.status.value += f"<br><b>You may stop</b>: {html.escape(decision.reason)}"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
