"""The intervention date: an option's own settings apply from it, the scenario it extends before it.

A scenario that ``extends`` another is an option on it. Run alone or compared, it simulates the
parent's world until ``run.intervention_years`` (default: the end of the warm-up) and its own from
then on, so that before the date every case, queue and time series is the parent's. What an option
may change at the date is what can change in a running system: staff and caseloads, sitting days,
courts and lists, decision probabilities and durations of work not yet started, effects and unit
costs. What makes the cases themselves (incidents, reporting, the victims' withdrawal law, the
population, the offence classes) and the background load of the courts cannot change at a date: a
file that changes them is a variant of its parent's world from the start (as is any file with
``run.intervention_years: 0``), and naming a date for such a change is an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Settings fixed for the whole run whatever the pathway: (regular expression over dotted key paths, why).
FIXED = (
    (r"^population(\.|$)", "who the victims are is drawn before the run"),
    (r"^pathway(\.|$)", "the stages are built once"),
    (r"^offences\.[^.]+$", "offence classes cannot appear or disappear at a date"),
)
# The rules of the scenario's stages, given by the layer that knows them (each stage's
# ``fixed_at_date``), so that this one imports nothing above it.
STAGE_RULES: list[Callable[[Any], list[tuple[str, str]]]] = []


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(_flat(v, f"{prefix}{k}."))
        if not node:
            out[prefix.rstrip(".")] = {}
        return out
    return {prefix.rstrip("."): node}


def changed_settings(before, after) -> list[str]:
    """Dotted key paths whose values differ between two scenarios (run settings and names aside)."""
    a = _flat(before.model_dump(mode="json", exclude={"run", "name", "description"}))
    b = _flat(after.model_dump(mode="json", exclude={"run", "name", "description"}))
    out = [k for k in sorted(set(a) | set(b)) if a.get(k, "\0absent") != b.get(k, "\0absent")]
    classes = set(before.offences) ^ set(after.offences)
    return sorted(set(out) | {f"offences.{c}" for c in classes})


def fixed_rules(scenario) -> list[tuple[str, str]]:
    """(regular expression over key paths, why) for every setting fixed for the whole run."""
    return [*FIXED, *(rule for rules in STAGE_RULES for rule in rules(scenario))]


def fixed_changes(before, after) -> list[tuple[str, str]]:
    """(key path, why) for each change an option cannot make at its intervention date."""
    problems = []
    for path in changed_settings(before, after):
        parts = path.split(".")
        if parts[:2] == ["support", "services"] and parts[2] not in before.support.services:
            continue  # a service the option opens is built at the date, its waiting list with it
        if parts[:2] == ["marac", "agency_referrals_per_year"] and after.marac is None:
            continue  # no MARACs from the date: the agencies' referrals close unheard
        if parts[:2] == ["women", "services"] and before.women is not None and parts[2] not in before.women.services:
            continue  # a women's service the option opens draws its outside referrals at the date
        for pattern, why in fixed_rules(before):
            if re.search(pattern, path):
                problems.append((path, why))
                break
    return problems
