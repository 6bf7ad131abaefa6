"""Reading scenario files: YAML, ``extends:`` inheritance, ``--set`` overrides, sources, errors.

A parameter may be written bare (``p_report: 0.189``) or with its provenance::

    p_report: {value: 0.189, source: "published-rates 1.1: ONS, Partner abuse in detail YE Mar 2023"}
    hr_withdrawal: {value: 0.8, low: 0.6, high: 1.0, source: "..."}

The provenance is kept beside the validated scenario (``Scenario.sources``) so reports can list every
assumption with its source, and disputed effects carry their range for sensitivity analysis.

Every problem found is reported at once, each naming the file it came from, the key path, what was
expected and what was found. Nothing here raises anything but :class:`ScenarioError`.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

import yaml
from pydantic import ValidationError

from ..files import located
from .intervention import fixed_changes, fixed_rules
from .schema import REPORT_CHECKS, Scenario, complete, reference_problems
from .timelines import INTERPOLATIONS, TIMELINE_KEYS, as_date, drawn_by_date
from .timelines import parse as timelines_parse

SOURCE_KEYS = frozenset({"value", "source", "low", "high", "dist", "note"})
DATED_KEYS = frozenset({"source", "note"}) | TIMELINE_KEYS  # a setting given as dated values (simcj.scenario.timelines)
# How `simcj compare --uncertainty` draws a ranged parameter: uniform over [low, high] (the default),
# or triangular with its mode at the value.
DISTRIBUTIONS = ("uniform", "triangular")
OVERRIDE_SOURCE = "set on the command line"
_UNION_TAGS = frozenset({"lognormal", "exponential", "gamma", "fixed"})


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    message: str
    via: tuple[str, ...] = ()  # the files that extend ``file``, nearest first: how the problem was reached

    def __str__(self) -> str:
        reached = f" (extended by {' <- '.join(self.via)})" if self.via else ""
        return f"{self.file}{reached}: {self.path or '(top level)'}: {self.message}"


class ScenarioError(Exception):
    """One or more problems in a scenario file; ``str()`` gives one line per problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# What a parameter's source says it is, read from how the source begins (see source_kind).
SOURCE_KINDS = ("published", "derived", "fitted", "assumption", "option", "unused")


def source_kind(source: str) -> str:
    """The kind of evidence behind a value, from its source text:

    * ``fitted`` — written by ``simcj calibrate`` or fitted by hand ("Hand-fitted", "Fitted ...");
    * ``assumption`` — "ASSUMPTION", "Unknown", or a derivation that rests on one ("Derived, ASSUMPTION");
    * ``derived`` — "Derived ..." from published figures;
    * ``option`` — the size of an option ("The option", "Baseline ... (the option)") or a ``--set``;
    * ``unused`` — "Unused: ...", a setting the class never reaches (a SARC route for domestic abuse),
      written only so that every setting is declared;
    * ``published`` — anything else: a publication, a seed document's line.
    """
    text = source.strip()
    low = text.lower()
    if low.startswith(("simcj calibrate", "hand-fitted", "fitted")):
        return "fitted"
    if low.startswith(("assumption", "unknown")) or (low.startswith("derived") and "assumption" in low):
        return "assumption"
    if low.startswith("derived"):
        return "derived"
    if low.startswith("the option") or "(the option)" in low or text == OVERRIDE_SOURCE:
        return "option"
    if low.startswith("unused"):
        return "unused"
    return "published"


@dataclass(frozen=True)
class ParamSource:
    """Where a parameter's value comes from, and the range the evidence allows."""

    source: str
    file: str
    low: Optional[float] = None
    high: Optional[float] = None
    note: Optional[str] = None
    dist: str = "uniform"  # how the range is drawn for --uncertainty

    @property
    def kind(self) -> str:
        return source_kind(self.source)


def provenance(sources: dict) -> dict[str, int]:
    """How many of a scenario's sourced parameters are of each kind (see :func:`source_kind`)."""
    counts = dict.fromkeys(SOURCE_KINDS, 0)
    for s in sources.values():
        counts[s.kind] += 1
    return counts


# --------------------------------------------------------------------------- reading and merging


MAX_FILE_BYTES = 5 * 1024 * 1024  # the baseline is about 40 kB; a larger file is a mistake, refused before parsing
MAX_ALIASES = 1000  # YAML aliases in one document (an "alias bomb" would otherwise expand without end)
MAX_EXTENDS = 32  # files in one extends: chain
MAX_NODES = 1_000_000  # values in a document once its aliases are expanded


class _Refused(yaml.YAMLError):
    def __init__(self, message: str, mark=None):
        super().__init__(message)
        self.problem, self.problem_mark = message, mark


class _Loader(yaml.SafeLoader):
    """Safe YAML that refuses what would silently change a scenario (a key given twice) or exhaust
    the machine (a document of aliases referring to aliases)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(f"more than {MAX_ALIASES} aliases (*name): refused", self.peek_event().start_mark)
        return super().compose_node(parent, index)

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None and _expanded_size(node, {}) > MAX_NODES:
            raise _Refused(f"expands to more than {MAX_NODES:,} values through its aliases: refused", node.start_mark)
        return node

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise _Refused(f"'{key}' is given twice (the first at line {seen[key] + 1}); YAML would keep only the last", key_node.start_mark)
            if isinstance(key, (str, int, float, bool)):
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def _expanded_size(node, memo: dict) -> int:
    """Values in a YAML node once every alias is expanded (shared nodes counted once per use).
    A node that contains itself through an alias (``&a [*a]``) has no finite size: refused."""
    key = id(node)
    if memo.get(key, 0) is None:
        raise _Refused("a value contains itself through an alias (&name ... *name): refused", node.start_mark)
    if key not in memo:
        memo[key] = None  # being counted: meeting it again below is a cycle
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(_expanded_size(n, memo) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
        else:
            size = 1
        memo[key] = min(size, MAX_NODES + 1)
    return memo[key]


def parse_yaml(text: str):
    """YAML text with the project's limits (see :class:`_Loader`); raises ``yaml.YAMLError``."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except RecursionError:
        raise _Refused("nested too deeply") from None


def read_yaml(path: Path) -> dict:
    """A YAML file of settings (a mapping), read with the project's limits; problems as ScenarioError."""
    shown = str(path)
    if path.is_dir():
        raise ScenarioError([Problem(shown, "", "is a folder, not a file")])
    if not path.is_file():
        raise ScenarioError([Problem(shown, "", "file not found")])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ScenarioError([Problem(shown, "", f"is {size / 1e6:.1f} MB; a settings file is at most {MAX_FILE_BYTES // 2**20} MB")])
    try:
        data = parse_yaml(path.read_bytes().decode("utf-8-sig"))  # a byte-order mark is allowed
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        reason = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([Problem(shown, "", f"not valid YAML at {where}: {reason}")]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(shown, "", f"not UTF-8 text ({exc.reason})")]) from None
    if data is None:
        raise ScenarioError([Problem(shown, "", "the file is empty: expected a mapping of settings")])
    if not isinstance(data, dict):
        raise ScenarioError([Problem(shown, "", f"expected a mapping of settings, found {type(data).__name__}")])
    return data


def _is_sourced(node: Any) -> bool:
    """A value with its provenance: ``{value:, source:}``, or dated values ``{timeline:, source:}``."""
    return isinstance(node, dict) and (("value" in node and set(node) <= SOURCE_KEYS) or _is_dated(node))


def _is_dated(node: Any) -> bool:
    return isinstance(node, dict) and "timeline" in node and "value" not in node and set(node) <= DATED_KEYS


def _merge(base: dict, over: dict, origins: dict, file: str, prefix: str = "") -> None:
    """Deep-merge ``over`` into ``base`` in place; a sourced value replaces as a whole, and so does an
    empty mapping (``performance: {}`` clears the parent's indicators)."""
    for key, value in over.items():
        path = f"{prefix}{key}"
        old = base.get(key)
        if isinstance(value, dict) and value and not _is_sourced(value) and isinstance(old, dict) and not _is_sourced(old):
            _merge(old, value, origins, file, path + ".")
        else:
            base[key] = copy.deepcopy(value)
            for p in [p for p in origins if p == path or p.startswith(path + ".")]:
                del origins[p]
            origins[path] = file


def _resolve(path: Path, chain: tuple[Path, ...]) -> tuple[dict, dict]:
    data = read_yaml(path)
    parent = data.pop("extends", None)
    fitted = data.pop("calibration", None)
    base: dict = {}
    origins: dict = {}
    if parent is not None:
        if not isinstance(parent, str):
            raise ScenarioError([Problem(str(path), "extends", f"expected a file name, found {parent!r}")])
        parent_path = (path.parent / parent).resolve()
        if parent_path in chain or parent_path == path.resolve():
            loop = [*chain[chain.index(parent_path):], path.resolve(), parent_path] if parent_path in chain else [path.resolve(), parent_path]
            raise ScenarioError([Problem(str(path), "extends", f"'{parent}' makes a cycle: {' -> '.join(p.name for p in loop)}")])
        if len(chain) >= MAX_EXTENDS:
            raise ScenarioError([Problem(str(path), "extends", f"more than {MAX_EXTENDS} files in the extends: chain")])
        if not parent_path.is_file():
            what = "a folder, not a file" if parent_path.is_dir() else "not found"
            raise ScenarioError([Problem(str(path), "extends", f"'{parent}' ({parent_path}) is {what}")])
        try:
            base, origins = _resolve(parent_path, chain + (path.resolve(),))
        except ScenarioError as exc:  # a problem in a parent: say which file extended it
            raise ScenarioError([replace(p, via=(*p.via, str(path))) if p.file != str(path) else p for p in exc.problems]) from None
    _merge(base, data, origins, str(path))
    if fitted is not None:
        _apply_fitted(base, origins, path, fitted)
    return base, origins


def _apply_fitted(tree: dict, origins: dict, path: Path, fitted) -> None:
    """Lay the values in a fitted-parameters file (``simcj calibrate`` writes it) over this file's own.

    It applies at the level of the file that names it, so scenarios extending that file, and
    ``--set``, still override fitted values.
    """
    if not isinstance(fitted, str):
        raise ScenarioError([Problem(str(path), "calibration", f"expected a file name, found {fitted!r}")])
    fitted_path = (path.parent / fitted).resolve()
    if not fitted_path.is_file():
        what = "a folder, not a file" if fitted_path.is_dir() else "not found"
        raise ScenarioError([Problem(str(path), "calibration", f"'{fitted}' ({fitted_path}) is {what}")])
    data = read_yaml(fitted_path)
    params = data.get("parameters")
    if not isinstance(params, dict):
        raise ScenarioError([Problem(str(fitted_path), "parameters", "expected a mapping of key path to {value, source}")])
    problems = []
    for key, entry in params.items():
        if not _is_sourced(entry):
            problems.append(Problem(str(fitted_path), f"parameters.{key}", "expected {value: ..., source: ...}"))
            continue
        node = tree
        parts = str(key).split(".")
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or parts[-1] not in node:
            problems.append(Problem(str(fitted_path), f"parameters.{key}", "no such setting in the scenario it calibrates"))
            continue
        node[parts[-1]] = dict(entry)
        origins[str(key)] = str(fitted_path)
    if problems:
        raise ScenarioError(problems)


def _apply_set(tree: dict, origins: dict, assignment: str) -> Optional[Problem]:
    if "=" not in assignment:
        return Problem("--set", assignment, "expected KEY=VALUE, e.g. courts.crown.sitting_days_per_year=27500")
    key, text = assignment.split("=", 1)
    key = key.strip()
    parts = key.split(".")
    if not key or any(not p for p in parts):
        return Problem("--set", key, "expected a dotted key path such as offences.rape.reporting.p_report")
    try:
        value = parse_yaml(text)
    except yaml.YAMLError as exc:
        return Problem("--set", key, f"value {text!r} is not valid YAML ({getattr(exc, 'problem', None) or exc})")
    node = tree
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict) or _is_sourced(nxt):
            return Problem("--set", key, f"'{'.'.join(parts[: i + 1])}' is a value, not a section")
        node = nxt
    leaf = parts[-1]
    if _is_sourced(node.get(leaf)) and not isinstance(value, dict):
        kept = {k: v for k, v in node[leaf].items() if k not in TIMELINE_KEYS}  # a value set replaces the timeline
        node[leaf] = {**kept, "value": value, "source": OVERRIDE_SOURCE}
    else:
        node[leaf] = value
    origins[key] = "--set"
    return None


def _collapse_sources(node: Any, origins: dict, prefix: str, sources: dict, problems: list, timelines: dict | None = None, start=None) -> Any:
    """Replace each ``{value:, source:}`` by its value, recording the provenance; and each
    ``{timeline:, source:}`` by its first value, recording the timeline in ``timelines``."""
    if isinstance(node, list):
        return [_collapse_sources(v, origins, f"{prefix}.{i}", sources, problems, timelines, start) for i, v in enumerate(node)]
    if isinstance(node, dict) and "timeline" in node:
        return _collapse_dated(node, origins, prefix.lstrip("."), sources, problems, timelines, start)
    if isinstance(node, dict) and "value" in node and not _is_sourced(node):
        path = prefix.lstrip(".")
        unknown = sorted(set(node) - SOURCE_KEYS)
        problems.append(Problem(_origin(origins, path), path, f"unknown key(s) {unknown} beside value; expected {sorted(SOURCE_KEYS)}"))
        return node.get("value")
    if not isinstance(node, dict):
        problem = _bad_value(node)
        if problem:
            path = prefix.lstrip(".")
            problems.append(Problem(_origin(origins, path), path, problem))
        return node
    if _is_sourced(node):
        path = prefix.lstrip(".")
        file = _origin(origins, path)
        if not isinstance(node.get("source"), str) or not node["source"].strip():
            problems.append(Problem(file, path, "a {value: ...} entry needs a source: the seed file and line, or the publication"))
        for key in ("value", "low", "high"):
            problem = _bad_value(node.get(key))
            if problem:
                problems.append(Problem(file, f"{path}.{key}" if key != "value" else path, problem))
        for bound in ("low", "high"):
            if node.get(bound) is not None and not isinstance(node[bound], (int, float)):
                problems.append(Problem(file, f"{path}.{bound}", f"expected a number, found {node[bound]!r}"))
        low, high, value = node.get("low"), node.get("high"), node.get("value")
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (low, high, value))
        if numbers and not low <= value <= high:
            problems.append(Problem(file, path, f"expected low <= value <= high, found {low!r} <= {value!r} <= {high!r}"))
        dist = node.get("dist", "uniform")
        if dist not in DISTRIBUTIONS:
            problems.append(Problem(file, f"{path}.dist", f"expected one of {list(DISTRIBUTIONS)}, found {dist!r}"))
        sources[path] = ParamSource(
            source=str(node.get("source", "")), file=file, low=node.get("low"), high=node.get("high"), note=node.get("note"), dist=str(dist)
        )
        return node["value"]
    return {k: _collapse_sources(v, origins, f"{prefix}.{k}", sources, problems, timelines, start) for k, v in node.items()}


def _collapse_dated(node: dict, origins: dict, path: str, sources: dict, problems: list, timelines: dict | None, start=None) -> Any:
    """A setting given as dated values: its value on the run's start date (without one, its first),
    the timeline recorded."""
    file = _origin(origins, path)
    unknown = sorted(set(node) - DATED_KEYS)
    if unknown:
        problems.append(Problem(file, path, f"unknown key(s) {unknown} beside timeline; expected {sorted(DATED_KEYS)}"))
        return None
    if not isinstance(node.get("source"), str) or not node["source"].strip():
        problems.append(Problem(file, path, "a {timeline: ...} entry needs a source: the publication of the dated values"))
    timeline, found = timelines_parse(node)
    problems += [Problem(file, f"{path}.{key}", message) for key, message in found]
    if timeline is None:
        return None
    if timelines is None:
        problems.append(Problem(file, path, "dated values are not allowed here"))
        return None
    timelines[path] = timeline
    sources[path] = ParamSource(source=str(node.get("source", "")), file=file, note=node.get("note"))
    return timeline.points[0][1] if start is None else timeline.at_date(start)


def is_finite_number(value) -> bool:
    """A number as a setting needs one: an int or float (not a yes-or-no), and finite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bad_value(value) -> Optional[str]:
    """What is wrong with a leaf value (no setting is true or false; every number is finite)."""
    if isinstance(value, bool):
        return f"expected a number or a name, found {str(value).lower()} (YAML reads true/false/yes/no/on/off as yes-or-no)"
    if isinstance(value, float) and not math.isfinite(value):
        return f"expected a finite number, found {value!r}"
    return None


def _origin(origins: dict, path: str) -> str:
    """The file that set ``path``: the longest recorded prefix wins."""
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        hit = origins.get(".".join(parts[:n]))
        if hit is not None:
            return hit
    return origins.get("", "")


def _validation_problems(exc: ValidationError, origins: dict) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"] if str(p) not in _UNION_TAGS and not str(p).startswith("function-")]
        path = ".".join(loc)
        message = err["msg"]
        if err["type"] == "missing":
            message = "required setting is missing"
        elif err["type"] == "extra_forbidden":
            message = "unknown setting (check the spelling; `simcj schema` lists every setting)"
        found = err.get("input")
        if err["type"] not in ("missing", "extra_forbidden") and not isinstance(found, (dict, list)):
            message += f" (found {found!r})"
        problems.append(Problem(_blame(origins, path), path, message))
    return problems


def _blame(origins: dict, path: str) -> str:
    """The file to name for a problem at ``path``: for a check across a section's settings, the most
    derived file that set any of them (the child that broke it, not the baseline it extends)."""
    top = origins.get("")
    below = {f for k, f in origins.items() if k and (k == path or k.startswith(path + "."))}
    if "--set" in below:  # applied last, over every file
        return "--set"
    if top in below:
        return top
    return _origin(origins, path)


# --------------------------------------------------------------------------- public API


def resolve_tree(path: str | Path, overrides: Iterable[str] = ()) -> tuple[dict, dict]:
    """The merged raw tree of a scenario (after ``extends`` and ``--set``) and each key's file."""
    path = Path(path)
    tree, origins = _resolve(path, ())
    origins.setdefault("", str(path))
    problems = [p for p in (_apply_set(tree, origins, a) for a in overrides) if p is not None]
    if problems:
        raise ScenarioError(problems)
    return tree, origins


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, merge, override and validate a scenario file.

    Raises :class:`ScenarioError` listing every problem found. ``scenarios/...`` is found in the
    installed package when it is not in the working folder (:func:`simcj.files.located`).
    """
    path = located(path)
    tree, origins = resolve_tree(path, overrides)
    sources: dict[str, ParamSource] = {}
    problems: list[Problem] = []
    timelines: dict = {}
    plain = _collapse_sources(tree, origins, "", sources, problems, timelines, _start_date(tree))
    try:
        scenario = Scenario.model_validate(plain)
    except ValidationError as exc:
        raise ScenarioError(problems + _validation_problems(exc, origins)) from None
    if timelines:
        problems += [Problem(_origin(origins, p), p, m) for p, m in timeline_problems(scenario, timelines)]
        if not problems:
            scenario = _on_day_zero(scenario, timelines, origins)
    problems += [Problem(_origin(origins, p), p, m) for p, m in reference_problems(scenario)]
    if not problems:  # naming a KPI needs the stages to exist
        problems += [Problem(_origin(origins, p), p, m) for check in REPORT_CHECKS for p, m in check(scenario)]
    if problems:
        raise ScenarioError(problems)
    scenario._sources = {**scenario.sources, **sources}
    parent = read_yaml(Path(path)).get("extends")
    if isinstance(parent, str):
        parent_path = (Path(path).parent / parent).resolve()
        before = load_scenario(parent_path, _overrides_for(parent_path, overrides))
        before._before = None  # before the date the parent runs as a whole, from the start
        fixed = fixed_changes(before, scenario)
        date = scenario.run.intervention_years
        if fixed and date:
            raise ScenarioError(
                [Problem(_origin(origins, p), p, f"cannot change at the intervention date (run.intervention_years: {date:g}): {why}") for p, why in fixed]
            )
        if not fixed and date != 0:
            scenario._before = before
        # otherwise a variant of its parent's world from the start: it changes what makes the cases
    return scenario


def _start_date(tree: dict):
    """``run.start_date`` as written in the merged file (a date, or None)."""
    run = tree.get("run")
    start = run.get("start_date") if isinstance(run, dict) else None
    return as_date(start.get("value") if _is_sourced(start) else start)


def timeline_problems(scenario: Scenario, timelines: dict) -> list[tuple[str, str]]:
    """Dated values need the run's start date, and a setting that is drawn or built before the run
    cannot follow a timeline (unless its draw does: :data:`simcj.scenario.timelines.DRAWN_BY_DATE`)."""
    problems = []
    if scenario.run.start_date is None:
        problems += [(p, "dated values need run.start_date: the calendar date of day 0 (YYYY-MM-DD)") for p in timelines]
    rules = fixed_rules(scenario)
    for path in timelines:
        why = next((why for rule, why in rules if re.search(rule, path)), None)
        if why is not None and not drawn_by_date(path):
            problems.append((path, f"cannot follow a timeline: {why}"))
    return problems


def _on_day_zero(scenario: Scenario, timelines: dict, origins: dict) -> Scenario:
    """The scenario with each dated setting at its value on day 0, and its timelines; the settings
    in force on each later date are checked too, so that a run never meets an invalid one."""
    from .variants import variant

    start = scenario.run.start_date
    sources = scenario.sources
    days = sorted({0.0} | {float((d - start).days) for t in timelines.values() for d, _ in t.points if d > start})
    problems, out = [], None
    for day in days:
        try:
            valid = variant(scenario, {p: t.at(day, start) for p, t in timelines.items()})
        except ScenarioError as exc:
            when = start + dt.timedelta(days=day)
            problems += [Problem(_origin(origins, p.path), p.path, f"the values in force on {when}{' (day 0)' if day == 0 else ''}: {p.message}") for p in exc.problems]
            continue
        out = valid if out is None else out
    if problems:
        raise ScenarioError(problems)
    out._sources = sources
    out._timelines = dict(timelines)
    return out


def _overrides_for(path: Path, overrides: Iterable[str]) -> list[str]:
    """The ``--set`` assignments that apply to a parent scenario: those whose section it has (a
    variant may add a section its parent lacks, such as the women's pathway)."""
    tree, _ = resolve_tree(path)
    out = []
    for assignment in overrides:
        parts = assignment.split("=", 1)[0].strip().split(".")
        node = tree
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            out.append(assignment)
    return out


def json_schema() -> dict:
    """JSON Schema of scenario files, allowing ``{value, source, low, high}`` and dated values
    ``{timeline, interpolation, source}`` wherever a number goes."""
    complete()
    schema = Scenario.model_json_schema(by_alias=True)
    schema["properties"]["extends"] = {"type": "string", "description": "a scenario file this one overrides"}
    schema["properties"]["calibration"] = {"type": "string", "description": "a fitted-parameters file (simcj calibrate) laid over this file's values"}
    _allow_sourced(schema)
    return schema


def _allow_sourced(node: Any) -> None:
    if isinstance(node, list):
        for v in node:
            _allow_sourced(v)
        return
    if not isinstance(node, dict):
        return
    for key, value in list(node.items()):
        if key == "properties" and isinstance(value, dict):
            for pname, prop in value.items():
                if isinstance(prop, dict) and _is_numeric(prop):
                    value[pname] = _sourced_schema(prop)
                else:
                    _allow_sourced(prop)
        elif key == "additionalProperties" and isinstance(value, dict) and _is_numeric(value):
            node[key] = _sourced_schema(value)
        else:
            _allow_sourced(value)


def _is_numeric(prop: dict) -> bool:
    kinds = [prop.get("type")] + [a.get("type") for a in prop.get("anyOf", []) if isinstance(a, dict)]
    return any(k in ("number", "integer") for k in kinds)


def _sourced_schema(prop: dict) -> dict:
    bare = {k: v for k, v in prop.items() if k not in ("title", "description", "default", "scales")}
    meta = {k: v for k, v in prop.items() if k in ("title", "description", "default", "scales")}
    sourced = {
        "type": "object",
        "properties": {
            "value": bare,
            "source": {"type": "string", "minLength": 1},
            "low": {"type": "number"},
            "high": {"type": "number"},
            "dist": {"type": "string", "enum": list(DISTRIBUTIONS)},
            "note": {"type": "string"},
        },
        "required": ["value", "source"],
        "additionalProperties": False,
    }
    dated = {
        "type": "object",
        "properties": {
            "timeline": {"type": "object", "propertyNames": {"pattern": r"^\d{4}-\d{2}-\d{2}$"}, "additionalProperties": bare, "minProperties": 1},
            "interpolation": {"type": "string", "enum": list(INTERPOLATIONS)},
            "source": {"type": "string", "minLength": 1},
            "note": {"type": "string"},
        },
        "required": ["timeline", "source"],
        "additionalProperties": False,
    }
    return {**meta, "anyOf": [bare, sourced, dated]}
