"""The scenario schema: the scenario's model, and the types every stage's settings are built from.

Each stage's own settings (its section of the scenario, or of an offence class) are a model in the
stage's module, registered with :func:`section`; the models here name them, and :func:`complete`
imports the stages and resolves those names before a scenario is validated. A scenario file is
validated against these models. Unknown keys are errors (a typo must not be
silently ignored). Fields that are volumes (things per year, initial backlogs) or capacities (staff,
sitting days, courts) are tagged with ``scales``, so ``--scale F`` multiplies exactly those and no
others; see :func:`simcj.scenario.loader.scaled`.

Units: time in days, volumes per year, money in GBP at ``price_year`` prices.
"""

from __future__ import annotations

import datetime
import importlib
import pkgutil
from collections.abc import Callable
from typing import Annotated, Optional

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    field_validator,
    model_validator,
)

Prob = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
VOLUME = {"scales": "volume"}
# Sanity bounds: far above London (900,000 incidents and 25,000 sitting days a year), far below what
# overflows a Poisson draw or exhausts memory.
MAX_VOLUME = 1e8
MAX_CAPACITY = 1e7
MAX_YEARS = 100.0
CAPACITY = {"scales": "capacity"}

RISK_LEVELS = ("standard", "medium", "high")
VENUES = ("magistrates", "sdvc", "crown")
# The stages of the VAWG pathway, in the order a recorded crime reaches them: her history is linked
# first, support and a MARAC referral are offered at report, before the investigation starts, and a
# programme referral comes last (at conviction, after the sentence is known).
DEFAULT_PATHWAY = ("reporting", "repeats", "support", "marac", "refuges", "police", "charging", "courts", "sentencing", "programmes")


PATHWAYS = ("simcj.vawg", "simcj.women")  # the packages whose modules are stages


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


SECTIONS: dict[str, type[Strict]] = {}  # a stage module's settings models, by class name


def section(cls: type[Strict]) -> type[Strict]:
    """Class decorator: a stage's settings model, which the scenario's models may name."""
    SECTIONS[cls.__name__] = cls
    globals()[cls.__name__] = cls
    return cls


def complete() -> None:
    """Import every stage (each registers its settings models) and resolve the names the scenario's
    models give them: called before a scenario is validated or its JSON Schema is written."""
    if Scenario.__pydantic_complete__:
        return
    for package in PATHWAYS:
        for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
            importlib.import_module(f"{package}.{module.name}")
    for model in (*SECTIONS.values(), OffenceClass, Scenario):
        model.model_rebuild(_types_namespace=globals())


def check_keys(field: str, keys, allowed, what: str = "risk level(s)") -> None:
    """Refuse keys of a mapping that are not among ``allowed`` (risk levels, routes), naming them."""
    unknown = set(keys) - set(allowed)
    if unknown:
        raise ValueError(f"{field}: unknown {what} {sorted(unknown)}; expected {list(allowed)}")


# --------------------------------------------------------------------------- run and population


class RunSettings(Strict):
    """How a run is set up; each can be overridden on the command line."""

    years: Annotated[float, Field(gt=0.0, le=MAX_YEARS)] = Field(1.0, description="measured simulated years after the warm-up")
    warmup_years: Annotated[float, Field(ge=0.0, le=MAX_YEARS)] = Field(2.0, description="simulated years discarded before measuring")
    reps: PositiveInt = Field(10, description="independent replications")
    seed: Annotated[int, Field(ge=0)] = Field(20261122, description="root seed of all random streams")
    monitor_interval_days: Annotated[float, Field(ge=0.5, le=365.0)] = Field(7.0, description="days between time-series snapshots")
    intervention_years: Optional[NonNeg] = Field(
        None,
        description="for a scenario that extends another: years from the start at which its own settings take effect "
        "(default: the end of the warm-up); before then the scenario it extends runs",
    )
    start_date: Optional[datetime.date] = Field(
        None, description="the calendar date of day 0 (the first day of the warm-up); needed by settings given as a timeline of dated values"
    )


class Population(Strict):
    """Victim attribute distributions: relative weights, normalised when sampled."""

    ethnicity: dict[str, NonNeg] = Field(min_length=1)
    age_band: dict[str, NonNeg] = Field(min_length=1)
    borough: dict[str, NonNeg] = Field(min_length=1)
    adult_women: dict[str, NonNeg] = Field(
        default_factory=dict,
        json_schema_extra=VOLUME,  # scaled with the cases it divides, so that a rate per 10,000 women is the same at any --scale
        description="women aged 16 and over by borough (keys of borough): the denominator of rates per 10,000 women",
    )

    @model_validator(mode="after")
    def _positive_totals(self):
        for name in ("ethnicity", "age_band", "borough"):
            if sum(getattr(self, name).values()) <= 0:
                raise ValueError(f"{name}: weights must not all be zero")
        unknown = sorted(set(self.adult_women) - set(self.borough))
        if unknown:
            raise ValueError(f"adult_women: {', '.join(unknown)} not a borough of population.borough")
        return self


# --------------------------------------------------------------------------- offence classes


EffortShare = Annotated[float, Field(gt=0.0, le=1.0)]


class ByVenue(Strict):
    """A probability that may differ by court venue; a venue the offence never reaches may be omitted."""

    magistrates: Optional[Prob] = None
    sdvc: Optional[Prob] = None
    crown: Optional[Prob] = None


class Withdrawal(Strict):
    """Victim withdrawal as a competing risk: Weibull hazard over time since report.

    A class without this section has no victim whose withdrawal ends the case (an offender's case,
    or a crime prosecuted without a complainant): its cases never withdraw.
    """

    weibull_shape: PositiveFloat = Field(description="below 1: withdrawal is likeliest soon after report")
    weibull_scale_days: PositiveFloat
    hr_arrested: PositiveFloat = Field(1.0, description="hazard ratio from report when the suspect is arrested (against release without arrest)")
    hr_stranger: PositiveFloat = Field(
        1.0, description="hazard ratio from report when the victim does not know the suspect (against a known suspect)"
    )
    hr_by_risk: dict[str, PositiveFloat] = Field(
        default_factory=dict, description="hazard ratio from report by DASH risk level (a level not listed: 1)"
    )
    hr_awaiting_cps: PositiveFloat = Field(1.0, description="hazard ratio while the file is with the CPS for a charging decision (from referral)")
    hr_post_charge: NonNeg = Field(1.0, description="hazard ratio once charged (waiting for and at trial), against the hazard before referral")
    p_evidence_led: Prob = Field(description="prosecution continues without the victim after a retraction")

    @model_validator(mode="after")
    def _risk_levels(self):
        check_keys("hr_by_risk", self.hr_by_risk, RISK_LEVELS)
        return self


HazardRatio = Annotated[float, Field(gt=0.0, le=10.0)]


class OffenceClass(Strict):
    reporting: Reporting
    police: Police
    charging: Charging
    prosecution: Prosecution
    withdrawal: Optional[Withdrawal] = Field(None, description="the victim's withdrawal; without it, cases have no withdrawal clock")
    support: Support = Field(default_factory=lambda: SECTIONS["Support"]())
    sentencing: Optional[Sentencing] = Field(None, description="without it, convictions carry no custody (and no prison cost)")
    repeat: Optional[Repeat] = Field(None, description="further incidents against the same victim (with the repeats stage); without it, one case a victim")

    @model_validator(mode="after")
    def _sentencing_venues(self):
        if self.sentencing is None:
            return self
        p = self.prosecution
        needed = ["crown"] if p.p_crown > 0 else []
        if p.p_crown < 1:
            needed += ["magistrates"] + (["sdvc"] if p.p_sdvc > 0 else [])
        missing = [v for v in needed if getattr(self.sentencing.p_custody, v) is None]
        if missing:
            raise ValueError(f"sentencing.p_custody: needs a value for {', '.join(missing)} (cases are convicted there)")
        return self


OFFENCE_NAME = r"^[a-z][a-z0-9_]*$"
OffenceName = Annotated[str, Field(pattern=OFFENCE_NAME)]


# --------------------------------------------------------------------------- capacity-limited services


class StaffedUnit(Strict):
    """A team that works a number of cases at once: slots = staff x caseload."""

    staff: Annotated[float, Field(gt=0.0, le=MAX_CAPACITY, json_schema_extra=CAPACITY)] = Field(description="FTE")
    caseload: PositiveFloat = Field(description="concurrent cases per FTE")

    @model_validator(mode="after")
    def _at_least_one_case(self):
        # A team is whole case slots; one that cannot work a single case would be simulated as one
        # slot but costed as a fraction of an FTE. (--scale may shrink a team below this: the
        # simulation then keeps one slot, a small-scale artefact.)
        if self.staff * self.caseload < 0.5:
            raise ValueError(f"staff x caseload is {self.staff * self.caseload:.3g} case slots; a team works at least one case at a time")
        return self


class Indicator(Strict):
    """A performance indicator as a community safety partnership reports it: value against target,
    with a RAG rating and direction of travel (green within ``tolerance`` of the target; otherwise
    amber if it improved on the previous year, red if not)."""

    metric: str = Field(description="a KPI the scenario reports, by borough")
    offence: str = Field("all", description="an offence class or 'all'")
    target: float
    tolerance: NonNeg = Field(0.0, description="green if the value is no further than this from the target on the worse side")
    better: str = Field(pattern=r"^(higher|lower)$", description="'higher' or 'lower'")


# --------------------------------------------------------------------------- women in contact with the CJS


WOMEN_NEEDS = ("da_victim", "mental_health", "substance_use", "dependent_children", "housing", "first_offence")


# --------------------------------------------------------------------------- costs


Money = Annotated[float, Field(ge=0.0)]


class AbuseHarm(Strict):
    """The social cost of one victim's year of an offence class's abuse (Home Office unit values),
    apart from the police's, courts' and services' response, which the model costs itself. A further
    incident in the model's unit (recorded at the unsupported reporting rate) stands for
    1 / ``repeat.rate_per_year`` of a victim-year: the cost of abuse is taken to follow its incidents."""

    qalys: NonNeg = Field(description="quality-adjusted life years one victim loses to a year of abuse (physical and emotional harm)")
    other: Money = Field(description="the rest of a victim-year's cost, GBP: lost output and health services")


class UnitCosts(Strict):
    """Unit costs in GBP at the scenario's ``price_year`` prices, and the values a comparison puts on
    harms avoided. See simcj.experiment.costs."""

    police_investigator_year: Money = Field(description="one FTE investigator for a year, with on-costs")
    cps_lawyer_year: Money = Field(description="one FTE CPS lawyer for a year, with on-costs")
    advocate_year: dict[str, Money] = Field(default_factory=dict, description="one FTE of each advocacy service (IDVA, ISVA) for a year")
    magistrates_sitting_day: Money
    crown_sitting_day: Money
    sdvc_session: Money = Field(description="one weekly SDVC session")
    prison_place_year: Money
    share_of_sentence_served: Prob = Field(description="share of a custodial term served in prison")
    womens_centre_place_year: Money = Field(description="one woman supported by a women's centre for a year")
    marac_meeting: Money = Field(0.0, description="one MARAC meeting: the coordinator's and the agencies' time")
    programme_worker_year: dict[str, Money] = Field(default_factory=dict, description="one FTE of each perpetrator programme for a year")
    womens_prison_place_year: Money = Field(0.0, description="a place in the women's estate for a year")
    probation_woman_year: Money = Field(0.0, description="supervising one woman on an order, licence or post-sentence supervision for a year")
    ld_assessment: Money = Field(0.0, description="one liaison and diversion assessment in police custody")
    conditional_caution: Money = Field(0.0, description="administering one conditional caution with a referral")
    problem_solving_court_place_year: Money = Field(0.0, description="one woman under a problem-solving court's review for a year (sittings, staff)")
    qaly: Money = Field(0.0, description="the value of one quality-adjusted life year (HM Treasury Green Book)")
    harm: dict[str, AbuseHarm] = Field(
        default_factory=dict, description="per offence class with repeat:, the social cost of a victim's year of its abuse (a harm cost, never in cost_total)"
    )
    optimism_bias: NonNeg = Field(0.0, description="uplift on an option's incremental delivery cost in its appraisal (Green Book supplementary guidance)")


# --------------------------------------------------------------------------- the whole scenario


class Scenario(Strict):
    """A fully resolved scenario: what one run of the model needs, nothing else."""

    name: str
    description: str = ""
    price_year: Optional[int] = None
    run: RunSettings = RunSettings()
    population: Population
    pathway: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PATHWAY),
        min_length=1,
        description="the stages cases pass through, each a module of simcj.vawg or simcj.women; cases a stage sends on go to the "
        "stages that take them, in this order",
    )
    offences: dict[OffenceName, OffenceClass] = Field(
        min_length=1, description="offence classes by name: any lower-case name, each with its own settings and random streams"
    )

    @field_validator("pathway")
    @classmethod
    def _each_stage_once(cls, pathway: list[str]) -> list[str]:
        twice = sorted({s for s in pathway if pathway.count(s) > 1})
        if twice:
            raise ValueError(f"a stage is listed more than once: {', '.join(twice)} (cases pass each stage once)")
        return pathway
    police: PoliceSettings
    cps: CpsSettings
    support: SupportSettings
    courts: Courts
    marac: Optional[Marac] = Field(None, description="MARACs (with the marac stage)")
    programmes: dict[str, PerpetratorProgramme] = Field(default_factory=dict, description="perpetrator programmes (with the programmes stage)")
    refuges: Optional[Refuges] = Field(None, description="refuges (with the refuges stage)")
    women: Optional[Women] = Field(None, description="women in contact with the criminal justice system (with the women's pathway stages)")
    performance: dict[str, Indicator] = Field(
        default_factory=dict, description="indicators of the borough performance table (RAG), by the name it shows"
    )
    costs: Optional[UnitCosts] = Field(None, description="unit costs; without them no cost outputs are produced")

    _sources: dict = PrivateAttr(default_factory=dict)
    _before: Optional[Scenario] = PrivateAttr(None)
    _timelines: dict = PrivateAttr(default_factory=dict)

    @field_validator("offences", mode="before")
    @classmethod
    def _not_all(cls, offences):
        if isinstance(offences, dict) and "all" in offences:
            raise ValueError("'all' is reserved for totals over every offence class; choose another name")
        return offences

    @classmethod
    def model_validate(cls, obj, **kwargs):
        complete()  # the stages' settings models must be registered first, whoever validates
        return super().model_validate(obj, **kwargs)

    def __setstate__(self, state) -> None:
        complete()  # unpickled in a worker process that has not validated a scenario itself
        super().__setstate__(state)

    @property
    def before(self) -> Optional[Scenario]:
        """For an option (a scenario that extends another): the scenario in force before its intervention date."""
        return self._before

    def intervention_day(self) -> Optional[float]:
        """Day from which this option's own settings apply (None for a scenario that is no option)."""
        if self._before is None:
            return None
        years = self.run.intervention_years if self.run.intervention_years is not None else self.run.warmup_years
        return years * 365.0

    @property
    def sources(self) -> dict:
        """Key path -> :class:`simcj.scenario.loader.ParamSource` for every sourced parameter."""
        return self._sources

    @property
    def timelines(self) -> dict:
        """Key path -> :class:`simcj.scenario.timelines.Timeline` for every setting given as dated values."""
        return self._timelines

    def date_of(self, day: float) -> Optional[datetime.date]:
        """The calendar date of simulated day ``day`` (None without ``run.start_date``)."""
        from .timelines import calendar

        start = self.run.start_date
        return None if start is None else calendar(start, [day])[0].date()


# Checks of a scenario against what is built on it (the stages of its pathway, the KPIs they report),
# registered by those layers when they are imported, so that this one imports nothing above it:
# each gives (key path, what is wrong). A report check runs once the scenario has no other problem.
ASSEMBLY_CHECKS: list[Callable[[Scenario], list[tuple[str, str]]]] = []
REPORT_CHECKS: list[Callable[[Scenario], list[tuple[str, str]]]] = []


def reference_problems(sc: Scenario) -> list[tuple[str, str]]:
    """Names that must point at a declared group, offence class or stage: (key path, what is wrong).
    Each stage checks the names in its own settings (``Stage.problems``, through the assembly checks)."""
    problems = [problem for check in ASSEMBLY_CHECKS for problem in check(sc)]
    for name, oc in sc.offences.items():
        for group in ("borough", "age_band", "ethnicity"):
            own, labels = getattr(oc.reporting, group), getattr(sc.population, group)
            unknown = sorted(set(own) - set(labels))
            if unknown:
                problems.append((f"offences.{name}.reporting.{group}", f"{', '.join(unknown)}: not a group of population.{group}"))
            elif own and sum(own.values()) <= 0:
                problems.append((f"offences.{name}.reporting.{group}", "weights must not all be zero"))
    for name, ind in sc.performance.items():
        if ind.offence != "all" and ind.offence not in sc.offences:
            problems.append((f"performance.{name}.offence", f"'{ind.offence}' is not an offence class of this scenario or 'all'"))
    return problems


def unknown_offences(key: str, names: list[str], sc: Scenario) -> list[tuple[str, str]]:
    """``key.k`` for each of ``names`` that is not an offence class of the scenario."""
    return [(f"{key}.{k}", f"'{name}' is not an offence class of this scenario (classes: {sorted(sc.offences)})")
            for k, name in enumerate(names) if name not in sc.offences]


def undeclared(sc: Scenario, key: str, declared, where: str) -> list[tuple[str, str]]:
    """``offences.<class>.<key>`` for each class whose ``key`` (a unit or service, or None) is not among ``declared``."""
    problems = []
    for name, oc in sc.offences.items():
        value = oc
        for part in key.split("."):
            value = getattr(value, part)
        if value is not None and value not in declared:
            problems.append((f"offences.{name}.{key}", f"'{value}' is not declared in {where} (declared: {sorted(declared)})"))
    return problems


def unknown_boroughs(key: str, names, sc: Scenario) -> list[tuple[str, str]]:
    """``key`` if any of ``names`` is not a borough of the scenario's population."""
    unknown = sorted(set(names) - set(sc.population.borough))
    return [(key, f"{', '.join(unknown)}: not a borough of population.borough")] if unknown else []
