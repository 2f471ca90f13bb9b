"""What each refuter can detect, and whether a run of it is evidence or a calibration check.

A refuter is evidence for an estimate only if it could fail when the estimate is wrong. On the
fast path (back-door effects refuted on the original fit's cross-fitted nuisances, the default
without ``refit``) the nuisances are held fixed, so four of the five refuters perturb only the
final averaging step: the placebo treatment, the random common cause, the data subsets and
the bootstrap then fail only by chance (or through a numerical fault of the final stage).
They are shown as **calibration checks** of that step, not as evidence. The dummy outcome
re-fits the outcome model on a known signal even on the fast path, so it stays evidence.
With re-fitting (``refit=True``, or the automatic rule of :mod:`causalinterp.refute.auto`
deciding so; instrument and front-door effects are always re-fitted) every refuter
re-estimates the nuisances, and each is evidence for what :data:`DETECTS` says.

A failed calibration check never makes an effect ``fragile`` by itself
(:meth:`Refutations.failed_evidence <causalinterp.refute.results.Refutations.failed_evidence>`);
the verdict's reasons mention it (:func:`calibration_note`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from causalinterp.refute.names import RefuterName

__all__ = [
    "CALIBRATION_ON_FAST_PATH",
    "DETECTS",
    "calibration_note",
    "role",
    "role_json",
    "took_fast_path",
]

#: What a failure of each refuter reveals (when it can fail at all; see :func:`role`).
DETECTS: Mapping[str, str] = {
    RefuterName.PLACEBO_TREATMENT: (
        "an estimator that finds an effect where none can exist (the treatment permuted): "
        "leakage of the outcome into the nuisances or overfitting"
    ),
    RefuterName.RANDOM_COMMON_CAUSE: (
        "an estimate that moves when an irrelevant random control is added: unstable "
        "nuisance fits; it cannot detect a missing real confounder"
    ),
    RefuterName.DATA_SUBSET: (
        "an estimate driven by a few rows: instability across random 80% subsets beyond "
        "the estimate's standard error"
    ),
    RefuterName.BOOTSTRAP: (
        "a standard error that is too small: the spread of re-estimates exceeds it (with "
        "re-fitting this includes the nuisances' own estimation noise)"
    ),
    RefuterName.DUMMY_OUTCOME: (
        "confounding the outcome model fails to remove: a known function of the controls "
        "replaces the outcome and must give no effect"
    ),
}

#: Refuters that perturb only the final averaging step when the nuisances are held fixed.
CALIBRATION_ON_FAST_PATH = frozenset(
    {
        RefuterName.PLACEBO_TREATMENT,
        RefuterName.RANDOM_COMMON_CAUSE,
        RefuterName.DATA_SUBSET,
        RefuterName.BOOTSTRAP,
    }
)


def role(name: str, *, fast: bool) -> str:
    """``"calibration"`` for a refuter that can fail only by chance on the path it ran on,
    else ``"evidence"``.

    Parameters
    ----------
    name : str
        The refuter (a :class:`~causalinterp.refute.names.RefuterName`).
    fast : bool
        It ran on the fast path (nuisances held fixed).

    Returns
    -------
    str

    Examples
    --------
    >>> role("bootstrap", fast=True), role("bootstrap", fast=False)
    ('calibration', 'evidence')
    >>> role("dummy_outcome", fast=True)
    'evidence'
    """
    return "calibration" if fast and name in CALIBRATION_ON_FAST_PATH else "evidence"


def took_fast_path(refutations: Any, feature: str, strategy: str) -> bool:
    """Whether ``feature``'s refuters ran on the fast path (nuisances held fixed).

    The stage records the features that did; a result without that record is inferred:
    back-door effects refuted without ``refit``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> took_fast_path(SimpleNamespace(refit=False), "t", "backdoor")
    True
    >>> took_fast_path(SimpleNamespace(refit=False, fast=frozenset()), "t", "backdoor")
    False
    """
    recorded = getattr(refutations, "fast", None)
    if recorded is not None:
        return feature in recorded
    return not bool(getattr(refutations, "refit", False)) and strategy == "backdoor"


def role_json(name: str, *, fast: bool) -> dict[str, str]:
    """``detects``, ``path`` and ``role`` of one refutation in ``report.json``.

    ``path`` is ``"fast"`` for a refuter run with the nuisances held fixed, else ``"refit"``.

    Examples
    --------
    >>> role_json("bootstrap", fast=True)["role"]
    'calibration'
    """
    return {
        "detects": DETECTS.get(name, ""),
        "path": "fast" if fast else "refit",
        "role": role(name, fast=fast),
    }


def calibration_note(refutations: Any, feature: str) -> str:
    """A reason naming ``feature``'s failed calibration checks, or ``""``.

    Parameters
    ----------
    refutations : Refutations or None
    feature : str

    Returns
    -------
    str

    Examples
    --------
    >>> calibration_note(None, "t")
    ''
    """
    if refutations is None or feature not in getattr(refutations, "fast", ()):
        return ""
    failed = [n for n in refutations.failed(feature) if role(n, fast=True) == "calibration"]
    if not failed:
        return ""
    names = ", ".join(repr(str(n)) for n in failed)
    return (
        f"the calibration check(s) {names} failed on the fast path, where the nuisances are "
        "held fixed: not evidence against the estimate by itself, but a sign of a numerical "
        "problem in its final stage; re-run with refit=True to challenge the nuisances"
    )
