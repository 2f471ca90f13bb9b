"""causalinterp: which of a model's explanations may be read as causes."""

__version__ = "0.1.0"
