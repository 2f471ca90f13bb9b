"""pytest collects this package's doctests only where the vision extra is installed."""

from importlib.util import find_spec

collect_ignore_glob = ["*.py"] if find_spec("torch") is None or find_spec("captum") is None else []
