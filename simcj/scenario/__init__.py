"""Scenario files: schema, loading, overrides and errors."""

from .loader import (
    ParamSource,
    Problem,
    ScenarioError,
    json_schema,
    load_scenario,
)
from .schema import Scenario
from .variants import REMOVE, scaled, variant, with_run

__all__ = ["ParamSource", "Problem", "Scenario", "ScenarioError", "json_schema", "load_scenario", "REMOVE", "scaled", "variant", "with_run"]
