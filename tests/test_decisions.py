"""Unit tests of the pure decision functions: each is a function of (parameters, uniform)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simcj.engine.cases import Venue
from simcj.vawg.charging import Charging, ChargingDecision, charging_decision
from simcj.vawg.courts import (
    ListingResult,
    Prosecution,
    at_listing,
    choose_venue,
    continues_evidence_led,
    convicted_at_trial,
    pleads_guilty_early,
)
from simcj.vawg.police import Police, PoliceDecision, police_decision, suspect_identified
from simcj.vawg.reporting import is_recorded
from simcj.vawg.support import Support, is_referred, referral_probability, waiting_list_level

GRID = (np.arange(100_000) + 0.5) / 100_000  # a fine uniform grid: frequencies are then exact to 1e-5


def _police(refer, caution):
    return Police.model_validate(
        {"unit": "u", "p_suspect_identified": 0.9, "p_arrest": 0.3, "investigation_time": {"dist": "fixed", "value": 1}, "p_refer_cps": refer, "p_caution": caution}
    )


def _prosecution(**kw):
    base = {
        "p_crown": 0.2,
        "p_sdvc": 0.5,
        "first_hearing_delay": {"dist": "fixed", "value": 7},
        "p_guilty_plea_first_hearing": {"magistrates": 0.4, "sdvc": 0.45, "crown": 0.1},
        "p_late_guilty_plea": 0.3,
        "p_discontinued_at_trial": 0.1,
        "p_convict_at_trial": {"magistrates": 0.5, "sdvc": 0.6, "crown": 0.58},
        "p_convict_evidence_led": 0.3,
        "trial_sitting_days": {"dist": "fixed", "value": 1},
    }
    base.update(kw)
    return Prosecution.model_validate(base)


probs = st.floats(0.0, 1.0)


@given(probs, probs)
def test_police_decision_frequencies_match_parameters(a, b):
    refer, caution = a * 0.5, b * 0.5
    p = _police(refer, caution)
    decisions = [police_decision(p, u) for u in GRID[::50]]
    n = len(decisions)
    assert decisions.count(PoliceDecision.REFER_CPS) / n == pytest.approx(refer, abs=1e-3)
    assert decisions.count(PoliceDecision.CAUTION) / n == pytest.approx(caution, abs=1e-3)


def test_police_decision_boundaries():
    p = _police(0.2, 0.3)
    assert police_decision(p, 0.0) is PoliceDecision.REFER_CPS
    assert police_decision(p, 0.1999) is PoliceDecision.REFER_CPS
    assert police_decision(p, 0.2) is PoliceDecision.CAUTION
    assert police_decision(p, 0.4999) is PoliceDecision.CAUTION
    assert police_decision(p, 0.5) is PoliceDecision.EVIDENTIAL_DIFFICULTIES
    assert suspect_identified(p, 0.89) and not suspect_identified(p, 0.9)
    assert is_recorded(0.83, 0.5) and not is_recorded(0.83, 0.9)


def test_police_probabilities_must_leave_room_for_o15():
    with pytest.raises(ValueError, match="must not exceed 1"):
        _police(0.7, 0.4)


def test_charging_decision():
    p = Charging.model_validate({"unit": "c", "decision_time": {"dist": "fixed", "value": 1}, "p_charge": 0.6, "p_out_of_court": 0.1})
    out = [charging_decision(p, u) for u in GRID[::10]]
    assert out.count(ChargingDecision.CHARGE) / len(out) == pytest.approx(0.6, abs=1e-4)
    assert out.count(ChargingDecision.OUT_OF_COURT) / len(out) == pytest.approx(0.1, abs=1e-4)
    assert out.count(ChargingDecision.NFA) / len(out) == pytest.approx(0.3, abs=1e-4)


def test_venue_choice_and_sdvc_only_when_sitting():
    p = _prosecution()
    assert choose_venue(p, 0.1, 0.9, True) is Venue.CROWN
    assert choose_venue(p, 0.5, 0.2, True) is Venue.SDVC
    assert choose_venue(p, 0.5, 0.2, False) is Venue.MAGISTRATES
    assert choose_venue(p, 0.5, 0.7, True) is Venue.MAGISTRATES


def test_pleas_by_venue():
    p = _prosecution()
    assert pleads_guilty_early(p, Venue.SDVC, 0.44) and not pleads_guilty_early(p, Venue.SDVC, 0.46)
    assert pleads_guilty_early(p, Venue.MAGISTRATES, 0.39) and not pleads_guilty_early(p, Venue.MAGISTRATES, 0.41)
    assert not pleads_guilty_early(p, Venue.CROWN, 0.11)


def test_listing_outcomes():
    p = _prosecution()
    assert at_listing(p, 0.29, 0.99) is ListingResult.LATE_GUILTY_PLEA
    assert at_listing(p, 0.31, 0.09) is ListingResult.DISCONTINUED
    assert at_listing(p, 0.31, 0.11) is ListingResult.TRIAL


def test_verdict_uses_venue_evidence_led_and_support_effect():
    p = _prosecution()
    assert convicted_at_trial(p, Venue.SDVC, False, False, 1.0, 0.59)
    assert not convicted_at_trial(p, Venue.MAGISTRATES, False, False, 1.0, 0.59)
    assert not convicted_at_trial(p, Venue.SDVC, True, False, 1.0, 0.31)  # evidence-led: 0.3
    # a supported victim's case: conviction probability x relative risk
    assert not convicted_at_trial(p, Venue.CROWN, False, True, 0.88, 0.58 * 0.88 + 1e-6)
    assert convicted_at_trial(p, Venue.CROWN, False, True, 0.88, 0.58 * 0.88 - 1e-6)
    assert convicted_at_trial(p, Venue.CROWN, False, True, 5.0, 0.999)  # capped at 1
    assert continues_evidence_led(0.36, 0.35) and not continues_evidence_led(0.36, 0.37)


def test_venues_a_case_can_reach_need_values():
    with pytest.raises(ValueError, match="sdvc"):
        _prosecution(p_guilty_plea_first_hearing={"magistrates": 0.4, "crown": 0.1})
    # no SDVC listing and no magistrates' cases: only the Crown value is needed
    _prosecution(p_crown=1.0, p_sdvc=0.0, p_guilty_plea_first_hearing={"crown": 0.1}, p_convict_at_trial={"crown": 0.58})


def test_referral_by_risk_and_waiting_list_order():
    s = Support.model_validate({"service": "idva", "p_referral": {"high": 1.0, "medium": 0.1}})
    assert referral_probability(s, "high") == 1.0
    assert referral_probability(s, "standard") == 0.0
    assert is_referred(s, "medium", 0.05) and not is_referred(s, "medium", 0.2)
    s_all = Support.model_validate({"service": "isva", "p_referral": {"all": 0.6}})
    assert referral_probability(s_all, "") == 0.6

    class Svc:
        priority = ["high", "medium", "standard"]

    assert [waiting_list_level(Svc, r) for r in ("high", "medium", "standard", "")] == [0, 1, 2, 3]


def test_support_keys_are_checked():
    with pytest.raises(ValueError, match="unknown key"):
        Support.model_validate({"service": "idva", "p_referral": {"very high": 1.0}})
