"""simcj: discrete-event simulation of the VAWG criminal justice pathway in London.

    import simcj
    sc = simcj.load_scenario("scenarios/baseline.yaml")
    res = simcj.simulate(sc, reps=4, seed=1)
    res.summary
    table = simcj.sweep("scenarios/baseline.yaml", {"support.services.idva.staff": "92:124:5"}, scale=0.25)
    simcj.sensitivity("results/my-sobol-sweep", [("convicted", "all")])
"""

__version__ = "0.1.0"

from .experiment.global_sensitivity import sweep_sensitivity as sensitivity  # noqa: E402
from .experiment.results import Results, simulate  # noqa: E402
from .experiment.sweep import sweep  # noqa: E402
from .scenario import Scenario, ScenarioError, load_scenario  # noqa: E402

__all__ = ["Results", "Scenario", "ScenarioError", "__version__", "load_scenario", "sensitivity", "simulate", "sweep"]
