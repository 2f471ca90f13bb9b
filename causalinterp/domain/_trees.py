"""Adapter to the tree-model libraries: structure, monotone constraints and saving.

Everything that reads a fitted tree ensemble's internals (scikit-learn trees, forests, gradient
boosting and histogram gradient boosting; LightGBM; XGBoost), sets their monotone-constraint
parameter or writes them in their own format lives here, so a change in one library's API
touches one module.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from causalinterp.errors import ModelError


@dataclass(frozen=True)
class Tree:
    """One fitted tree as flat arrays (node ``i``'s children are ``left[i]``, ``right[i]``;
    ``-1`` at leaves). Rows with ``x[feature] < threshold`` (or ``<=``, see ``Ensemble``) go
    left, so the left subtree holds the lower values of the split feature."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    categorical: np.ndarray


@dataclass(frozen=True)
class Ensemble:
    """The trees of a fitted model whose prediction is a monotone function of their sum or
    mean (probabilities included: the link is increasing)."""

    family: str
    trees: tuple[Tree, ...]


#: Families constrain() can refit with monotone constraints, by class name.
_SKLEARN_CST = {
    "HistGradientBoostingClassifier", "HistGradientBoostingRegressor",
    "DecisionTreeClassifier", "DecisionTreeRegressor",
    "RandomForestClassifier", "RandomForestRegressor",
    "ExtraTreesClassifier", "ExtraTreesRegressor",
}
_LIGHTGBM = {"LGBMClassifier", "LGBMRegressor"}
_XGBOOST = {"XGBClassifier", "XGBRegressor"}
SUPPORTED = sorted(_SKLEARN_CST | _LIGHTGBM | _XGBOOST)


def family(model: Any) -> str:
    """``"sklearn"``, ``"lightgbm"`` or ``"xgboost"`` for a family constrain() supports.

    Raises
    ------
    ModelError
        Naming the model's class and the supported families.
    """
    name = type(model).__name__
    module = type(model).__module__.split(".")[0]
    if name in _SKLEARN_CST and module == "sklearn":
        return "sklearn"
    if name in _LIGHTGBM and module == "lightgbm":
        return "lightgbm"
    if name in _XGBOOST and module == "xgboost":
        return "xgboost"
    raise ModelError(
        f"model {name}: monotone constraints are not supported for this model family; use "
        "histogram gradient boosting, a decision tree, random forest or extra trees "
        "(scikit-learn), LightGBM or XGBoost"
    )


def with_constraints(model: Any, columns: Sequence[str], directions: dict[str, str | None]) -> Any:
    """An unfitted copy of ``model`` with monotone constraints on ``columns`` (+1, -1 or 0)."""
    from sklearn.base import clone

    kind = family(model)
    cst = [{"+": 1, "-": -1}.get(directions.get(c) or "", 0) for c in columns]
    copy = clone(model)
    if kind == "sklearn":
        copy.set_params(monotonic_cst=cst)
    elif kind == "lightgbm":
        copy.set_params(monotone_constraints=cst)
    else:
        copy.set_params(monotone_constraints="(" + ",".join(map(str, cst)) + ")")
    return copy


def ensemble(model: Any, columns: Sequence[str]) -> Ensemble | None:
    """The trees of a supported fitted tree model, or None for any other model."""
    name = type(model).__name__
    module = type(model).__module__.split(".")[0]
    if module == "sklearn":
        if name.startswith("HistGradientBoosting"):
            predictors = getattr(model, "_predictors", None)
            if predictors is None or any(len(p) != 1 for p in predictors):
                return None  # multiclass: one tree per class, not one monotone sum
            return Ensemble("sklearn", tuple(_hgb_tree(p[0]) for p in predictors))
        if name.startswith("DecisionTree"):
            return Ensemble("sklearn", (_sk_tree(model),))
        if name.startswith(("RandomForest", "ExtraTrees")):
            return Ensemble("sklearn", tuple(_sk_tree(t) for t in model.estimators_))
        if name.startswith("GradientBoosting"):
            if model.estimators_.shape[1] != 1:
                return None
            return Ensemble("sklearn", tuple(_sk_tree(t) for t in model.estimators_[:, 0]))
        return None
    if module == "lightgbm" and hasattr(model, "booster_"):
        dump = model.booster_.dump_model()
        if dump.get("num_tree_per_iteration", 1) != 1:
            return None
        return Ensemble(
            "lightgbm", tuple(_lgb_tree(t["tree_structure"]) for t in dump["tree_info"])
        )
    if module == "xgboost" and hasattr(model, "get_booster"):
        booster = model.get_booster()
        if getattr(model, "n_classes_", 2) > 2:
            return None
        names = booster.feature_names or [f"f{i}" for i in range(len(columns))]
        index = {str(n): i for i, n in enumerate(names)}
        dumps = booster.get_dump(dump_format="json")
        return Ensemble("xgboost", tuple(_xgb_tree(json.loads(d), index) for d in dumps))
    return None


def _sk_tree(estimator: Any) -> Tree:
    t = estimator.tree_
    value = t.value[:, 0, :]
    # Classifiers store class counts or fractions per node; the positive class's share is the
    # leaf's contribution to predict_proba[:, 1].
    leaf = value[:, -1] / value.sum(axis=1) if value.shape[1] > 1 else value[:, 0]
    return Tree(
        feature=t.feature.astype(int),
        threshold=t.threshold.astype(float),
        left=t.children_left.astype(int),
        right=t.children_right.astype(int),
        value=leaf.astype(float),
        categorical=np.zeros(t.node_count, dtype=bool),
    )


def _hgb_tree(predictor: Any) -> Tree:
    nodes = predictor.nodes
    leaf = nodes["is_leaf"].astype(bool)
    return Tree(
        feature=np.where(leaf, -1, nodes["feature_idx"].astype(np.int64)),
        threshold=nodes["num_threshold"].astype(float),
        left=np.where(leaf, -1, nodes["left"].astype(np.int64)),
        right=np.where(leaf, -1, nodes["right"].astype(np.int64)),
        value=nodes["value"].astype(float),
        categorical=nodes["is_categorical"].astype(bool),
    )


def _flatten(rows: list[tuple[int, float, int, int, float, bool]]) -> Tree:
    array = np.array(rows, dtype=object)
    return Tree(
        feature=array[:, 0].astype(int),
        threshold=array[:, 1].astype(float),
        left=array[:, 2].astype(int),
        right=array[:, 3].astype(int),
        value=array[:, 4].astype(float),
        categorical=array[:, 5].astype(bool),
    )


def _lgb_tree(root: dict[str, Any]) -> Tree:
    rows: list[tuple[int, float, int, int, float, bool]] = []

    def visit(node: dict[str, Any]) -> int:
        i = len(rows)
        if "leaf_value" in node or "split_feature" not in node:
            rows.append((-1, np.nan, -1, -1, float(node.get("leaf_value", 0.0)), False))
            return i
        rows.append((0, 0.0, -1, -1, np.nan, False))
        left, right = visit(node["left_child"]), visit(node["right_child"])
        threshold = node["threshold"]
        categorical = node.get("decision_type", "<=") != "<="
        rows[i] = (
            int(node["split_feature"]),
            np.nan if categorical else float(threshold),
            left,
            right,
            np.nan,
            categorical,
        )
        return i

    visit(root)
    return _flatten(rows)


def _xgb_tree(root: dict[str, Any], index: dict[str, int]) -> Tree:
    rows: list[tuple[int, float, int, int, float, bool]] = []

    def visit(node: dict[str, Any]) -> int:
        i = len(rows)
        if "leaf" in node:
            rows.append((-1, np.nan, -1, -1, float(node["leaf"]), False))
            return i
        rows.append((0, 0.0, -1, -1, np.nan, False))
        children = {c["nodeid"]: c for c in node["children"]}
        # "yes" is the branch of x < split_condition: the lower values, our left.
        left, right = visit(children[node["yes"]]), visit(children[node["no"]])
        categorical = "split_condition" not in node
        rows[i] = (
            index[str(node["split"])],
            np.nan if categorical else float(node["split_condition"]),
            left,
            right,
            np.nan,
            categorical,
        )
        return i

    visit(root)
    return _flatten(rows)


def thresholds(ens: Ensemble, column: int) -> np.ndarray | None:
    """Sorted distinct split thresholds on ``column``; None when it has a categorical split."""
    found = []
    for tree in ens.trees:
        on = tree.feature == column
        if np.any(tree.categorical[on]):
            return None
        found.append(tree.threshold[on])
    return np.unique(np.concatenate(found)) if found else np.array([])


def proves_monotone(ens: Ensemble, column: int, sign: str) -> bool:
    """Whether every tree is monotone in ``column`` by a sufficient structural condition.

    At every split on ``column``, all leaves below the low side must be at most (``"+"``) or
    at least (``"-"``) all leaves below the high side. Each tree is then monotone in the
    feature whatever the other features are, hence so is their sum, mean and any increasing
    link. Models fitted with monotone constraints satisfy it by construction (their split
    values are bounded this way); an unconstrained model may be monotone and still fail it.
    """
    for tree in ens.trees:
        low, high = _subtree_ranges(tree)
        splits = np.flatnonzero(tree.feature == column)
        for node in splits:
            if tree.categorical[node]:
                return False
            left, right = tree.left[node], tree.right[node]
            if sign == "+" and high[left] > low[right]:
                return False
            if sign == "-" and low[left] < high[right]:
                return False
    return True


def _subtree_ranges(tree: Tree) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest leaf value below each node."""
    n = len(tree.feature)
    low = np.full(n, np.inf)
    high = np.full(n, -np.inf)
    # Children before parents, whatever each library's node numbering.
    for node in _postorder(tree):
        if tree.left[node] < 0:
            low[node] = high[node] = tree.value[node]
        else:
            kids = (tree.left[node], tree.right[node])
            low[node] = min(low[k] for k in kids)
            high[node] = max(high[k] for k in kids)
    return low, high


def _postorder(tree: Tree) -> list[int]:
    order: list[int] = []
    stack = [(0, False)]
    while stack:
        node, done = stack.pop()
        if done or tree.left[node] < 0:
            order.append(node)
            continue
        stack.append((node, True))
        stack.append((int(tree.right[node]), False))
        stack.append((int(tree.left[node]), False))
    return order


# --------------------------------------------------------------------------- saving
def save(model: Any, folder: str | os.PathLike[str], stem: str = "model") -> Path:
    """Write ``model`` in its own format: LightGBM text, XGBoost JSON, scikit-learn skops.

    Returns the file written. A scikit-learn model is written with ``skops`` (a dependency:
    its files load without running arbitrary code, so no pickle is ever written).
    """
    from causalinterp._io import write_bytes_atomic

    folder = Path(folder)
    kind = family(model)
    if kind == "lightgbm":
        path = folder / f"{stem}.lgb.txt"
        write_bytes_atomic(path, model.booster_.model_to_string().encode("utf-8"))
        return path
    if kind == "xgboost":
        import tempfile

        path = folder / f"{stem}.xgb.json"
        # The estimator's save_model keeps its scikit-learn attributes (classes, objective)
        # beside the booster; it writes only to a path, so go through a temporary file.
        with tempfile.TemporaryDirectory() as scratch:
            model.save_model(str(Path(scratch) / "model.json"))
            data = (Path(scratch) / "model.json").read_bytes()
        write_bytes_atomic(path, data)
        return path
    import skops.io as sio

    path = folder / f"{stem}.skops"
    write_bytes_atomic(path, sio.dumps(model))
    return path


def types_to_trust(path: Path) -> list[str]:
    """Types a saved ``.skops`` file holds beyond skops' defaults (to pass when loading it)."""
    if path.suffix != ".skops":
        return []
    import skops.io as sio

    return sorted(sio.get_untrusted_types(file=path))
