"""Whether the vision extra (PyTorch and Captum) is installed, checked without importing it."""

from __future__ import annotations

from importlib.util import find_spec

from causalinterp.errors import OptionError

#: How to install what ``causalinterp.vision`` needs.
FIX = "install the vision extra: pip install -e .[vision]"


def require_extra() -> None:
    """Raise a one-line OptionError naming the fix when PyTorch or Captum is missing.

    ``find_spec`` looks for the packages without importing them, so the check is cheap and
    leaves ``sys.modules`` as it was.
    """
    for module, name in (("torch", "PyTorch"), ("captum", "Captum")):
        if find_spec(module) is None:
            raise OptionError(f"vision: {name} is not installed; {FIX}")
