"""``qualcode bench classify``: the project's classifier on any labelled TSV/CSV file."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qualcode.errors import QualcodeError


@dataclass(frozen=True)
class LabelledData:
    texts: list[str]
    labels: list[tuple[str, ...]]


def read_labelled(path: Path, text_col: str, label_col: str) -> LabelledData:
    """Rows of text and label(s); several labels in one cell are separated by '|'."""
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise QualcodeError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise QualcodeError(f"{path}: not UTF-8 text") from None
    first = raw.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first else (";" if first.count(";") > first.count(",") else ",")
    reader = csv.DictReader(io.StringIO(raw, newline=""), delimiter=delimiter)
    columns = reader.fieldnames or []
    for col in (text_col, label_col):
        if col not in columns:
            raise QualcodeError(
                f"{path}:1: no column '{col}'", f"columns are: {', '.join(columns)}"
            )
    texts, labels = [], []
    for row in reader:
        text = (row.get(text_col) or "").strip()
        label = tuple(sorted(p.strip() for p in (row.get(label_col) or "").split("|") if p.strip()))
        if not text or not label:
            raise QualcodeError(f"{path}:{reader.line_num}: empty text or label")
        texts.append(text)
        labels.append(label)
    if not texts:
        raise QualcodeError(f"{path}: no rows")
    return LabelledData(texts, labels)


def classification_benchmark(
    train: Path, test: Path, *, text_col: str = "text", label_col: str = "category"
) -> dict[str, object]:
    from sklearn.metrics import accuracy_score, f1_score

    from qualcode.classify import SegmentClassifier

    started = time.perf_counter()
    tr = read_labelled(train, text_col, label_col)
    te = read_labelled(test, text_col, label_col)
    multilabel = any(len(labels) > 1 for labels in tr.labels + te.labels)
    model = SegmentClassifier()
    if multilabel:
        classes = sorted({c for labels in tr.labels for c in labels})
        y_train = np.array([[c in labels for c in classes] for labels in tr.labels], dtype=int)
        y_test = np.array([[c in labels for c in classes] for labels in te.labels], dtype=int)
    else:
        y_train = np.array([labels[0] for labels in tr.labels])
        y_test = np.array([labels[0] for labels in te.labels])
    t0 = time.perf_counter()
    model.fit(tr.texts, y_train)
    t1 = time.perf_counter()
    predicted = model.predict(te.texts)
    t2 = time.perf_counter()
    return {
        "train": str(train),
        "test": str(test),
        "train_rows": len(tr.texts),
        "test_rows": len(te.texts),
        "multilabel": multilabel,
        "accuracy": round(float(accuracy_score(y_test, predicted)), 4),
        "macro_f1": round(float(f1_score(y_test, predicted, average="macro", zero_division=0)), 4),
        "fit_seconds": round(t1 - t0, 2),
        "predict_seconds": round(t2 - t1, 2),
        "total_seconds": round(t2 - started, 2),
        "params": {k: v for k, v in model.get_params().items()},
    }
