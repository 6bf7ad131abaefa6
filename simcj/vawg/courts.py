"""Courts: first hearing, pleas, trial listing on shared sitting days, specialist DV courts, verdicts.

A charged case goes to the magistrates' court, a specialist domestic violence court (SDVC) session
list, or the Crown Court. At the first hearing the defendant may plead guilty. Otherwise the case
is listed for trial:

* the magistrates' and Crown Court tiers are pools of courtrooms whose capacity is the tier's
  sitting days per year. Their trial lists are shared, first come first served, with a background
  stream of non-VAWG cases, so the backlog and the wait depend on the total load, as they do.
  Every case, VAWG or background, is listed for the earliest date the list offers (the tier's
  listing delay, a lead time) and then waits for a free courtroom; the tier's backlog is every case
  listed and not yet heard, in its lead time or waiting, as HMCTS counts cases awaiting trial.
  From the end of the warm-up the lead time follows the list's load (:meth:`CourtTierList.load`):
  a case listed when the backlog is larger, or the sitting days fewer, than at that date waits
  proportionally longer, so the list hears cases at a rate its sitting days set, as listing
  officers fill the days they have. More sitting days then clear a backlog; fewer, or more cases,
  grow it;
* SDVCs sit in dedicated weekly sessions, each hearing a fixed number of listed trials, after a
  listing delay of their own.

A listed trial may be ineffective (re-listed after a delay), cracked (late guilty plea, the
prosecution ends the case, or the victim has withdrawn and the prosecution does not continue
evidence-led) or effective (verdict after the trial's court time). A conviction goes on as
``convicted`` (to sentencing).

Every decision about a case is its own draw: the venue, pleas and verdict from its pre-drawn
uniforms, and each listing's fate (ineffective or not, the delay to the next listing) from the
case's counter-based sequence (:func:`simcj.engine.streams.case_uniform`), draw ``2k`` and ``2k+1``
for its ``k``-th listing. Only the background (non-VAWG) load has a stream of its own per tier.
"""

from __future__ import annotations

import math
from enum import Enum
from functools import partial
from typing import Annotated, Optional

import numpy as np
import simpy
from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from ..engine.arrivals import DAYS_PER_YEAR, incident_times
from ..engine.cases import Exit, Plea, Venue, within
from ..engine.metrics import Metric
from ..engine.pools import Pool
from ..engine.stage import Stage, register, stocks
from ..engine.streams import case_uniform
from ..scenario.distributions import Duration
from ..scenario.schema import CAPACITY, MAX_CAPACITY, MAX_VOLUME, VOLUME, ByVenue, NonNeg, Prob, Strict, section, unknown_offences

# --------------------------------------------------------------------------- settings (the scenario's section)


@section
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
    listing_delay_factor: PositiveFloat = Field(
        1.0, description="the offence's lead time in a shared (Crown or magistrates') list relative to the list's own: a long trial waits longer for a slot"
    )

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


@section
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
    sitting_day_elasticity: Annotated[float, Field(ge=0.0, le=2.0)] = Field(
        1.0, description="from the end of the warm-up, the proportional change in the cases the list hears for a proportional change in "
        "its sitting days (1: in proportion)"
    )
    p_ineffective: Prob = Field(description="a listed trial does not go ahead and is re-listed")
    cracked_sitting_days: NonNeg = Field(description="court time of a cracked or ineffective listing")
    relist_delay: Duration = Field(description="ineffective trial to its next listing, days")


@section
class SpecialistCourts(Strict):
    """Specialist domestic violence courts: dedicated weekly sessions."""

    courts: Annotated[float, Field(ge=0.0, le=MAX_CAPACITY, json_schema_extra=CAPACITY)]
    trials_per_session: PositiveInt
    listing_delay: Duration = Field(description="not-guilty plea to the earliest SDVC session the list offers, days")
    p_ineffective: Prob
    relist_delay: Duration
    hr_withdrawal: NonNeg = Field(1.0, description="hazard ratio of withdrawal once listed at an SDVC")
    p_evidence_led: Optional[Prob] = Field(
        None, description="dedicated prosecutors: the probability an SDVC prosecution goes on without the victim after a "
        "retraction, in place of the offence class's (none: the class's)"
    )


@section
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


@section
class Courts(Strict):
    crown: CourtTier
    magistrates: CourtTier
    sdvc: SpecialistCourts
    rasso: Optional[SpecialistCrownList] = Field(None, description="a specialist rape and serious sexual offences list")

DAYS_PER_WEEK = 7.0
SESSIONS_PER_YEAR = DAYS_PER_YEAR / DAYS_PER_WEEK


class ListingResult(Enum):
    LATE_GUILTY_PLEA = "late guilty plea"
    DISCONTINUED = "discontinued"
    TRIAL = "effective trial"


# Trial listings of completed prosecutions: effective (the trial went ahead), cracked (ended on the
# day without a trial: a late guilty plea, the prosecution offering no evidence, the victim
# retracting) and ineffective (adjourned to a later date), as shares of all trial listings.
TRIAL_SHARES = ("share_trials_effective", "share_trials_cracked", "share_trials_ineffective")


# --------------------------------------------------------------------------- decisions


def choose_venue(p: Prosecution, u_venue: float, u_sdvc: float, sdvc_sitting: bool) -> Venue:
    if u_venue < p.p_crown:
        return Venue.CROWN
    if sdvc_sitting and u_sdvc < p.p_sdvc:
        return Venue.SDVC
    return Venue.MAGISTRATES


def _at_venue(by_venue, venue: Venue) -> float:
    return getattr(by_venue, venue.name.lower())


def pleads_guilty_early(p: Prosecution, venue: Venue, u: float) -> bool:
    return u < _at_venue(p.p_guilty_plea_first_hearing, venue)


def continues_evidence_led(p_evidence_led: float, u: float) -> bool:
    return u < p_evidence_led


def at_listing(p: Prosecution, u_late_plea: float, u_discontinue: float) -> ListingResult:
    """What happens when an effective listing is reached with the case still going."""
    if u_late_plea < p.p_late_guilty_plea:
        return ListingResult.LATE_GUILTY_PLEA
    if u_discontinue < p.p_discontinued_at_trial:
        return ListingResult.DISCONTINUED
    return ListingResult.TRIAL


def convicted_at_trial(p: Prosecution, venue: Venue, evidence_led: bool, supported: bool, conviction_rr: float, u: float) -> bool:
    """Verdict of an effective trial; an advocate's effect is a relative risk (disputed, so a parameter)."""
    prob = p.p_convict_evidence_led if evidence_led else _at_venue(p.p_convict_at_trial, venue)
    if supported:
        prob = min(1.0, prob * conviction_rr)
    return u < prob


# --------------------------------------------------------------------------- court capacity


MIN_ANCHOR_BACKLOG = 10  # cases listed at the anchoring date for a list's lead time to follow its load
MAX_LOAD = 20.0  # the most a lead time is stretched by the list's load
MIN_ANCHOR_WARMUP_DAYS = 365.0  # a shorter warm-up leaves the lists filling: their lead times stay fixed


class CourtTierList:
    """A tier's courtrooms: capacity = sitting days per year, shared with background cases.

    ``shared`` lists are costed by the sitting days VAWG cases use (the rest serves other cases).
    """

    shared = True

    def __init__(self, env: simpy.Environment, name: str, params: CourtTier, rng: np.random.Generator, horizon: float):
        self.env = env
        self.name = name
        self.pool = Pool(env, 1, name)
        self._reference: tuple[float, float] | None = None  # (backlog, sitting days) the lead times are scaled from
        self._anchor_from = math.inf
        self.retune(params)
        self._rng = rng
        self._horizon = horizon
        self.listed = 0  # VAWG cases in their lead time or waiting to be re-listed
        self.background_listed = 0  # background cases in their lead time
        self.background_arrivals = np.empty(0)  # the background cases' listing days

    def anchor_at(self, day: float) -> None:
        """Scale lead times by the list's load from ``day`` (the end of the warm-up), or from an
        earlier change of its sitting days after it."""
        self._anchor_from = day
        self.env.timeout(day).callbacks.append(lambda _event: self.anchor())

    def anchor(self) -> None:
        """Take the list's backlog and sitting days now as the reference its lead times are scaled
        from (once; a list with fewer than :data:`MIN_ANCHOR_BACKLOG` cases listed keeps its fixed
        lead time: there is no load yet to scale by)."""
        if self._reference is None and self.backlog() >= MIN_ANCHOR_BACKLOG:
            self._reference = (float(self.backlog()), self.params.sitting_days_per_year)

    def load(self) -> float:
        """The factor on a lead time drawn now: 1 until the list is anchored; then its backlog over
        the reference backlog, times the reference sitting days over today's to the power of the
        tier's ``sitting_day_elasticity`` (at most :data:`MAX_LOAD`). By Little's law the list then
        hears cases at the rate it did at the reference, times that ratio of sitting days: more
        cases than that grow the backlog, fewer drain it."""
        if self._reference is None:
            return 1.0
        backlog, days = self._reference
        ratio = (days / self.params.sitting_days_per_year) ** self.params.sitting_day_elasticity
        return min(MAX_LOAD, self.backlog() / backlog * ratio)

    def retune(self, params) -> None:
        """Sitting days (and the list's other settings) from now: courtrooms open at once, or close as
        their current hearing ends. A change at or after the anchoring date anchors the list first,
        on the sitting days it had."""
        if self.env.now >= self._anchor_from:
            self.anchor()
        self.params = params
        rooms = max(1, math.ceil(params.sitting_days_per_year / params.sitting_days_per_courtroom))
        # Calendar days one sitting day occupies a courtroom, so that rooms x year = sitting days.
        self.days_per_sitting_day = DAYS_PER_YEAR * rooms / params.sitting_days_per_year
        self.pool.resize(rooms)

    def request(self, i: int):
        return self.pool.request(i)

    def sit(self, sitting_days: float) -> float:
        """Occupy the granted courtroom for ``sitting_days``; returns calendar days until it ends."""
        days = sitting_days * self.days_per_sitting_day
        self.pool.release_after(days)
        return days

    def cracked(self) -> float:
        """Court time lost to a cracked or ineffective listing; returns the sitting days used."""
        self.sit(self.params.cracked_sitting_days)
        return self.params.cracked_sitting_days

    def ineffective(self, u: float) -> bool:
        return u < self.params.p_ineffective

    def relist_delay(self, u: float) -> float:
        return self.params.relist_delay.at(u)

    def listing_delay(self, u: float) -> float:
        return self.params.listing_delay.at(u) * self.load()

    def backlog(self) -> int:
        """Cases awaiting trial: listed and not yet heard, in their lead time, waiting for a courtroom
        or in one (VAWG and background)."""
        return self.listed + self.background_listed + self.pool.waiting() + self.pool.busy

    def start_background(self, per_year: float, level=None, sitting: list | None = None) -> None:
        """The initial backlog at time 0, then Poisson background arrivals to the horizon at
        ``per_year`` (times ``level(t)``, a dated rate), each listed after its lead time (drawn before
        the run, times the list's :meth:`load` on the day it is listed).
        ``sitting``: (from day, the court time a case takes) in force from each day, if dated.

        Background cases are pure load: on each day some arrive, one event lists them all; the cases
        whose lead time ends on a day enter the courtroom list together, at a time of that day drawn
        for the day (so that weekly snapshots taken at one time of day see the list as it is on
        average), by one event. No process, two events a day.
        """
        p, rng = self.params, self._rng
        n0 = int(round(p.initial_backlog))
        arrived = np.floor(np.sort(incident_times(rng, per_year, 0.0, 0.0, 0.0, self._horizon, level)))
        u = rng.random(n0 + arrived.size)
        if sitting is None:
            sitting = p.background_sitting_days.ppf(u)
        else:  # each case takes the court time in force on the day it arrives
            period = np.searchsorted([day for day, _ in sitting], np.concatenate([np.zeros(n0), arrived]), "right") - 1
            out = np.empty(u.size)
            for k, (_day, duration) in enumerate(sitting):
                out[period == k] = duration.ppf(u[period == k])
            sitting = out
        leads = p.listing_delay.ppf(rng.random(arrived.size))
        self._time_of_day_key = int(rng.integers(0, 2**63))
        self.background_arrivals = arrived
        for k in range(n0):
            self.pool.call_when_free(None, self._sit_callback(float(sitting[k])))
        days, first = np.unique(arrived, return_index=True)
        self._entering: dict[int, list[float]] = {}
        bounds = [*first.tolist(), arrived.size]
        self._next_listing_day(days.tolist(), bounds, leads.tolist(), sitting[n0:].tolist(), 0)

    def _next_listing_day(self, days: list, bounds: list, leads: list, sitting: list, k: int) -> None:
        if k == len(days):
            return

        def list_day(_event):
            load = self.load()
            for j in range(bounds[k], bounds[k + 1]):
                day = int(days[k] + leads[j] * load)
                waiting = self._entering.get(day)
                if waiting is None:
                    waiting = self._entering[day] = []
                    self.env.timeout(day + case_uniform(self._time_of_day_key, day) - self.env.now).callbacks.append(partial(self._enter, day))
                waiting.append(sitting[j])
            self.background_listed += bounds[k + 1] - bounds[k]
            self._next_listing_day(days, bounds, leads, sitting, k + 1)

        self.env.timeout(days[k] - self.env.now).callbacks.append(list_day)

    def _enter(self, day: int, _event) -> None:
        """The background cases whose lead time ends today join the courtroom list."""
        waiting = self._entering.pop(day)
        self.background_listed -= len(waiting)
        for sitting_days in waiting:
            self.pool.call_when_free(None, self._sit_callback(sitting_days))

    def _sit_callback(self, sitting_days: float):
        return lambda _item: self.sit(sitting_days)


class DedicatedCourtList(CourtTierList):
    """A specialist Crown list (a RASSO court): its own courtrooms, no background stream.

    Costed as funded capacity (its sitting days), not by use, so ``shared`` is False.
    """

    shared = False

    def __init__(self, env: simpy.Environment, name: str, params):
        super().__init__(env, name, params, rng=None, horizon=0.0)

    def start_background(self) -> None:
        return None


class SpecialistCourtList:
    """SDVC sessions: each court sits once a week and hears up to ``trials_per_session`` listed trials.

    The weekly capacity (courts x trials per session) is kept exact when ``--scale`` makes the
    number of courts fractional: the courts sit correspondingly more or less often.
    """

    def __init__(self, env: simpy.Environment, params: SpecialistCourts):
        self.env = env
        self.listed = 0  # cases in their lead time or waiting to be re-listed
        self._queue: list = []
        self._head = 0
        self._timetable = 0
        self.accepting = True
        self.retune(params)

    def retune(self, params: SpecialistCourts) -> None:
        """A new number of courts from now: a new weekly timetable starts (the old one stops at its
        next session). With no courts the list takes no new listings and its last timetable runs on
        until every case already listed has been heard."""
        if params == getattr(self, "params", None):
            return
        self.params = params
        if params.courts <= 0:
            self.accepting = False
            return
        self._timetable += 1
        self.n_courts = max(1, math.ceil(params.courts))
        self.session_interval = DAYS_PER_WEEK * self.n_courts / params.courts
        for k in range(self.n_courts):
            self.env.process(self._sessions(self._timetable, offset=self.session_interval * k / self.n_courts))

    def request(self, i: int):
        event = self.env.event()
        self._queue.append(event)
        return event

    def sit(self, sitting_days: float) -> float:
        return 0.0  # the case was heard within the session slot it was given

    shared = False  # costed by sessions

    def cracked(self) -> float:
        return 0.0

    def ineffective(self, u: float) -> bool:
        return u < self.params.p_ineffective

    def relist_delay(self, u: float) -> float:
        return self.params.relist_delay.at(u)

    def listing_delay(self, u: float) -> float:
        return self.params.listing_delay.at(u)

    def waiting(self) -> int:
        """Cases awaiting an SDVC trial: in their lead time or waiting for a session."""
        return self.listed + len(self._queue) - self._head

    def clear(self) -> None:
        """Forget the session list (at the end of a run)."""
        self._queue.clear()
        self._head = 0

    def _sessions(self, timetable: int, offset: float):
        env = self.env
        yield env.timeout(offset)
        while timetable == self._timetable:
            for _ in range(self.params.trials_per_session):
                if self._head == len(self._queue):
                    break
                self._queue[self._head].succeed()
                self._head += 1
            if self._head > 4096 and self._head * 2 > len(self._queue):
                del self._queue[: self._head]
                self._head = 0
            yield env.timeout(self.session_interval)


def dated_durations(scenario, path: str, duration, horizon: float) -> list | None:
    """(from day, the duration in force) at each day one of its parameters changes, if any follows a
    timeline (``path.median``, ``path.mean``, ...); None if none does."""
    params = {p.rsplit(".", 1)[1]: t for p, t in scenario.timelines.items() if p.startswith(path + ".")}
    if not params:
        return None
    start = scenario.run.start_date
    days = sorted({0.0, *(d for t in params.values() for d in t.change_days(start, horizon))})
    written = duration.model_dump(by_alias=True)
    return [(day, type(duration).model_validate({**written, **{name: t.at(day, start) for name, t in params.items()}})) for day in days]


# --------------------------------------------------------------------------- the stage

NAN = float("nan")


@register
class CourtsStage(Stage):
    """Magistrates', SDVC and Crown Court lists, and a specialist RASSO list if the scenario has one."""

    name = "courts"
    entries = ("charging.charged",)
    needs = ("charging.charged", "charging.t_charge")
    uses = ("support.t_support_start",)  # a victim supported at trial (the conviction effect)
    fixed_at_date = (
        ('^courts\\.(crown|magistrates)\\.(background_cases_per_year|background_sitting_days|initial_backlog)(\\.|$)', 'the background court load is drawn before the run'),
        ('^courts\\.(crown|magistrates)\\.listing_delay(\\.|$)', "the background cases' lead times are drawn before the run"),
    )
    outcomes = ("convicted", "listed_sdvc")
    uniforms = ("u_venue", "u_sdvc", "u_plea", "u_evidence_led", "u_late_plea", "u_discontinue", "u_verdict", "u_listing_delay")
    durations = {
        "d_first_hearing": lambda sc, oc: oc.prosecution.first_hearing_delay,
        "d_trial": lambda sc, oc: oc.prosecution.trial_sitting_days,
    }
    keys = ("k_listing",)
    columns = {
        "venue": ("b", int(Venue.NONE)),
        "t_first_hearing": ("d", NAN),
        "plea": ("b", int(Plea.NONE)),
        "listings": ("h", 0),
        "evidence_led": ("?", 0),
        "t_trial": ("d", NAN),
        "t_completion": ("d", NAN),
        "court_days": ("d", 0.0),
    }


    @classmethod
    def problems(cls, scenario) -> list[tuple[str, str]]:
        rasso = scenario.courts.rasso
        return unknown_offences("courts.rasso.offences", rasso.offences, scenario) if rasso is not None else []

    def __init__(self, world):
        super().__init__(world)
        env, sc, streams = world.env, world.scenario.courts, world.streams
        self.crown = CourtTierList(env, "crown", sc.crown, streams["courts/background_crown"], world.horizon)
        self.magistrates = CourtTierList(env, "magistrates", sc.magistrates, streams["courts/background_magistrates"], world.horizon)
        self.sdvc = SpecialistCourtList(env, sc.sdvc) if sc.sdvc.courts > 0 else None
        self.rasso = DedicatedCourtList(env, "rasso", sc.rasso) if sc.rasso is not None else None
        self._lists = {Venue.CROWN: self.crown, Venue.MAGISTRATES: self.magistrates, Venue.SDVC: self.sdvc}
        names = list(world.scenario.offences)
        self._rasso_classes = {names.index(o) for o in sc.rasso.offences} if sc.rasso is not None else set()
        self._d_first_hearing, self._d_trial = world.cases.d_first_hearing, world.cases.d_trial
        # When support started, if the pathway has a support stage (a pathway may leave it out).
        self.support_start = self.column("support.t_support_start")

    def bound(self) -> None:
        self._convicted = self.onward["convicted"]
        self.listed_sdvc = self.onward["listed_sdvc"]  # a notice (court advocates): the case stays here

    def take(self, i: int) -> None:
        self.world.env.process(prosecute(self, i))

    def retune(self) -> None:
        """The option's courts: sitting days, SDVCs and a specialist list that opens or closes; new
        listings go to the lists in force, cases already listed stay where they are."""
        w = self.world
        sc = w.scenario.courts
        self.crown.retune(sc.crown)
        self.magistrates.retune(sc.magistrates)
        if self.sdvc is not None:
            self.sdvc.retune(sc.sdvc)
        elif sc.sdvc.courts > 0:
            self.sdvc = self._lists[Venue.SDVC] = SpecialistCourtList(w.env, sc.sdvc)
        if sc.rasso is not None:
            if self.rasso is None:
                self.rasso = DedicatedCourtList(w.env, "rasso", sc.rasso)
            else:
                self.rasso.retune(sc.rasso)
        names = list(w.scenario.offences)
        self._rasso_classes = {names.index(o) for o in sc.rasso.offences} if sc.rasso is not None else set()
        self._d_first_hearing = w.option_column("d_first_hearing", self._d_first_hearing)
        self._d_trial = w.option_column("d_trial", self._d_trial)

    def court_for(self, venue: Venue, i: int):
        """The trial list a case at ``venue`` is heard in: Crown cases of a specialist list's offences go there."""
        if venue is Venue.CROWN and self.world.cases.cls[i] in self._rasso_classes:
            return self.rasso
        return self._lists[venue]

    def court_lists(self) -> list:
        """The courtroom lists with sitting-day capacity: Crown, magistrates' and a specialist list if any."""
        return [self.crown, self.magistrates] + ([self.rasso] if self.rasso is not None else [])

    def complete(self, i: int, exit_: Exit, t: float) -> None:
        """A prosecution ends; a conviction goes on to sentencing."""
        c = self.world.cases
        c.t_completion[i] = t
        c.close(i, exit_, t, ho_outcome="")
        if exit_ is Exit.CONVICTED:
            self._convicted(i)

    def start(self) -> None:
        """The background load of each shared tier, at a rate that follows its timeline if it has one;
        each tier's lead times follow its load from the end of a warm-up of a year or more (a shorter
        one leaves the lists filling, with no load to scale by: their lead times stay fixed)."""
        sc = self.world.scenario
        warmup = sc.run.warmup_years * DAYS_PER_YEAR
        for tier in (self.crown, self.magistrates):
            if warmup >= MIN_ANCHOR_WARMUP_DAYS:
                tier.anchor_at(warmup)
            path = f"courts.{tier.name}.background_cases_per_year"
            dated = sc.timelines.get(path)
            sitting = dated_durations(sc, f"courts.{tier.name}.background_sitting_days", tier.params.background_sitting_days, self.world.horizon)
            if dated is None:
                tier.start_background(tier.params.background_cases_per_year, sitting=sitting)
            else:
                tier.start_background(dated.maximum(), partial(dated.levels, start=sc.run.start_date), sitting)

    def snapshot(self):
        for tier in self.court_lists():
            yield f"{tier.name}_backlog", tier.backlog()
            yield f"{tier.name}_courtroom_queue", tier.pool.waiting()  # listed, lead time over, waiting for a courtroom
            yield f"{tier.name}_courtrooms_busy", tier.pool.busy
        yield "sdvc_waiting", self.sdvc.waiting() if self.sdvc is not None else 0

    def finish(self) -> dict:
        """For pools whose waits were tracked: (joined, served) pairs and when those still waiting joined."""
        return {"queue_log": {t.name: (t.pool.waits, t.pool.still_waiting_since()) for t in self.court_lists() if t.pool.waits is not None}}

    def clear(self) -> None:
        for tier in self.court_lists():
            tier.pool.clear()
        if self.sdvc is not None:
            self.sdvc.clear()

    # ------------------------------------------------------------------ analysis

    case_metrics = {
        "convicted": "convicted",
        "completed_prosecutions": "completed",
        "rate_conviction": ("convicted", "completed"),
        "rate_guilty_plea": ("guilty_plea", "completed"),
        "rate_early_guilty_plea": ("early_plea", "completed"),
        "rate_retraction_post_charge": ("retraction", "completed"),
        "rate_conviction_sdvc": ("convicted_sdvc", "completed_sdvc"),
        "rate_early_guilty_plea_sdvc": ("early_plea_sdvc", "completed_sdvc"),
        "rate_conviction_magistrates": ("convicted_magistrates", "completed_magistrates"),
        "rate_conviction_crown": ("convicted_crown", "completed_crown"),
    }
    case_durations = {"days_charge_to_completion": "d_charge_to_completion", "days_offence_to_completion": "d_offence_to_completion"}
    # The SDVC's conviction rate less the other magistrates' lists' (published figures of one period
    # can be set against it when their levels are of another).
    derived_metrics = {"rate_conviction_sdvc_gap": ("difference", "rate_conviction_sdvc", "rate_conviction_magistrates")}

    @classmethod
    def indicators(cls, scenario, cases, start: float, end: float) -> dict[str, object]:
        """Prosecutions completed in the window, by result, plea and venue, and their durations."""
        t_completion = cases["t_completion"]
        completed = within(t_completion, start, end)
        convicted = completed & (cases["exit"] == Exit.CONVICTED)
        early = completed & (cases["plea"] == Plea.EARLY_GUILTY)
        out = {
            "completed": completed,
            "convicted": convicted,
            "guilty_plea": completed & cases["plea"].isin([Plea.EARLY_GUILTY, Plea.LATE_GUILTY]),
            "early_plea": early,
            "retraction": completed & (cases["exit"] == Exit.RETRACTION_POST_CHARGE),
        }
        for name, venue in (("sdvc", Venue.SDVC), ("magistrates", Venue.MAGISTRATES), ("crown", Venue.CROWN)):
            at = cases["venue"] == venue
            out |= {f"completed_{name}": completed & at, f"convicted_{name}": convicted & at, f"early_plea_{name}": early & at}
        out = {name: flags.to_numpy() for name, flags in out.items()}
        out["d_charge_to_completion"] = np.where(completed, t_completion - cases["t_charge"], np.nan)
        out["d_offence_to_completion"] = np.where(completed, t_completion - cases["t_incident"], np.nan)
        return out

    @classmethod
    def catalogue(cls, scenario) -> list[Metric]:
        years = range(1, int(scenario.run.years + 1e-9) + 1)
        out = [
            Metric("convicted", "Convictions a year", "a year", headline=60, compare=10, by_offence=True, funnel=60, short="Convicted", key=10),
            Metric("rate_conviction", "Conviction rate (CPS)", "share", headline=100, compare=50, key=40),
            Metric("rate_guilty_plea", "Guilty-plea rate", "share", headline=110),
            Metric("rate_retraction_post_charge", "Post-charge retraction", "share", headline=105, compare=40),
            Metric("days_charge_to_completion_median", "Median days charge to completion", "days", headline=130, compare=70),
            Metric("court_days_magistrates", "Magistrates' sitting days used a year", "a year"),
            Metric("court_days_crown", "Crown Court sitting days used a year", "a year"),
            *(Metric(share, f"Trial listings: {share.removeprefix('share_trials_')}", "share") for share in TRIAL_SHARES),
            Metric("cost_sdvc", "SDVC sessions' cost a year, £", "£ a year"),
            Metric("cost_specialist_court", "Specialist court's cost a year, £", "£ a year"),
            Metric("cost_sitting_days", "Crown and magistrates' sitting days' cost a year, £", "£ a year"),
        ]
        for tier, court in (("crown", "Crown Court"), ("magistrates", "Magistrates' court"), ("rasso", "Specialist RASSO list")):
            out += [
                Metric(f"{tier}_backlog", f"{court} backlog at the end of the run (stock)", "stock", headline=140 if tier == "crown" else 0,
                       compare=90 if tier == "crown" else 0, key=50 if tier == "crown" else 0),
                Metric(f"{tier}_backlog_mean", f"{court} backlog, mean over the measured years (stock)", "stock"),
                Metric(f"{tier}_backlog_growth_per_year", f"{court} backlog, growth a year", "share"),
                *(Metric(f"{tier}_backlog_at_year_{k}", f"{court} backlog {k} year{'s' if k > 1 else ''} after the date (stock)", "stock",
                         compare=80 if (tier, k) == ("crown", 1) else 0) for k in years),
            ]
        return out

    @classmethod
    def kpis(cls, scenario, output, start: float, end: float) -> list[tuple[str, str, float]]:
        """Backlogs are stocks: at the end of the run (``_backlog``), at the end of each whole measured
        year (``_backlog_at_year_k``, k years after the start of the measured period, which is the
        intervention date unless one is set apart), their mean over the period, and their growth a
        year relative to the start of the period (``_backlog_growth_per_year``: is the queue settled,
        or growing as the London Crown backlog is?)."""
        ts = output.timeseries
        tiers = ("crown", "magistrates", "rasso")
        rows = stocks(ts, [f"{tier}_backlog" for tier in tiers], start, end)
        for tier in tiers:
            series = ts[(ts["series"] == f"{tier}_backlog") & (ts["day"] >= start) & (ts["day"] <= end)]
            if len(series):
                rows.append((f"{tier}_backlog_mean", "all", float(series["value"].mean())))
                first, last = float(series["value"].iloc[0]), float(series["value"].iloc[-1])
                years = (float(series["day"].iloc[-1]) - float(series["day"].iloc[0])) / 365.0
                if first > 0 and years > 0:
                    rows.append((f"{tier}_backlog_growth_per_year", "all", (last / first - 1.0) / years))
        return rows

    @classmethod
    def activity(cls, scenario, cases, start: float, end: float, years: float) -> list[tuple[str, str, float]]:
        """Shared-list sitting days used by prosecutions completed in the window, by offence and all;
        and the trial listings of those prosecutions as HMCTS classes them (``TRIAL_SHARES``)."""
        done = (cases["t_completion"] >= start) & (cases["t_completion"] < end)
        listed = cases["listings"] > 0
        ineffective = (cases["listings"] - 1).clip(lower=0)
        heard = cases["exit"].isin([Exit.CONVICTED, Exit.ACQUITTED]) & (cases["plea"] == Plea.NOT_GUILTY)
        rows = []
        for offence in [*scenario.offences, "all"]:
            mine = done if offence == "all" else done & (cases["offence"] == offence)
            for name, venue in (("magistrates", Venue.MAGISTRATES), ("crown", Venue.CROWN)):
                at = mine & (cases["venue"] == venue)
                rows.append((f"court_days_{name}", offence, float(cases.loc[at, "court_days"].sum()) / years))
            effective = float((mine & listed & heard).sum())
            cracked = float((mine & listed & ~heard).sum())
            bad = float(ineffective[mine & listed].sum())
            total = effective + cracked + bad
            for metric, count in zip(TRIAL_SHARES, (effective, cracked, bad)):
                rows.append((metric, offence, count / total if total else float("nan")))
        return rows

    @classmethod
    def costs(cls, scenario, get) -> dict[str, tuple[str, float]]:
        """Every list at its funded capacity: SDVC sessions, a RASSO list's sitting days, and the shared
        Crown and magistrates' sitting days (which also hear non-VAWG cases: an option that adds
        sitting days pays for all of them). The sitting days VAWG cases use are reported
        (``court_days_*``) but not priced again: they are part of the days funded."""
        uc, courts = scenario.costs, scenario.courts
        shared = courts.crown.sitting_days_per_year * uc.crown_sitting_day + courts.magistrates.sitting_days_per_year * uc.magistrates_sitting_day
        return {
            "cost_sdvc": ("delivery", courts.sdvc.courts * SESSIONS_PER_YEAR * uc.sdvc_session),
            "cost_specialist_court": ("delivery", courts.rasso.sitting_days_per_year * uc.crown_sitting_day if courts.rasso else 0.0),
            "cost_sitting_days": ("delivery", shared),
        }


# --------------------------------------------------------------------------- the case's court journey


def prosecute(stage: Courts, i: int):
    """SimPy sub-process: from charge to completion (conviction, acquittal, retraction, discontinuance)."""
    world = stage.world
    env, c = world.env, world.cases

    def settings():
        """The prosecution settings in force now (an option's from its date, for cases already charged
        too); at an SDVC its dedicated prosecutors' evidence-led probability, if one is set."""
        oc = world.offence(i)
        evidence_led = oc.withdrawal.p_evidence_led if oc.withdrawal is not None else 1.0
        sdvc_led = world.scenario.courts.sdvc.p_evidence_led
        if oc.withdrawal is not None and sdvc_led is not None and c.venue[i] == Venue.SDVC:
            evidence_led = sdvc_led
        return oc.prosecution, evidence_led

    p, p_evidence_led = settings()
    venue = choose_venue(p, c.u_venue[i], c.u_sdvc[i], stage.sdvc is not None and stage.sdvc.accepting)
    c.venue[i] = int(venue)
    yield env.timeout(stage._d_first_hearing[i])
    now = env.now
    c.t_first_hearing[i] = now
    p, p_evidence_led = settings()
    if pleads_guilty_early(p, venue, c.u_plea[i]):
        c.plea[i] = int(Plea.EARLY_GUILTY)
        stage.complete(i, Exit.CONVICTED, now)
        return
    c.plea[i] = int(Plea.NOT_GUILTY)
    if not world.victim_engaged(i, now):
        if not continues_evidence_led(p_evidence_led, c.u_evidence_led[i]):
            stage.complete(i, Exit.RETRACTION_POST_CHARGE, now)
            return
        c.evidence_led[i] = True
    court = stage.court_for(venue, i)
    if venue is Venue.SDVC:
        world.clock.scale_hazard(i, now, world.scenario.courts.sdvc.hr_withdrawal)
        stage.listed_sdvc(i)
    elif court is stage.rasso:
        world.clock.scale_hazard(i, now, world.scenario.courts.rasso.hr_withdrawal)
    lead = court.listing_delay(c.u_listing_delay[i]) * (p.listing_delay_factor if court.shared else 1.0)
    if lead > 0.0:
        court.listed += 1
        yield env.timeout(lead)
        court.listed -= 1

    key = c.k_listing[i]
    while True:
        k = c.listings[i]
        c.listings[i] = k + 1
        grant = court.request(i)
        if grant is not None:
            yield grant
        now = env.now
        if court.ineffective(case_uniform(key, 2 * k)):
            _used(c, i, court, court.cracked())
            court.listed += 1
            yield env.timeout(court.relist_delay(case_uniform(key, 2 * k + 1)))
            court.listed -= 1
            continue
        c.t_trial[i] = now
        p, p_evidence_led = settings()
        if not c.evidence_led[i] and not world.victim_engaged(i, now):
            if not continues_evidence_led(p_evidence_led, c.u_evidence_led[i]):
                _used(c, i, court, court.cracked())
                stage.complete(i, Exit.RETRACTION_POST_CHARGE, now)
                return
            c.evidence_led[i] = True
        result = at_listing(p, c.u_late_plea[i], c.u_discontinue[i])
        if result is ListingResult.LATE_GUILTY_PLEA:
            c.plea[i] = int(Plea.LATE_GUILTY)
            _used(c, i, court, court.cracked())
            stage.complete(i, Exit.CONVICTED, now)
            return
        if result is ListingResult.DISCONTINUED:
            _used(c, i, court, court.cracked())
            stage.complete(i, Exit.DISCONTINUED, now)
            return
        trial = stage._d_trial[i]
        days = court.sit(trial)
        _used(c, i, court, trial)
        if days > 0.0:
            yield env.timeout(days)
        supported = stage.support_start is not None and stage.support_start[i] <= env.now  # NaN compares False: never supported
        conviction_rr = world.scenario.support.effect.conviction_rr
        guilty = convicted_at_trial(p, venue, c.evidence_led[i], supported, conviction_rr, c.u_verdict[i])
        stage.complete(i, Exit.CONVICTED if guilty else Exit.ACQUITTED, env.now)
        return


def _used(c, i: int, court, sitting_days: float) -> None:
    """Record the shared-list court time a case used (for costing by use)."""
    if court.shared:
        c.court_days[i] += sitting_days
