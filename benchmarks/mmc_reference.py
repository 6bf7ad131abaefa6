"""The reference: a bare SimPy M/M/c queue, written the way the SimPy documentation teaches.

A source process creates customers with exponential inter-arrival times; each customer is a
process that requests a ``simpy.Resource``, is served for an exponential time and releases it.
The cost of one customer here is the yardstick for the cost of one reported case in simcj.
"""

from __future__ import annotations

import random
import time

import simpy


def customer(env: simpy.Environment, server: simpy.Resource, rng: random.Random, mean_service: float):
    with server.request() as req:
        yield req
        yield env.timeout(rng.expovariate(1.0 / mean_service))


def source(env, server, rng, n, mean_interarrival, mean_service):
    for _ in range(n):
        yield env.timeout(rng.expovariate(1.0 / mean_interarrival))
        env.process(customer(env, server, rng, mean_service))


def run_mmc(customers: int, servers: int = 50, rho: float = 0.9, seed: int = 1) -> float:
    """Seconds to simulate ``customers`` through an M/M/c queue at utilisation ``rho``."""
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=servers)
    rng = random.Random(seed)
    mean_service = 10.0
    mean_interarrival = mean_service / (servers * rho)
    start = time.perf_counter()
    env.process(source(env, server, rng, customers, mean_interarrival, mean_service))
    env.run()
    return time.perf_counter() - start
