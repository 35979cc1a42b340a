"""Damaged session folders, generated: opening works or is a SessionError, in time, touching nothing outside.

Hypothesis draws one to three damages of a good session folder --
truncations, flipped bytes, appended junk, links to files and folders
outside, named pipes, ``.npy`` headers claiming huge shapes, JSON bombs --
optionally with the checksums fixed afterwards (a hostile folder can do
that too, so the loaders must hold without them).  Each folder is then
opened (writable or readonly) and, when that works, labeled, saved and
closed.  Every outcome must be success or :class:`SessionError`, within
the time bound, and every file outside the folder must keep its bytes and
its modification time.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from _hostile import (
    call_within,
    copy_session,
    digits_pool,
    fingerprint,
    fix_checksums,
    make_outside,
    make_template,
    npy_claiming,
    open_and_use,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skdfal.labeling import SessionError

pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="links and named pipes as POSIX has them"),
    pytest.mark.slow,  # a long Hypothesis run (test_session_hostile.py has the quick cases)
]

#: Examples per property; each opens a session (about 0.1 s on an idle core).
EXAMPLES = 60
#: Folders generated in this run (reported by test_report_counts).
GENERATED = []

TARGETS = ["session.json", "journal.jsonl", "snapshot.json", "pool.npy", "lock", "journal.jsonl.torn",
           "snapshots", "snapshots/labels", "snapshots/skips", "snapshots/adversarial", "snapshots/weights"]


def _resolve(directory: Path, target: str) -> Path:
    if target.startswith("snapshots/"):
        matches = sorted((directory / "snapshots").glob(target.split("/")[1] + "-*"))
        return matches[-1] if matches else directory / "snapshots" / (target.split("/")[1] + "-000009.npy")
    return directory / target


def _remove(path: Path):
    if path.is_symlink() or path.is_file() or path.is_fifo():
        path.unlink()
    elif path.is_dir():
        for child in path.iterdir():
            _remove(child)
        path.rmdir()


def _apply(directory: Path, outside: Path, damage):
    kind, target, a, b = damage
    path = _resolve(directory, target)
    if kind in ("truncate", "flip", "append") and not (path.is_file() and not path.is_symlink()):
        return
    if kind == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * a)])
    elif kind == "flip":
        data = bytearray(path.read_bytes())
        if data:
            data[int((len(data) - 1) * a)] ^= 1 + b % 255
            path.write_bytes(bytes(data))
    elif kind == "append":
        with open(path, "ab") as fh:
            fh.write(b"\n" + bytes([b % 256]) * int(1 + a * 200))
    elif kind == "link":
        _remove(path)
        target_outside = outside / ("folder" if b % 2 else "profile.sh")
        path.symlink_to(target_outside, target_is_directory=target_outside.is_dir())
    elif kind == "fifo":
        _remove(path)
        os.mkfifo(path)
    elif kind == "npy-header":
        if path.suffix == ".npy" and path.is_file() and not path.is_symlink():
            path.write_bytes(npy_claiming((2 ** (20 + b % 30), 4), payload=b"\0" * int(a * 4096)))
    elif kind == "json-bomb" and path.suffix == ".json" and path.is_file() and not path.is_symlink():
        try:
            obj = json.loads(path.read_text())
        except (ValueError, RecursionError):
            return  # bombed already
        if not isinstance(obj, dict):
            return
        bomb = ["[" * 50_000 + "]" * 50_000, "9" * (4300 + b), "1e999", '"' + "x" * (1 << 21) + '"'][b % 4]
        key = ["random_state", "generation", "n_instances", "session_id", "queue"][int(a * 4.99)]
        obj[key] = "BOMB"
        path.write_text(json.dumps(obj).replace('"BOMB"', bomb))


damages = st.tuples(
    st.sampled_from(["truncate", "flip", "append", "link", "fifo", "npy-header", "json-bomb"]),
    st.sampled_from(TARGETS),
    st.floats(0, 1),
    st.integers(0, 1000),
)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    X, y = digits_pool()
    return make_template(tmp_path_factory.mktemp("fuzz-template") / "s", X, y)


@pytest.mark.filterwarnings("ignore::skdfal.labeling.SessionWarning")  # torn tails are expected
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(plan=st.lists(damages, min_size=1, max_size=3), fixed=st.booleans(), readonly=st.booleans())
def test_damaged_folder_opens_or_refuses_in_time_touching_nothing_outside(template, plan, fixed, readonly):
    with tempfile.TemporaryDirectory() as tmp:
        directory = copy_session(template, Path(tmp) / "s")
        outside = make_outside(Path(tmp) / "outside")
        for damage in plan:
            _apply(directory, outside, damage)
        if fixed:
            fix_checksums(directory)
        before = fingerprint(outside)
        GENERATED.append(plan)
        error = call_within(lambda: open_and_use(directory, readonly=readonly), directory)
        assert error is None or isinstance(error, SessionError), f"{plan}: {type(error).__name__}: {error}"
        assert fingerprint(outside) == before, f"{plan}: something outside the folder changed"


def test_report_counts():
    """Runs after the property (file order): the run generated the folders it promised."""
    if GENERATED:
        print(f"\n{len(GENERATED)} damaged session folders generated")
        assert len(GENERATED) >= EXAMPLES // 2
