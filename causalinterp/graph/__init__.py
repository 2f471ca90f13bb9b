"""The causal DAG: its value object, its text formats, its structure and its test against data."""

from causalinterp.graph.causal_graph import CausalGraph, FeatureSetDiagnosis

__all__ = ["CausalGraph", "FeatureSetDiagnosis"]
