"""Diagnosis: rank measures, the layer-wise NTK (factorised per dense layer, with a
Jacobian-contraction reference), :func:`diagnose` per layer, and their figures."""
from __future__ import annotations

from .inlet import inlet_rank
from .per_layer import Diagnosis, LayerDiagnosis, diagnose
from .rank import RankMeasures
from .ntk import LayerwiseNTK, NTKFactors, dense_layers, jacobian_ntk, layerwise_ntk, ntk_factors
from .scale import BlockSpectrum, ntk_spectra
from .tables import table_ntk_block

__all__ = ["Diagnosis", "LayerDiagnosis", "diagnose", "inlet_rank", "RankMeasures", "LayerwiseNTK", "NTKFactors",
           "dense_layers", "ntk_factors", "layerwise_ntk", "jacobian_ntk", "BlockSpectrum",
           "ntk_spectra", "table_ntk_block"]
