"""Scenario files: schema, loading, overrides and errors."""

from .loader import (
    ParamSource,
    Problem,
    ScenarioError,
    json_schema,
    load_scenario,
    scaled,
)
from .schema import OFFENCE_CLASSES, Scenario

__all__ = ["OFFENCE_CLASSES", "ParamSource", "Problem", "Scenario", "ScenarioError", "json_schema", "load_scenario", "scaled"]
