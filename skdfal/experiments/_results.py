"""The results file of a benchmark: CSV rows appended as they come, and its protocol."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from ..learners._loop import COLUMNS

__all__ = [
    "ROW_COLUMNS", "read_rows", "append_row", "typed_row", "check_protocol", "drop_run", "protocol_path",
]

#: Columns written by the harness: :data:`COLUMNS` plus the pool rows bought in the round.
ROW_COLUMNS = (*COLUMNS, "queried")


def read_rows(path):
    if not Path(path).is_file():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


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
    """Where the protocol of the results file ``path`` is written (``rows.csv.protocol.json``)."""
    return Path(str(path) + ".protocol.json")


def check_protocol(path, protocol, resume):
    """Refuse to mix rows of different protocols in one results file."""
    meta = protocol_path(path)
    if resume and meta.is_file():
        old = json.loads(meta.read_text())
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
    meta.parent.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps(protocol, indent=1, sort_keys=True))


def drop_run(path, name, seed):
    """Rewrite the results file without the rows of one run (it restarts from scratch)."""
    rows = [r for r in read_rows(path) if not (r["strategy"] == name and int(r["seed"]) == seed)]
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ROW_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
