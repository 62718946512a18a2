"""Agreement between a measure and human labels: AUROC, ROC points, confusion counts.

Pure Python on purpose: validation sets are small and this keeps `afdsl
validate` free of heavy imports. The AUROC is the Mann-Whitney statistic
(ties count one half), so it equals U / (n_pos * n_neg).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel


class Confusion(BaseModel):
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    def accuracy(self) -> float | None:
        return (self.tp + self.tn) / self.n if self.n else None

    def precision(self) -> float | None:
        # None, not 0: with no predicted positives precision is undefined, not bad.
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


class RocPoint(BaseModel):
    threshold: float | None  # None: the (0, 0) corner, above every score
    fpr: float
    tpr: float


def _average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        mean_rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = mean_rank
        i = j + 1
    return ranks


def auroc(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """Probability that a random positive outscores a random negative (ties count 1/2).

    None when one class is missing: the area is undefined, and 0.5 would look like a result.
    """
    if len(scores) != len(labels):
        raise ValueError("scores and labels differ in length")
    n_pos = sum(1 for y in labels if y == 1)
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _average_ranks(scores)
    rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y == 1)
    u = rank_sum - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def roc_points(scores: Sequence[float], labels: Sequence[int]) -> list[RocPoint]:
    """(fpr, tpr) for 'predict positive when score >= t', t over every distinct score."""
    n_pos = sum(1 for y in labels if y == 1)
    n_neg = len(labels) - n_pos
    points = [RocPoint(threshold=None, fpr=0.0, tpr=0.0)]
    for t in sorted(set(scores), reverse=True):
        tp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= t and y == 1)
        fp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= t and y != 1)
        points.append(
            RocPoint(
                threshold=t,
                fpr=fp / n_neg if n_neg else 0.0,
                tpr=tp / n_pos if n_pos else 0.0,
            )
        )
    return points


def confusion(predicted: Sequence[int], labels: Sequence[int]) -> Confusion:
    """Counts of predicted vs true labels (both 0/1)."""
    c = Confusion()
    for p, y in zip(predicted, labels, strict=True):
        if p == 1 and y == 1:
            c.tp += 1
        elif p == 1:
            c.fp += 1
        elif y == 1:
            c.fn += 1
        else:
            c.tn += 1
    return c
