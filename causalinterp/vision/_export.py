"""Loading an image model from a file: the only module that calls ``torch.export``/``torch.load``.

``.pt2`` files are ``torch.export`` archives (``torch.export.save``): a graph of tensor
operations and the weights, loaded without running any code from the file. They are
unflattened back into their module hierarchy so that layers keep their names (``conv2``) and
can be hooked. TorchScript is deprecated in current PyTorch and is not read. ``.pt``/``.pth``
files are pickles: loading one runs any code it holds, so they are refused unless the user
says they trust the file.
"""

from __future__ import annotations

from pathlib import Path

import torch

from causalinterp.errors import ModelError, first_line

__all__ = ["EXPORT", "PICKLE", "load_image_model"]

EXPORT = (".pt2",)
PICKLE = (".pt", ".pth", ".pkl")
_EXPORT_FIX = (
    "save it with torch.export.save(torch.export.export(model, (example_images,)), 'model.pt2')"
)


def load_image_model(path: str | Path, *, trust_pickle: bool = False) -> torch.nn.Module:
    """Load a PyTorch image classifier from a file, safely.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``torch.export`` archive (``.pt2``), or with ``trust_pickle`` a pickled
        ``nn.Module`` (``.pt``, ``.pth``: ``torch.save(model, path)``).
    trust_pickle : bool, default False
        Load pickles. Loading a pickle runs any code it holds: pass True only for files you
        made yourself or fully trust.

    Returns
    -------
    torch.nn.Module
        In evaluation mode. An exported program comes back with its module hierarchy.

    Raises
    ------
    ModelError
        Missing file, unknown extension, a pickle without ``trust_pickle``, an unreadable file,
        or a pickle holding something other than a module (a state dict, say).
    """
    file = Path(path)
    shown = str(path)
    if not file.is_file():
        raise ModelError(f"model file {shown!r}: does not exist; pass the path of a saved model")
    suffix = file.suffix.lower()
    if suffix in EXPORT:
        try:
            program = torch.export.load(file)
            model = torch.export.unflatten(program)
        except Exception as error:  # torch raises many kinds for a file it cannot read
            raise ModelError(
                f"model file {shown!r}: not a readable torch.export archive "
                f"({first_line(error)}); {_EXPORT_FIX}"
            ) from None
    elif suffix in PICKLE:
        if not trust_pickle:
            raise ModelError(
                f"model file {shown!r}: a pickle, which runs code when loaded, refused; "
                f"{_EXPORT_FIX}, or pass --trust-pickle (trust_pickle=True) for a file you made"
            )
        try:
            model = torch.load(file, map_location="cpu", weights_only=False)
        except Exception as error:  # unpickling raises anything the file's code raises
            raise ModelError(
                f"model file {shown!r}: cannot be loaded ({first_line(error)}); {_EXPORT_FIX}"
            ) from None
        if not isinstance(model, torch.nn.Module):
            raise ModelError(
                f"model file {shown!r}: holds a {type(model).__name__}, not a torch.nn.Module; "
                "save the model itself (a state dict needs its class): " + _EXPORT_FIX
            )
    else:
        known = ", ".join(EXPORT + PICKLE)
        raise ModelError(
            f"model file {shown!r}: unknown extension {suffix or '(none)'!r}; use one of "
            f"{known}: {_EXPORT_FIX}"
        )
    return model.eval()
