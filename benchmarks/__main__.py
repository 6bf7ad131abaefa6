"""Benchmarks of issue "Performance": run with `python -m benchmarks` (add --quick for a smoke run).

(a) wall time and peak memory of one London-scale replication of the baseline, one simulated year;
(b) cost per reported case divided by the cost per customer of a bare SimPy M/M/c queue with the
    same number of customers, measured in the same run;
(c) scaling: volumes and capacities x0.25, x1, x4: time ratio against volume ratio;
(d) peak memory of a 5-year London run with case-level output (the CLI, writing cases.parquet);
(e) the shared warm-up: the base and the eight shipped options compared (each option branched
    from the base at its date) against the nine run separately, as a ratio measured in one run;
(f) a sweep on 2 local worker processes against 1: the speed-up, measured in one run;
(g) the scheduling overhead per task on a Dask LocalCluster of 2 workers (trivial tasks).

Each measurement runs in a fresh Python process, so peak memory is that measurement's own. The
budgets are checked at the end; the exit code is 1 if any is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"

REPLICATION = """
import gc, json, resource, time
from simcj.scenario import load_scenario
from simcj.experiment.executor import ReplicationTask
from simcj.experiment.runner import resolve
from simcj.engine.world import World
spec = resolve(load_scenario({path!r}), years={years}, warmup_years=0, scale={scale})
build, run, whole = [], [], []
for _ in range({repeats}):
    t0 = time.perf_counter()
    world = World(spec.scenario, 0, spec.seed)
    t1 = time.perf_counter()
    world.run()
    t2 = time.perf_counter()
    n = world.cases.n
    events = next(world.env._eid)
    del world
    gc.collect()
    t3 = time.perf_counter()
    ReplicationTask(spec.scenario, 0, spec.seed).run()
    t4 = time.perf_counter()
    build.append(t1 - t0); run.append(t2 - t1); whole.append(t4 - t3)
print(json.dumps({{"build": min(build), "run": min(run), "replication": min(whole), "cases": n, "events": events,
                   "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

MMC = """
import json, sys
sys.path.insert(0, {root!r})
from benchmarks.mmc_reference import run_mmc
print(json.dumps({{"seconds": min(run_mmc({n}, seed=s) for s in (1, 2, 3))}}))
"""


SHARED_WARMUP = """
import json, time
from simcj.scenario import load_scenario
from simcj.experiment.compare import run_comparison
from simcj.experiment.executor import TABLES, LocalExecutor
from simcj.experiment.results import simulate
names = ["idva_plus_20", "sdvc_all_da", "sdvc_close_one", "rasso_court", "crown_sitting_days_plus_10",
         "investigators_plus_10", "evidence_led_prosecution", "faster_charging"]
base = load_scenario({root!r} + "/scenarios/baseline.yaml")
options = [load_scenario({root!r} + f"/scenarios/{{n}}.yaml") for n in names]
executor = LocalExecutor({jobs})
t = time.perf_counter()
run_comparison(base, options, {reps}, 20261122, {scale}, executor)
compared = time.perf_counter() - t
t = time.perf_counter()
for sc in [base, *options]:
    simulate(sc, reps={reps}, seed=20261122, scale={scale}, jobs=executor, want=TABLES)
separate = time.perf_counter() - t
print(json.dumps({{"compared_s": compared, "separate_s": separate, "ratio": compared / separate}}))
"""


SWEEP_SPEEDUP = """
import json, tempfile, time
from pathlib import Path
from simcj.experiment.executor import LocalExecutor
from simcj.experiment.sweep import SweepSpec, parse_vary, run_sweep
spec = SweepSpec(scenario={root!r} + "/scenarios/baseline.yaml", factors=[parse_vary("support.services.idva.staff=80:140:4")],
                 reps=2, seed=20261122, scale={scale}, years=1, warmup_years=1)
times = {{}}
with tempfile.TemporaryDirectory() as tmp:
    for jobs in (1, 2):
        t = time.perf_counter()
        run_sweep(spec, Path(tmp) / f"s{{jobs}}", LocalExecutor(jobs))
        times[jobs] = time.perf_counter() - t
print(json.dumps({{"one_worker_s": times[1], "two_workers_s": times[2], "speedup": times[1] / times[2]}}))
"""

DASK_OVERHEAD = """
import json, operator, time
from distributed import Client, LocalCluster
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
client = Client(cluster)
client.gather(client.map(operator.neg, range(50)))  # warm the workers
n = 1000
t = time.perf_counter()
client.gather(client.map(operator.neg, range(1000, 1000 + n)))
per_task = (time.perf_counter() - t) / n
client.close(); cluster.close()
print(json.dumps({{"tasks": n, "overhead_ms_per_task": per_task * 1e3}}))
"""


def child(code: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def replication(scale: float, years: float = 1.0, repeats: int = 3) -> dict:
    """One simulated year at ``scale``: the fastest of ``repeats`` runs (the machine is shared and noisy)."""
    return child(REPLICATION.format(path=str(BASELINE), years=years, scale=scale, repeats=repeats))


def five_year_cli(scale: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        code = (
            "import resource, json, subprocess, sys, time\n"
            f"t = time.perf_counter()\n"
            f"subprocess.run([sys.executable, '-m', 'simcj.cli', 'run', {str(BASELINE)!r}, '--reps', '1', '--jobs', '1', '--years', '5', "
            f"'--warmup-years', '0', '--scale', '{scale}', '--quiet', '--out', {str(Path(tmp) / 'r')!r}], check=True, capture_output=True)\n"
            "print(json.dumps({'seconds': time.perf_counter() - t, 'peak_mib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n"
        )
        return child(code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of London: checks the benchmark runs, not the budgets")
    parser.add_argument("--json", type=Path, help="also write the measurements to this file")
    args = parser.parse_args()
    base = 0.1 if args.quick else 1.0

    a = replication(base)
    mmc = child(MMC.format(root=str(ROOT), n=a["cases"]))
    sim_per_case = (a["build"] + a["run"]) / a["cases"]
    whole_per_case = a["replication"] / a["cases"]
    mmc_per_customer = mmc["seconds"] / a["cases"]
    scaling = {0.25: replication(base * 0.25), 1.0: a, 4.0: replication(base * 4.0)}  # best of three at every scale
    d = five_year_cli(base)
    e = child(SHARED_WARMUP.format(root=str(ROOT), jobs=2, reps=2, scale=0.25 * base))
    f = child(SWEEP_SPEEDUP.format(root=str(ROOT), scale=0.5 * base))
    g = child(DASK_OVERHEAD.format())

    ratio_b = sim_per_case / mmc_per_customer
    ratio_c = scaling[4.0]["replication"] / scaling[1.0]["replication"]
    ratio_c_low = scaling[1.0]["replication"] / scaling[0.25]["replication"]
    results = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "scale": base,
        "a_one_year": {"reported_cases": a["cases"], "events": a["events"], "draw_cases_s": a["build"], "event_loop_s": a["run"], "replication_with_kpis_s": a["replication"], "peak_mib": a["peak_mib"]},
        "b_per_case_vs_mmc": {"simcj_us_per_case": sim_per_case * 1e6, "simcj_with_kpis_us_per_case": whole_per_case * 1e6, "mmc_us_per_customer": mmc_per_customer * 1e6, "ratio": ratio_b, "ratio_with_kpis": whole_per_case / mmc_per_customer},
        "c_scaling": {f"x{f:g}": {"cases": s["cases"], "events": s["events"], "seconds": s["replication"]} for f, s in scaling.items()} | {"time_ratio_x4_over_x1": ratio_c, "time_ratio_x1_over_x0.25": ratio_c_low},
        "d_five_years_cli": d,
        "e_shared_warmup": {"scale": 0.25 * base, "reps": 2, "jobs": 2, **e},
        "f_sweep_speedup": {"scale": 0.5 * base, "points": 4, "reps": 2, **f},
        "g_dask_overhead": g,
    }
    budgets = [
        ("(a) one London year, replication with KPIs <= 5 s", a["replication"] <= 5.0),
        ("(b) cost per case / bare M/M/c per customer <= 2.0", ratio_b <= 2.0),
        ("(c) x4 volume costs <= 4.4x the time", ratio_c <= 4.4),
        ("(d) 5-year London run with case output <= 1 GiB", d["peak_mib"] <= 1024),
        ("(e) base + 8 options compared <= 0.5x the nine run separately", e["ratio"] <= 0.5),
        ("(f) sweep on 2 workers >= 1.8x as fast as on 1", f["speedup"] >= 1.8),
        ("(g) Dask scheduling overhead <= 10 ms per task", g["overhead_ms_per_task"] <= 10.0),
    ]
    print(json.dumps(results, indent=2))
    print()
    for label, ok in budgets:
        print(f"{'PASS' if ok else 'MISS'}  {label}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.quick:
        print("(--quick: a tenth of London; budgets apply to the full run)")
        return 0
    return 0 if all(ok for _, ok in budgets) else 1


if __name__ == "__main__":
    sys.exit(main())
