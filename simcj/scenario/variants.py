"""Variants of a loaded scenario: the one way to change settings after a file is read.

``variant(scenario, {"support.services.idva.staff": 112})`` sets key paths (the same dotted paths
as ``--set`` and scenario files) and validates the result; :data:`REMOVE` deletes a key (an
offence class, an optional section). ``scaled(scenario, F)`` multiplies every volume and capacity.
Both keep the scenario's sources. Runs, comparisons, sensitivity, calibration and the model checks
all make their variants here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ValidationError

from .loader import Problem, ScenarioError
from .schema import Scenario, reference_problems


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
        out = Scenario.model_validate(d)
    except ValidationError as exc:
        raise ScenarioError([Problem("(variant)", ".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors(include_url=False)]) from None
    refs = reference_problems(out)
    if refs:
        raise ScenarioError([Problem("(variant)", p, m) for p, m in refs])
    out._sources = scenario.sources
    out._timelines = {p: t for p, t in scenario.timelines.items() if p not in values}  # a value set replaces its timeline
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
    out._timelines = {p: replace(t, points=tuple((d, v * factor) for d, v in t.points)) if scales(out, p) else t for p, t in scenario.timelines.items()}
    return out


def scales(scenario: Scenario, dotted: str) -> bool:
    """Is the setting at ``dotted`` a volume or a capacity (scaled by ``--scale``)?"""
    node, extra = scenario, {}
    for part in dotted.split("."):
        if isinstance(node, BaseModel):
            field = type(node).model_fields.get(part)
            if field is None:
                return False
            extra, node = _extra(field), getattr(node, part)
        elif isinstance(node, dict):
            node = node.get(part)  # a volume by class keeps its field's tag
        else:
            return False
    return "scales" in extra and isinstance(node, (int, float))


def at_day(scenario: Scenario, day: float) -> Scenario:
    """The scenario with each dated setting at its value on ``day`` (itself without timelines)."""
    if not scenario.timelines:
        return scenario
    out = _variant(scenario, {p: t.at(day, scenario.run.start_date) for p, t in scenario.timelines.items()})
    out._timelines = scenario.timelines
    return out


def schedule(scenario: Scenario, after: float, until: float) -> list[tuple[float, Scenario]]:
    """(day, the scenario in force from that day) for each day in (after, until) on which a dated
    setting changes value."""
    start = scenario.run.start_date
    days = sorted({d for t in scenario.timelines.values() for d in t.change_days(start, until) if d > after}) if start else []
    return [(day, at_day(scenario, day)) for day in days]


def _scale_in_place(model: BaseModel, factor: float) -> None:
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        extra = _extra(field)
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


def _extra(field) -> dict:
    """A field's JSON-schema extras, from the field and its type's constraints (``scales``)."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    for meta in field.metadata:
        if isinstance(getattr(meta, "json_schema_extra", None), dict):
            extra = {**extra, **meta.json_schema_extra}
    return extra
