"""The user's model from a file: ``--model FILE`` on the command line, ``model`` in case.toml.

Formats, recognised by the file's extension (and, for text models, its first line):

==========================  ========================================================
``.skops``                  scikit-learn estimators and Pipelines saved with
                            ``skops.io.dump``; loaded with skops' trusted-types check
``.txt`` / ``.lgb``         LightGBM text models (``booster.save_model("model.txt")``)
``.json`` / ``.ubj``        XGBoost models (``model.save_model("model.json")``)
``.cbm``                    CatBoost models, when CatBoost is installed
``.pkl`` / ``.joblib`` ...  pickles: refused unless ``trust_pickle=True``
==========================  ========================================================

Pickle and joblib files run arbitrary code when loaded, so they are refused unless the user
says they trust the file. skops files hold only the types skops trusts by default
(scikit-learn, numpy, scipy); any other type in the file (a LightGBM model inside a
Pipeline, a custom transformer) is listed in the error and must be named as trusted.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from causalinterp.errors import ModelError, first_line

#: Extensions by format.
SKOPS = (".skops",)
LIGHTGBM = (".txt", ".lgb", ".lightgbm")
XGBOOST = (".json", ".ubj")
CATBOOST = (".cbm",)
PICKLE = (".pkl", ".pickle", ".joblib", ".sav")

DEFAULT_MODEL_HELP = (
    "when no --model is given, causalinterp fits its own model on the features (scikit-learn "
    "HistGradientBoosting, a classifier for a binary outcome, else a regressor) and explains "
    "that model, not yours"
)


def load_model(
    path: str | Path, *, trust_pickle: bool = False, trusted_types: Sequence[str] = ()
) -> Any:
    """Load a fitted model from a file, safely.

    Parameters
    ----------
    path : str or pathlib.Path
        The model file; its format follows from its extension (see the module docstring).
    trust_pickle : bool, default False
        Load pickle/joblib files. Loading a pickle runs any code it holds: pass True only for
        files you made yourself or fully trust.
    trusted_types : sequence of str
        Types a skops file may hold beyond skops' defaults, by full name (e.g.
        ``"lightgbm.sklearn.LGBMClassifier"``), after you have checked them.

    Returns
    -------
    estimator
        A scikit-learn estimator or Pipeline, or a
        :class:`causalinterp.attribute._native.BoosterModel` (LightGBM/XGBoost files) with
        ``predict`` and, for binary classifiers, ``predict_proba``.

    Raises
    ------
    ModelError
        Missing file, unknown extension, a pickle without ``trust_pickle``, untrusted types in
        a skops file (listed), a library that is not installed, an unreadable file, or a
        loaded object without ``predict``.

    Examples
    --------
    >>> import tempfile, numpy as np, skops.io
    >>> from sklearn.linear_model import LinearRegression
    >>> m = LinearRegression().fit(np.arange(10.0).reshape(5, 2), np.arange(5.0))
    >>> path = tempfile.mkdtemp() + "/model.skops"
    >>> skops.io.dump(m, path)
    >>> type(load_model(path)).__name__
    'LinearRegression'
    """
    file = Path(path)
    shown = str(path)
    if not file.is_file():
        raise ModelError(f"model file {shown!r}: does not exist; pass the path of a saved model")
    suffix = file.suffix.lower()
    if suffix in PICKLE:
        model = _load_pickle(file, trust_pickle)
    elif suffix in SKOPS:
        model = _load_skops(file, trusted_types)
    elif suffix in LIGHTGBM:
        from causalinterp.attribute import _native

        if not _looks_like_lightgbm(file):
            raise ModelError(
                f"model file {shown!r}: is not a LightGBM text model (it does not start with "
                "'tree'); save the model with booster.save_model('model.txt')"
            )
        model = _native.load_lightgbm(file)
    elif suffix in XGBOOST:
        from causalinterp.attribute import _native

        model = _native.load_xgboost(file)
    elif suffix in CATBOOST:
        model = _load_catboost(file)
    else:
        known = ", ".join(SKOPS + LIGHTGBM + XGBOOST + CATBOOST + PICKLE)
        raise ModelError(
            f"model file {shown!r}: unknown extension {suffix or '(none)'!r}; save the model as "
            f"one of {known} (see docs/models.md)"
        )
    if not callable(getattr(model, "predict", None)):
        raise ModelError(
            f"model file {shown!r}: holds a {type(model).__name__}, which has no predict method; "
            "save the fitted estimator itself"
        )
    return model


def _load_pickle(file: Path, trust: bool) -> Any:
    if not trust:
        raise ModelError(
            f"model file {str(file)!r}: is a pickle/joblib file, which can run any code when "
            "loaded; save the model with skops (skops.io.dump(model, 'model.skops')), or pass "
            "--trust-pickle (Python: trust_pickle=True) if you made the file yourself"
        )
    import joblib

    try:
        return joblib.load(file)  # also reads plain pickles
    except Exception as exc:
        raise ModelError(
            f"model file {str(file)!r}: could not be unpickled ({type(exc).__name__}: "
            f"{first_line(exc)}); load it in the Python environment that saved it"
        ) from None


def _load_skops(file: Path, trusted_types: Sequence[str]) -> Any:
    import skops.io as sio  # a dependency: skops files are the safe format, always readable

    try:
        untrusted = sio.get_untrusted_types(file=file)
    except Exception as exc:
        raise ModelError(
            f"model file {str(file)!r}: is not a readable skops file ({first_line(exc)}); "
            "save the model with skops.io.dump(model, 'model.skops')"
        ) from None
    unknown = [t for t in untrusted if t not in set(trusted_types)]
    if unknown:
        listed = ", ".join(unknown)
        raise ModelError(
            f"model file {str(file)!r}: holds types skops does not trust by default ({listed}); "
            f"if you trust them, pass --trusted-types {','.join(unknown)} (Python: "
            "trusted_types=[...])"
        )
    try:
        return sio.load(file, trusted=list(untrusted))
    except Exception as exc:
        raise ModelError(
            f"model file {str(file)!r}: could not be loaded by skops ({type(exc).__name__}: "
            f"{first_line(exc)}); save it again with the installed scikit-learn"
        ) from None


def _looks_like_lightgbm(file: Path) -> bool:
    with file.open("rb") as handle:
        return handle.read(5) == b"tree\n"


def _load_catboost(file: Path) -> Any:
    try:
        import catboost
    except ImportError:
        raise ModelError(
            f"model file {str(file)!r}: is a CatBoost model but CatBoost is not installed; "
            "pip install catboost"
        ) from None
    model = catboost.CatBoost()
    try:
        model.load_model(str(file))
    except Exception as exc:
        raise ModelError(
            f"model file {str(file)!r}: not a readable CatBoost model ({first_line(exc)}); "
            "save it with model.save_model('model.cbm')"
        ) from None
    loss = str(model.get_all_params().get("loss_function", ""))
    if loss in ("Logloss", "CrossEntropy"):
        classifier = catboost.CatBoostClassifier()
        classifier.load_model(str(file))
        return classifier
    regressor = catboost.CatBoostRegressor()
    regressor.load_model(str(file))
    return regressor


# --------------------------------------------------------------------------- command line
def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--model FILE``, ``--trust-pickle`` and ``--trusted-types`` to a verb's parser.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_model_arguments(parser)
    >>> args = parser.parse_args(["--model", "model.skops"])
    >>> args.model, args.trust_pickle, args.trusted_types
    ('model.skops', False, None)
    """
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model",
        metavar="FILE",
        default=None,
        help="the fitted model to explain: .skops (scikit-learn, Pipelines), .txt (LightGBM), "
        ".json/.ubj (XGBoost), .cbm (CatBoost); " + DEFAULT_MODEL_HELP,
    )
    group.add_argument(
        "--trust-pickle",
        action="store_true",
        default=False,
        help="allow --model to be a pickle/joblib file. WARNING: loading a pickle runs any "
        "code it contains; use only for files you made yourself (prefer skops)",
    )
    group.add_argument(
        "--trusted-types",
        metavar="TYPES",
        default=None,
        type=lambda text: [t.strip() for t in text.split(",") if t.strip()],
        help="comma-separated types a .skops file may hold beyond skops' defaults (the error "
        "on loading lists them), e.g. lightgbm.sklearn.LGBMClassifier",
    )


def model_from_args(args: argparse.Namespace, *, base_dir: str | Path | None = None) -> Any:
    """The model named by ``--model`` (None when not given), loaded by :func:`load_model`.

    A relative path is taken relative to ``base_dir`` (the case file's folder for a
    ``model`` key in case.toml), else to the working directory.

    Examples
    --------
    >>> import argparse
    >>> model_from_args(argparse.Namespace(model=None)) is None
    True
    """
    path = getattr(args, "model", None)
    if path is None:
        return None
    file = Path(path)
    if base_dir is not None and not file.is_absolute():
        file = Path(base_dir) / file
    return load_model(
        file,
        trust_pickle=bool(getattr(args, "trust_pickle", False)),
        trusted_types=tuple(getattr(args, "trusted_types", None) or ()),
    )
