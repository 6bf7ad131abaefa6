"""simcj: discrete-event simulation of the VAWG criminal justice pathway in London.

    import simcj
    sc = simcj.load_scenario("scenarios/baseline.yaml")
    res = simcj.simulate(sc, reps=4, seed=1)
    res.summary
    simcj.figures.funnel(res)                    # a matplotlib figure
    simcj.write_results(res, "results/my-run")   # the folder `simcj run` writes
    table = simcj.sweep("scenarios/baseline.yaml", {"support.services.idva.staff": "92:124:5"}, scale=0.25)
    simcj.sensitivity("results/my-sobol-sweep", [("convicted", "all")])
"""


from .experiment.global_sensitivity import sweep_sensitivity as sensitivity  # noqa: E402
from .experiment.results import Results, simulate  # noqa: E402
from .experiment.sweep import sweep  # noqa: E402
from .scenario import Scenario, ScenarioError, load_scenario  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = ["Results", "Scenario", "ScenarioError", "__version__", "figures", "load_scenario", "sensitivity", "simulate", "sweep", "write_results"]


def __getattr__(name: str):
    """``simcj.figures`` and ``simcj.write_results`` (presentation), imported when first used: matplotlib
    is not loaded by a worker process that only simulates."""
    if name == "figures":
        from .report import figures

        return figures
    if name == "write_results":
        from .report.export import write_results

        return write_results
    raise AttributeError(f"module 'simcj' has no attribute {name!r}")
