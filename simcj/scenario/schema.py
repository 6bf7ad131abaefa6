"""The scenario schema: every parameter of the model, its unit and its bounds.

A scenario file is validated against these models. Unknown keys are errors (a typo must not be
silently ignored). Fields that are volumes (things per year, initial backlogs) or capacities (staff,
sitting days, courts) are tagged with ``scales``, so ``--scale F`` multiplies exactly those and no
others; see :func:`simcj.scenario.loader.scaled`.

Units: time in days, volumes per year, money in GBP at ``price_year`` prices.
"""

from __future__ import annotations

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

from .distributions import Duration

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


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


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


class Population(Strict):
    """Victim attribute distributions: relative weights, normalised when sampled."""

    ethnicity: dict[str, NonNeg] = Field(min_length=1)
    age_band: dict[str, NonNeg] = Field(min_length=1)
    borough: dict[str, NonNeg] = Field(min_length=1)
    adult_women: dict[str, NonNeg] = Field(
        default_factory=dict, description="women aged 16 and over by borough (keys of borough): the denominator of rates per 10,000 women"
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


class Seasonality(Strict):
    """Incidence varies as 1 + amplitude * cos(2*pi*(day - peak_day)/365)."""

    amplitude: Prob = 0.0
    peak_day: Annotated[float, Field(ge=0.0, lt=365.0)] = 182.0


class Reporting(Strict):
    incidents_per_year: Annotated[float, Field(gt=0.0, le=MAX_VOLUME, json_schema_extra=VOLUME)] = Field(
        description="incidents (reported or not) per year"
    )
    seasonality: Seasonality = Seasonality()
    p_report: Prob = Field(description="probability the victim (or a third party) reports to police")
    delay: Duration = Field(description="incident to report, days")
    p_record: Prob = Field(description="probability a report is recorded as a crime")
    risk_mix: Optional[dict[str, NonNeg]] = Field(
        None, description="DASH risk level shares of reported cases (domestic abuse only): standard, medium, high; they sum to 1"
    )
    borough: dict[str, NonNeg] = Field(
        default_factory=dict, description="this class's weights by borough (keys of population.borough, a borough not listed: 0); none: population.borough"
    )
    age_band: dict[str, NonNeg] = Field(
        default_factory=dict, description="this class's victims' weights by age band (keys of population.age_band); none: population.age_band"
    )
    ethnicity: dict[str, NonNeg] = Field(
        default_factory=dict, description="this class's victims' weights by ethnic group (keys of population.ethnicity); none: population.ethnicity"
    )

    @model_validator(mode="after")
    def _risk_levels(self):
        if self.risk_mix is not None:
            check_keys("risk_mix", self.risk_mix, RISK_LEVELS)
            total = sum(self.risk_mix.values())
            if abs(total - 1.0) > 1e-3:
                raise ValueError(f"risk_mix: shares must sum to 1, found {total:.4g} (a level that is absent is 0)")
        return self


EffortShare = Annotated[float, Field(gt=0.0, le=1.0)]


class Police(Strict):
    unit: str = Field(description="investigating unit (a key of police.units)")
    p_suspect_identified: Prob
    p_stranger: Prob = Field(0.0, description="share of recorded crimes whose victim does not know the suspect (a stranger)")
    p_arrest: Prob = Field(description="probability a suspect is arrested (reported per 100 recorded crimes)")
    p_decided_in_custody: Prob = Field(
        0.0, description="share of arrested suspects whose case goes to a charging decision while they are held (charge in "
        "custody); the others are released on bail or under investigation and the crime waits for an investigator"
    )
    custody_days: Annotated[float, Field(gt=0.0, le=4.0)] = Field(
        1.0, description="from arrest to the charging decision in custody, days (PACE: 24 hours, 36 with a superintendent's extension)"
    )
    investigation_time: Duration = Field(description="elapsed time from the start of the investigation to the police outcome, days")
    effort_share: EffortShare = Field(
        1.0, description="share of the elapsed investigation time an investigator works the case (holding a slot); the rest "
        "it waits on others (forensics, digital downloads, the suspect) and holds none"
    )
    p_refer_cps: Prob = Field(description="after investigation, victim still engaged: refer to the CPS")
    p_caution: Prob = Field(description="after investigation: police out-of-court disposal (caution)")

    @model_validator(mode="after")
    def _sum(self):
        if self.p_refer_cps + self.p_caution > 1.0 + 1e-9:
            raise ValueError("p_refer_cps + p_caution must not exceed 1 (the rest is outcome 15)")
        return self


class Charging(Strict):
    unit: str = Field(description="CPS unit (a key of cps.units)")
    decision_time: Duration = Field(description="elapsed time from the start of CPS consideration to the charging decision, days")
    effort_share: EffortShare = Field(
        1.0, description="share of the elapsed decision time a lawyer works the file (holding a slot); the rest it waits on "
        "the police (action plans, further material) and holds none"
    )
    p_charge: Prob = Field(description="charge, of CPS legal decisions")
    p_out_of_court: Prob = Field(description="out-of-court disposal, of CPS legal decisions")

    @model_validator(mode="after")
    def _sum(self):
        if self.p_charge + self.p_out_of_court > 1.0 + 1e-9:
            raise ValueError("p_charge + p_out_of_court must not exceed 1 (the rest is NFA)")
        return self


class ByVenue(Strict):
    """A probability that may differ by court venue; a venue the offence never reaches may be omitted."""

    magistrates: Optional[Prob] = None
    sdvc: Optional[Prob] = None
    crown: Optional[Prob] = None


class Prosecution(Strict):
    p_crown: Prob = Field(description="share of charged cases heard in the Crown Court")
    p_sdvc: Prob = Field(0.0, description="share of magistrates' cases listed in a specialist DV court")
    first_hearing_delay: Duration = Field(description="charge to first hearing, days")
    p_guilty_plea_first_hearing: ByVenue
    p_late_guilty_plea: Prob = Field(description="guilty plea when the trial is listed (cracked trial)")
    p_discontinued_at_trial: Prob = Field(description="prosecution ends the case at the listing (cracked)")
    p_convict_at_trial: ByVenue
    p_convict_evidence_led: Prob = Field(description="conviction at trial when the victim has withdrawn")
    trial_sitting_days: Duration = Field(description="court time of an effective trial, sitting days")

    @model_validator(mode="after")
    def _venues_covered(self):
        needed = []
        if self.p_crown > 0:
            needed.append("crown")
        if self.p_crown < 1:
            needed.append("magistrates")
            if self.p_sdvc > 0:
                needed.append("sdvc")
        for field in ("p_guilty_plea_first_hearing", "p_convict_at_trial"):
            missing = [v for v in needed if getattr(getattr(self, field), v) is None]
            if missing:
                raise ValueError(f"{field}: needs a value for {', '.join(missing)} (cases reach that venue)")
        return self


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


class Support(Strict):
    service: Optional[str] = Field(None, description="advocacy service (a key of support.services)")
    p_referral: dict[str, Prob] = Field(
        default_factory=dict, description="referral at report (police referral, co-located advocates): probability by "
        "risk level, or under the key 'all'"
    )
    p_referral_sarc: Prob = Field(
        0.0, description="a victim who reports within sarc_window_days of the offence is examined at a sexual assault referral "
        "centre (the Havens), which refers her to the service at report; the police route is for the others"
    )
    sarc_window_days: Annotated[float, Field(gt=0.0, le=30.0)] = Field(7.0, description="the SARC's forensic window after the offence, days")
    p_referral_at_charge: Prob = Field(0.0, description="referral at charge (witness care, the CPS) of a victim not yet referred")
    sdvc_service: Optional[str] = Field(None, description="the court advocates at the specialist DA courts (a key of support.services)")
    p_referral_at_sdvc: Prob = Field(
        0.0, description="a victim whose case is listed for trial at an SDVC and who has no advocate is supported by a court advocate"
    )
    health_service: Optional[str] = Field(None, description="advocates in health settings (hospital IDVAs; a key of support.services)")
    p_referral_health: Prob = Field(
        0.0, description="a victim not referred by the police who is identified in a health setting around her report is supported there"
    )

    @model_validator(mode="after")
    def _keys(self):
        check_keys("p_referral", self.p_referral, ("all", *RISK_LEVELS), "key(s)")
        return self


HazardRatio = Annotated[float, Field(gt=0.0, le=10.0)]


class Repeat(Strict):
    """Further reported incidents against the same victim: domestic abuse is a course of conduct.

    While her course of abuse goes on (its length drawn for each victim, exponential with mean
    ``course_years``), further incidents are reported to the police at ``rate_per_year`` times the
    hazard ratios in force: what became of her latest case (the suspect arrested, the case charged
    and awaiting trial, a conviction; none at all while he is in custody), her IDVA support and a
    MARAC hearing (for ``effect_days`` after each began), and a perpetrator programme he completed
    (that programme's ``hr_repeat``). Whether arrest deters or provokes is disputed, so
    ``hr_arrested`` may be above 1.
    """

    rate_per_year: PositiveFloat = Field(description="further reported incidents a year while the abuse goes on, with nothing in force")
    course_years: PositiveFloat = Field(description="mean length of the course of abuse from the first report, years (exponential)")
    rate_cv: Annotated[float, Field(ge=0.0, le=5.0)] = Field(
        0.0, description="coefficient of variation of the rate between victims (gamma); 0: every victim's course has the same rate"
    )
    hr_by_risk: dict[str, HazardRatio] = Field(
        default_factory=dict, description="hazard ratio by the DASH risk level of her latest case (a level not listed: 1)"
    )
    hr_arrested: HazardRatio = Field(1.0, description="hazard ratio after her latest case's suspect was arrested")
    hr_charged: HazardRatio = Field(1.0, description="hazard ratio while her latest case is charged and awaiting trial (bail conditions, remand)")
    hr_convicted: HazardRatio = Field(1.0, description="hazard ratio after a non-custodial conviction (custody: no incident while he is inside)")
    hr_supported: HazardRatio = Field(1.0, description="hazard ratio for effect_days after her IDVA support began")
    hr_marac: HazardRatio = Field(1.0, description="hazard ratio for effect_days after her case was heard at MARAC")
    effect_days: PositiveFloat = Field(365.0, description="how long support and a MARAC hearing keep their effect, days")
    hr_withdrawal_withdrew_before: HazardRatio = Field(
        1.0, description="withdrawal hazard ratio of a new case when she withdrew from an earlier one (her history is known)"
    )

    @model_validator(mode="after")
    def _risk_levels(self):
        check_keys("hr_by_risk", self.hr_by_risk, RISK_LEVELS)
        return self


class Sentencing(Strict):
    """What a conviction leads to: immediate custody or not, and the custodial term imposed."""

    p_custody: ByVenue = Field(description="immediate custody on conviction, by the venue that convicted")
    custodial_years: Duration = Field(description="custodial sentence imposed, years")


class OffenceClass(Strict):
    reporting: Reporting
    police: Police
    charging: Charging
    prosecution: Prosecution
    withdrawal: Optional[Withdrawal] = Field(None, description="the victim's withdrawal; without it, cases have no withdrawal clock")
    support: Support = Support()
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


class PoliceSettings(Strict):
    units: dict[str, StaffedUnit] = Field(min_length=1)


class CpsSettings(Strict):
    units: dict[str, StaffedUnit] = Field(min_length=1)


class AdvocacyService(StaffedUnit):
    """IDVA or ISVA service: FTE x caseload slots, a waiting list, a support duration."""

    duration: Duration = Field(description="longest support, days")
    priority: list[str] = Field(
        default_factory=lambda: ["high", "medium", "standard"],
        description="waiting-list order by risk level, first served first ('other': referrals from outside the CJS; last if not listed)",
    )
    after_case_days: Optional[NonNeg] = Field(
        None, description="support ends this many days after the criminal case closes (if its duration has not run out "
        "first), freeing the slot; none: support runs its whole duration whatever happens to the case"
    )
    max_wait_days: Optional[PositiveFloat] = Field(
        None, description="a referral not taken up within this many days lapses (the victim gets a brief contact, not "
        "support); none: it waits until a slot is free or the case closes"
    )
    other_referrals_per_year: Annotated[float, Field(ge=0.0, le=MAX_VOLUME, json_schema_extra=VOLUME)] = Field(
        0.0, description="victims referred from outside the criminal justice system (health, self, children's services) who "
        "share the slots, last on the waiting list, for the service's duration"
    )


class SupportEffect(Strict):
    """Effects the evidence disputes: set them as ranges and report sensitivity."""

    hr_withdrawal: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        description="hazard ratio of withdrawal while supported; at most 1: support never raises the hazard (the "
        "police and CPS stages sleep until the earlier of their work's end and the withdrawal time, which "
        "support can then only postpone)"
    )
    conviction_rr: NonNeg = Field(description="relative risk of conviction at trial when supported")


class SupportSettings(Strict):
    services: dict[str, AdvocacyService] = Field(default_factory=dict)
    effect: SupportEffect


class Marac(Strict):
    """Multi-agency risk assessment conferences: one per borough, meeting at a set frequency and
    hearing at most ``cases_per_meeting`` cases each time (the rest wait for the next meeting)."""

    offences: list[str] = Field(min_length=1, description="offence classes whose victims are referred (names under offences:)")
    meetings_per_year: Annotated[float, Field(gt=0.0, le=365.0)] = Field(description="meetings of each borough's MARAC a year")
    cases_per_meeting: Annotated[float, Field(gt=0.0, le=MAX_CAPACITY, json_schema_extra=CAPACITY)] = Field(
        description="cases a meeting of a borough of average volume can hear; each borough's is sized to its share of population.borough"
    )
    p_referral: dict[str, Prob] = Field(description="referral at report by DASH risk level, or under the key 'all'")
    p_referral_repeat: Prob = Field(1.0, description="referral of a victim heard in the last repeat_window_days, whatever her risk level")
    repeat_window_days: PositiveFloat = Field(365.0, description="a case heard within this many days of her last hearing is a repeat (SafeLives: 12 months)")
    p_idva_allocation: Prob = Field(0.0, description="MARAC action: an IDVA for a victim not yet referred to one")
    agency_referrals_per_year: dict[str, Annotated[float, Field(ge=0.0, le=MAX_VOLUME)]] = Field(
        default_factory=dict,
        json_schema_extra=VOLUME,
        description="by offence class: victims a year referred by agencies other than the police (IDVA, health, children's "
        "services) whose abuse the police have no record of",
    )
    p_third_party_report: Prob = Field(
        0.0, description="an agency-referred case whose disclosure at the hearing the police record as a crime (a third-party report)"
    )
    hr_withdrawal_third_party: HazardRatio = Field(
        1.0, description="hazard ratio of withdrawal for a victim whose crime was recorded from a third-party report (she did not report it)"
    )

    @model_validator(mode="after")
    def _keys(self):
        check_keys("p_referral", self.p_referral, ("all", *RISK_LEVELS), "key(s)")
        return self


PROGRAMME_ROUTES = ("report", "conviction", "marac")


class Refuges(Strict):
    """Refuges: safe accommodation for women escaping domestic abuse (and their children), with bed
    spaces that run out. Victims of ``offences`` are referred when their crime is recorded, by their
    DASH risk level; women referred from elsewhere share the spaces."""

    offences: list[str] = Field(description="offence classes whose victims are referred")
    bed_spaces: Annotated[float, Field(gt=0.0, le=MAX_CAPACITY, json_schema_extra=CAPACITY)] = Field(description="family places (one woman and her children)")
    p_referral: dict[str, Prob] = Field(description="probability a victim is referred at her recorded crime, by DASH risk level (a level not listed: 0)")
    p_declined: Prob = Field(description="a referral that ends without a place for a reason other than space (she declines it, or it is not suitable)")
    max_wait_days: PositiveFloat = Field(description="a referral with no space within this many days is refused for lack of space")
    stay: Duration = Field(description="length of stay in refuge, days")
    other_referrals_per_year: Annotated[float, Field(ge=0.0, le=MAX_VOLUME, json_schema_extra=VOLUME)] = Field(
        0.0, description="women referred from elsewhere (no police-recorded crime in the model: helpline, housing, self) who want a place"
    )
    hr_withdrawal: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        description="hazard ratio of withdrawal from her entry to refuge; at most 1 (as for support: the police and CPS stages "
        "sleep until the earlier of their work's end and the withdrawal time, which a later effect can only postpone)"
    )
    hr_repeat: Annotated[float, Field(gt=0.0, le=1.0)] = Field(description="hazard ratio of further abuse while she is in refuge")
    cost_per_space_year: NonNeg = Field(description="cost of a bed space for a year, £ (support and housing)")

    @model_validator(mode="after")
    def _risk_levels(self):
        check_keys("p_referral", self.p_referral, RISK_LEVELS)
        return self


class PerpetratorProgramme(StaffedUnit):
    """A perpetrator programme: referral, assessment, attendance, completion.

    Referred perpetrators are assessed (``p_assessed``), start (``p_starts``), and hold a place
    (staff x caseload) until they complete or drop out (``p_completes``; a drop-out leaves part-way).
    """

    offences: list[str] = Field(min_length=1, description="offence classes whose perpetrators are referred")
    p_referral: dict[str, Prob] = Field(
        description="referral probability by route: 'report' (police, children's services, self, at report), "
        "'conviction' (court-mandated, on a non-custodial sentence), 'marac' (a case heard at MARAC)"
    )
    p_assessed: Prob = Field(description="referred perpetrators who are assessed as suitable")
    p_starts: Prob = Field(description="assessed perpetrators who start the programme")
    p_completes: Prob = Field(description="starters who complete it")
    duration: Duration = Field(description="start to completion, days")
    max_wait_days: Optional[PositiveFloat] = Field(None, description="an assessed perpetrator not given a place in this many days is lost")
    hr_repeat: HazardRatio = Field(description="hazard ratio of further incidents against his victim (see effect_from)")
    effect_from: str = Field(
        "completion", pattern=r"^(start|completion)$",
        description="'completion': the effect starts when he completes; 'start': from his start, for as long as he stays and after he completes (case management that disrupts the abuse, as Drive's)",
    )

    @model_validator(mode="after")
    def _routes(self):
        check_keys("p_referral", self.p_referral, PROGRAMME_ROUTES, "route(s)")
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


class CourtTier(Strict):
    """A court tier whose trial list is shared with a background stream of non-VAWG cases."""

    sitting_days_per_year: Annotated[float, Field(gt=0.0, le=MAX_CAPACITY, json_schema_extra=CAPACITY)]
    sitting_days_per_courtroom: PositiveFloat = Field(description="sitting days a courtroom gives per year")
    background_cases_per_year: Annotated[float, Field(ge=0.0, le=MAX_VOLUME, json_schema_extra=VOLUME)]
    background_sitting_days: Duration = Field(description="court time of a background case, sitting days")
    initial_backlog: Annotated[float, Field(ge=0.0, le=MAX_VOLUME, json_schema_extra=VOLUME)] = Field(
        0.0, description="background cases waiting at the start of the run"
    )
    listing_delay: Duration = Field(description="not-guilty plea to the earliest trial date the list offers, days")
    p_ineffective: Prob = Field(description="a listed trial does not go ahead and is re-listed")
    cracked_sitting_days: NonNeg = Field(description="court time of a cracked or ineffective listing")
    relist_delay: Duration = Field(description="ineffective trial to its next listing, days")


class SpecialistCourts(Strict):
    """Specialist domestic violence courts: dedicated weekly sessions."""

    courts: Annotated[float, Field(ge=0.0, le=MAX_CAPACITY, json_schema_extra=CAPACITY)]
    trials_per_session: PositiveInt
    p_ineffective: Prob
    relist_delay: Duration
    hr_withdrawal: NonNeg = Field(1.0, description="hazard ratio of withdrawal once listed at an SDVC")
    p_evidence_led: Optional[Prob] = Field(
        None, description="dedicated prosecutors: the probability an SDVC prosecution goes on without the victim after a "
        "retraction, in place of the offence class's (none: the class's)"
    )


class SpecialistCrownList(Strict):
    """A specialist Crown Court list for named offences (a RASSO court): ring-fenced courtrooms.

    Crown cases of the listed offences are tried here instead of in the shared Crown list, so they
    do not queue behind the background stream. Its sitting days are its own capacity.
    """

    offences: list[str] = Field(min_length=1, description="offence classes whose Crown cases it hears (names under offences:)")
    sitting_days_per_year: Annotated[float, Field(gt=0.0, le=MAX_CAPACITY, json_schema_extra=CAPACITY)]
    sitting_days_per_courtroom: PositiveFloat
    listing_delay: Duration = Field(description="not-guilty plea to the earliest trial date the list offers, days")
    p_ineffective: Prob
    cracked_sitting_days: NonNeg
    relist_delay: Duration
    hr_withdrawal: NonNeg = Field(1.0, description="hazard ratio of withdrawal once listed at the specialist court")


class Courts(Strict):
    crown: CourtTier
    magistrates: CourtTier
    sdvc: SpecialistCourts
    rasso: Optional[SpecialistCrownList] = Field(None, description="a specialist rape and serious sexual offences list")


# --------------------------------------------------------------------------- women in contact with the CJS


WOMEN_NEEDS = ("da_victim", "mental_health", "substance_use", "dependent_children", "housing", "first_offence")
WOMEN_ROUTES = ("liaison_diversion", "conditional_caution", "community_order", "release")


class CustodySuite(Strict):
    """Police custody: liaison and diversion screening, then the disposal decision."""

    p_ld_screened: Prob = Field(description="women in custody seen by the liaison and diversion service")
    p_ld_referral: Prob = Field(description="screened women with at least one need referred to a women's service")
    decision_time: Duration = Field(description="arrest to the disposal decision (released under investigation or on bail meanwhile), days")
    p_nfa: Prob = Field(description="no further action")
    p_out_of_court: Prob = Field(description="an out-of-court disposal (caution, community resolution) without a referral")
    p_eligible_for_diversion: Prob = Field(
        description="of women otherwise charged: low-level offence admitted, eligible for a conditional caution (the Met's diversion scheme)"
    )
    diversion_boroughs: list[str] = Field(default_factory=list, description="boroughs where the diversion scheme runs")
    breach_days: PositiveFloat = Field(90.0, description="conditional caution to the prosecution of a woman who did not engage with a women's service, days")

    @model_validator(mode="after")
    def _shares(self):
        if self.p_nfa + self.p_out_of_court > 1.0 + 1e-9:
            raise ValueError("p_nfa + p_out_of_court must not exceed 1 (the rest are charged)")
        return self


class ProblemSolvingCourt(Strict):
    """A problem-solving court for women: the magistrates review her order, with support."""

    boroughs: list[str] = Field(min_length=1, description="the boroughs whose women it sentences")
    places: Annotated[float, Field(gt=0.0, le=MAX_CAPACITY, json_schema_extra=CAPACITY)] = Field(
        description="women under the court's review at once"
    )
    rr_custody: Annotated[float, Field(ge=0.0, le=1.0)] = Field(description="relative risk of immediate custody for a woman it sentences")
    review_days: PositiveFloat = Field(description="how long the court reviews her order, days")


class WomensCourts(Strict):
    """Remand or bail, verdict and sentence of a woman charged."""

    p_remanded: Prob = Field(description="remanded in custody at the first hearing")
    time_to_sentence: Duration = Field(description="charge to verdict and sentence, days")
    p_convicted: Prob = Field(description="convicted, of women charged")
    p_custody_remanded: Prob = Field(description="immediate custody, of convicted women who were remanded")
    p_custody_bailed: Prob = Field(description="immediate custody, of convicted women on bail")
    p_suspended: Prob = Field(description="suspended sentence order, of convicted women not given immediate custody")
    p_community_order: Prob = Field(description="community order, of the rest (the others: fine, discharge)")
    custodial_days: Duration = Field(description="custodial sentence imposed, days")
    order_days: Duration = Field(description="supervision of a community order or suspended sentence, days")
    p_centre_requirement: Prob = Field(description="a community order or suspended sentence with a women's-centre requirement or referral")
    custody_reduction: Prob = Field(
        0.0, description="relative reduction in immediate custody: a woman on the cusp of custody it spares gets a community order with a women's-centre requirement"
    )
    problem_solving_court: Optional[ProblemSolvingCourt] = None


class WomensProbation(Strict):
    """Release, licence, post-sentence supervision and recall (Offender Rehabilitation Act 2014)."""

    release_point: Prob = Field(0.5, description="share of the sentence served before release on licence (the halfway point)")
    pss_until_days: NonNeg = Field(365.0, description="post-sentence supervision ends this many days after release (sentences under two years)")
    recall_rate_per_year: NonNeg = Field(description="recalls a year while on licence (a breach of post-sentence supervision goes to court: not modelled)")
    p_fixed_term: Prob = Field(description="a recall is a fixed-term recall (14 days under a 12-month sentence, else 28); else a standard recall")
    p_release_referral: Prob = Field(description="a woman released from custody referred through the gate to a women's service")


class Reoffending(Strict):
    """New arrests of the same woman: a hazard while her offending goes on, none while she is inside."""

    rate_per_year: PositiveFloat = Field(description="new arrests a year while her offending goes on, with nothing in force")
    career_years: PositiveFloat = Field(description="mean length of her offending from her first arrest in the model, years (exponential)")
    rate_cv: Annotated[float, Field(ge=0.0, le=5.0)] = Field(0.0, description="coefficient of variation of the rate between women (gamma frailty)")
    hr_by_need: dict[str, HazardRatio] = Field(default_factory=dict, description="hazard ratio for each need she has (keys of needs)")
    hr_supervised: HazardRatio = Field(1.0, description="hazard ratio while under probation supervision (order, licence, post-sentence supervision)")
    centre_effect_pp: Annotated[float, Field(ge=0.0, le=50.0)] = Field(
        description="percentage points off 12-month proven reoffending for a woman supported by a women's service"
    )
    comparison_rate_12m: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        description="12-month proven reoffending of the comparison group the percentage points are measured against (turns them into a hazard ratio)"
    )
    effect_days: PositiveFloat = Field(365.0, description="how long women's-service support keeps its effect, from its start, days")

    @model_validator(mode="after")
    def _needs(self):
        check_keys("hr_by_need", self.hr_by_need, WOMEN_NEEDS, "need(s)")
        return self


class WomensService(StaffedUnit):
    """A women's service (a women's centre's key workers): key workers x caseload, for the boroughs it covers."""

    boroughs: list[str] = Field(min_length=1, description="boroughs whose women it takes")
    routes: list[str] = Field(min_length=1, description="referral routes it takes: " + ", ".join(WOMEN_ROUTES))
    duration: Duration = Field(description="support from the first appointment, days")
    p_engages: Prob = Field(description="referred women who engage (referrals from arrest and release reach centres less than expected)")
    max_wait_days: Optional[PositiveFloat] = Field(None, description="a referral not given a key worker in this many days is lost")
    other_referrals_per_year: Annotated[float, Field(ge=0.0, le=MAX_VOLUME, json_schema_extra=VOLUME)] = Field(
        0.0, description="women referred from outside the pathway (at risk, self-referral, children's services) who take its places"
    )

    @model_validator(mode="after")
    def _routes(self):
        check_keys("routes", self.routes, WOMEN_ROUTES, "route(s)")
        return self


class Women(Strict):
    """Women in contact with the criminal justice system: arrest to the end of licence (the women's pathway stages)."""

    arrests_per_year: Annotated[float, Field(gt=0.0, le=MAX_VOLUME, json_schema_extra=VOLUME)] = Field(
        description="women arrested a year for the first time in the model (further arrests of the same women come from reoffending)"
    )
    borough: dict[str, NonNeg] = Field(default_factory=dict, description="weights by borough (default: population.borough)")
    ethnicity: dict[str, NonNeg] = Field(default_factory=dict, description="weights by ethnic group (default: population.ethnicity)")
    needs: dict[str, Prob] = Field(description="prevalence of each need among women arrested: " + ", ".join(WOMEN_NEEDS))
    custody_suite: CustodySuite
    courts: WomensCourts
    probation: WomensProbation
    reoffending: Reoffending
    services: dict[str, WomensService] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _needs(self):
        check_keys("needs", self.needs, WOMEN_NEEDS, "need(s)")
        return self


# --------------------------------------------------------------------------- costs


Money = Annotated[float, Field(ge=0.0)]


class UnitCosts(Strict):
    """Unit costs in GBP at the scenario's ``price_year`` prices. See simcj.experiment.costs."""

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

    @field_validator("offences", mode="before")
    @classmethod
    def _not_all(cls, offences):
        if isinstance(offences, dict) and "all" in offences:
            raise ValueError("'all' is reserved for totals over every offence class; choose another name")
        return offences

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


# Checks of a scenario against what is built on it (the stages of its pathway, the KPIs they report),
# registered by those layers when they are imported, so that this one imports nothing above it:
# each gives (key path, what is wrong). A report check runs once the scenario has no other problem.
ASSEMBLY_CHECKS: list[Callable[[Scenario], list[tuple[str, str]]]] = []
REPORT_CHECKS: list[Callable[[Scenario], list[tuple[str, str]]]] = []


def reference_problems(sc: Scenario) -> list[tuple[str, str]]:
    """Names that must point at a declared unit, service, offence class or stage: (key path, what is wrong)."""
    problems = [problem for check in ASSEMBLY_CHECKS for problem in check(sc)]
    if sc.courts.rasso is not None:
        for k, name in enumerate(sc.courts.rasso.offences):
            if name not in sc.offences:
                problems.append((f"courts.rasso.offences.{k}", f"'{name}' is not an offence class of this scenario (classes: {sorted(sc.offences)})"))
    for name, oc in sc.offences.items():
        for group in ("borough", "age_band", "ethnicity"):
            own, labels = getattr(oc.reporting, group), getattr(sc.population, group)
            unknown = sorted(set(own) - set(labels))
            if unknown:
                problems.append((f"offences.{name}.reporting.{group}", f"{', '.join(unknown)}: not a group of population.{group}"))
            elif own and sum(own.values()) <= 0:
                problems.append((f"offences.{name}.reporting.{group}", "weights must not all be zero"))
        checks = (
            ("police.unit", oc.police.unit, sc.police.units, "police.units"),
            ("charging.unit", oc.charging.unit, sc.cps.units, "cps.units"),
            ("support.service", oc.support.service, sc.support.services, "support.services"),
            ("support.sdvc_service", oc.support.sdvc_service, sc.support.services, "support.services"),
            ("support.health_service", oc.support.health_service, sc.support.services, "support.services"),
        )
        for key, value, declared, where in checks:
            if value is not None and value not in declared:
                problems.append((f"offences.{name}.{key}", f"'{value}' is not declared in {where} (declared: {sorted(declared)})"))
    if sc.marac is not None:
        for k, name in enumerate(sc.marac.offences):
            if name not in sc.offences:
                problems.append((f"marac.offences.{k}", f"'{name}' is not an offence class of this scenario (classes: {sorted(sc.offences)})"))
        for name in sc.marac.agency_referrals_per_year:
            if name not in sc.marac.offences:
                problems.append((f"marac.agency_referrals_per_year.{name}", f"'{name}' is not one of marac.offences ({sc.marac.offences})"))
    for programme, p in sc.programmes.items():
        for k, name in enumerate(p.offences):
            if name not in sc.offences:
                problems.append((f"programmes.{programme}.offences.{k}", f"'{name}' is not an offence class of this scenario (classes: {sorted(sc.offences)})"))
        if sc.costs is not None and programme not in sc.costs.programme_worker_year:
            problems.append((f"costs.programme_worker_year.{programme}", f"no unit cost for the declared programme '{programme}'"))
    problems += _women_problems(sc)
    for name, ind in sc.performance.items():
        if ind.offence != "all" and ind.offence not in sc.offences:
            problems.append((f"performance.{name}.offence", f"'{ind.offence}' is not an offence class of this scenario or 'all'"))
    if sc.costs is not None:
        for service in sc.support.services:
            if service not in sc.costs.advocate_year:
                problems.append((f"costs.advocate_year.{service}", f"no unit cost for the declared advocacy service '{service}'"))
    return problems


def _women_problems(sc: Scenario) -> list[tuple[str, str]]:
    """The women's pathway: its boroughs are London's (its stages' need of the section is theirs to say)."""
    if sc.women is None:
        return []
    boroughs = set(sc.population.borough)
    named = [("women.borough", list(sc.women.borough)), ("women.custody_suite.diversion_boroughs", sc.women.custody_suite.diversion_boroughs)]
    named += [(f"women.services.{n}.boroughs", s.boroughs) for n, s in sc.women.services.items()]
    psc = sc.women.courts.problem_solving_court
    if psc is not None:
        named.append(("women.courts.problem_solving_court.boroughs", psc.boroughs))
    problems = []
    for key, names in named:
        unknown = sorted(set(names) - boroughs)
        if unknown:
            problems.append((key, f"{', '.join(unknown)}: not a borough of population.borough"))
    return problems
