"""Variants of a loaded scenario: the one way to change settings after a file is read.

``variant(scenario, {"support.services.idva.staff": 112})`` sets key paths (the same dotted paths
as ``--set`` and scenario files) and validates the result; :data:`REMOVE` deletes a key (an
offence class, an optional section). ``scaled(scenario, F)`` multiplies every volume and capacity.
Both keep the scenario's sources. Runs, comparisons, sensitivity, calibration and the model checks
all make their variants here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from .loader import Problem, ScenarioError
from .schema import Scenario, complete, reference_problems


class _Remove:
    def __repr__(self) -> str:
        return "REMOVE"


REMOVE = _Remove()


def variant(scenario: Scenario, values: Mapping[str, Any]) -> Scenario:
    """A validated copy of ``scenario`` with each dotted key path set to its value (or removed).

    For an option, the same values are set in the scenario in force before its date too (where it
    has the setting): a varied parameter or a run setting is the world's, not the option's.
    Raises :class:`ScenarioError` naming the key when a path does not exist or a value is invalid.
    """
    out = _variant(scenario, values)
    if scenario.before is not None:
        before = scenario.before
        plain = before.model_dump(by_alias=True)
        out._before = _variant(before, {k: v for k, v in values.items() if has_setting(before, k, plain)})
    return out


def has_setting(scenario: Scenario, dotted: str, plain: dict | None = None) -> bool:
    """Does the scenario have the setting at this dotted key path? (``plain``: its dump, if made already.)"""
    node = scenario.model_dump(by_alias=True) if plain is None else plain
    for part in dotted.split(".")[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    return isinstance(node, dict) and (dotted.split(".")[-1] in node)


def _variant(scenario: Scenario, values: Mapping[str, Any]) -> Scenario:
    d = scenario.model_dump(by_alias=True)
    problems = []
    for dotted, value in values.items():
        parts = dotted.split(".")
        node = d
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or (parts[-1] not in node and value is REMOVE):
            problems.append(Problem("(variant)", dotted, "no such setting"))
        elif value is REMOVE:
            del node[parts[-1]]
        else:
            node[parts[-1]] = value
    if problems:
        raise ScenarioError(problems)
    try:
        complete()
        out = Scenario.model_validate(d)
    except ValidationError as exc:
        raise ScenarioError([Problem("(variant)", ".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors(include_url=False)]) from None
    refs = reference_problems(out)
    if refs:
        raise ScenarioError([Problem("(variant)", p, m) for p, m in refs])
    out._sources = scenario.sources
    return out


def with_run(scenario: Scenario, **settings) -> Scenario:
    """A variant with ``run:`` settings changed (those given as None are left as they are)."""
    return variant(scenario, {f"run.{k}": v for k, v in settings.items() if v is not None})


def scaled(scenario: Scenario, factor: float) -> Scenario:
    """A copy with every volume and capacity (fields tagged ``scales`` in the schema) times ``factor``."""
    out = scenario.model_copy(deep=True)
    _scale_in_place(out, factor)
    out._sources = scenario.sources
    out._before = scaled(scenario.before, factor) if scenario.before is not None else None
    return out


def _scale_in_place(model: BaseModel, factor: float) -> None:
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        for meta in field.metadata:
            if isinstance(getattr(meta, "json_schema_extra", None), dict):
                extra = {**extra, **meta.json_schema_extra}
        if "scales" in extra and isinstance(value, (int, float)):
            setattr(model, name, value * factor)
        elif isinstance(value, BaseModel):
            _scale_in_place(value, factor)
        elif isinstance(value, dict) and "scales" in extra:  # a volume by class
            setattr(model, name, {k: v * factor for k, v in value.items()})
        elif isinstance(value, dict):
            for v in value.values():
                if isinstance(v, BaseModel):
                    _scale_in_place(v, factor)
