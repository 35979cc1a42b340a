"""The results file of a benchmark: CSV rows appended as they come, and its protocol."""

from __future__ import annotations

import csv
import errno
import json
import os
import tempfile
from pathlib import Path

from ..learners._loop import COLUMNS

__all__ = [
    "ROW_COLUMNS",
    "read_rows",
    "read_results",
    "append_row",
    "typed_row",
    "check_output",
    "check_protocol",
    "drop_run",
    "protocol_path",
]

#: Columns written by the harness: :data:`COLUMNS` plus the pool rows bought in the round.
ROW_COLUMNS = (*COLUMNS, "queried")


def read_rows(path):
    if not Path(path).is_file():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def read_results(path):
    """The rows of a results file, typed (:func:`typed_row`); ``[]`` when there is none.

    A line that is not a row of results (a damaged or hand-edited file) is a
    ``ValueError`` naming the file and the line.
    """
    if not Path(path).is_file():
        return []
    rows, line = [], 1
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                line = reader.line_num
                rows.append(typed_row(row))
    except (TypeError, ValueError, csv.Error) as exc:  # UnicodeDecodeError is a ValueError
        raise ValueError(
            f"output: {path}: line {line} is not a row of results ({exc}); repair or delete that "
            "line, or start again with resume=False (--no-resume)"
        ) from None
    return rows


def append_row(path, row):
    path = Path(path)
    new = not path.is_file() or path.stat().st_size == 0
    with open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ROW_COLUMNS))
        if new:
            writer.writeheader()
        writer.writerow({k: row[k] for k in ROW_COLUMNS})
        fh.flush()
        os.fsync(fh.fileno())


def typed_row(row):
    out = dict(row)
    for key in ("seed", "round", "n_labels", "n_train"):
        out[key] = int(out[key])
    for key in ("accuracy", "query_time", "fit_time", "eval_time"):
        out[key] = float(out[key])
    return out


def protocol_path(path) -> Path:
    """The protocol file beside a results file: ``rows.csv`` -> ``rows.csv.protocol.json``."""
    return Path(str(path) + ".protocol.json")


def check_output(path, resume: bool = True) -> None:
    """Refuse an ``output`` that is not a results file, before anything is written.

    A folder, a file of something else (a user's notes: rows would be
    appended to it, or it would be deleted with ``resume=False``), a
    damaged protocol file or row when resuming (without, they are replaced), or a
    place where neither file can be written, each named, as a ``ValueError``.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"output: {path} is a folder; give a CSV file name, e.g. {path / 'results.csv'}")
    if path.is_file() and path.stat().st_size:
        with open(path, "rb") as fh:
            first = fh.readline(4096).rstrip(b"\r\n")
        if first != ",".join(ROW_COLUMNS).encode():
            raise ValueError(
                f"output: {path} exists and is not a results file of skdfal (its first line is not "
                f"the header {','.join(ROW_COLUMNS[:3])},...); it is left alone: give another file name"
            )
    meta = protocol_path(path)
    if meta.is_dir():
        raise ValueError(f"output: {meta}, the protocol file of {path}, is a folder; remove it or give another name")
    if resume and meta.is_file():
        _read_protocol(meta)
    if resume:
        read_results(path)
    _check_writable(path)


def _check_writable(path):
    """Refuse a place where no file can be made (a read-only or pseudo file system such as /proc).

    A nameless temporary file in the nearest existing folder is the only
    test that always answers as the write will (permission bits do not
    bind root; /proc refuses new files whatever they say).
    """
    folder = next((p for p in path.absolute().parents if p.exists()), None)
    try:
        if folder is None or not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder))
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ValueError(f"output: cannot write {path} ({folder}: {exc.strerror or exc})") from None


def _read_protocol(meta):
    try:
        protocol = json.loads(meta.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"{meta} is damaged ({exc}); it records the protocol of the rows beside it: restore it, "
            "or delete it with those rows and start again"
        ) from None
    if not isinstance(protocol, dict):
        raise ValueError(f"{meta} is damaged (not a JSON object); restore it, or delete it with its rows")
    return protocol


def check_protocol(path, protocol, resume):
    """Refuse to mix rows of different protocols in one results file."""
    check_output(path, resume)
    meta = protocol_path(path)
    if resume and meta.is_file():
        old = _read_protocol(meta)
        if "query_size" in old and "n_instances" not in old:  # written before the rename (0.1.0)
            old["n_instances"] = old.pop("query_size")
        new = json.loads(json.dumps(protocol))
        # A larger budget only extends the runs: they resume from where they stopped.
        changed = sorted(
            k for k in set(old) | set(new) if k != "budget" and old.get(k) != new.get(k)
        )
        if changed:
            raise ValueError(
                f"{path} holds results of another protocol (differs in {changed}); "
                "use another output file or resume=False"
            )
    try:
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps(protocol, indent=1, sort_keys=True))
    except OSError as exc:
        # The user named the CSV, not this file: say both.
        raise OSError(exc.errno, f"cannot write {meta}, the protocol file of output {path} ({exc.strerror})") from exc


def drop_run(path, name, seed):
    """Rewrite the results file without the rows of one run (it restarts from scratch)."""
    rows = [r for r in read_rows(path) if not (r["strategy"] == name and int(r["seed"]) == seed)]
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ROW_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
