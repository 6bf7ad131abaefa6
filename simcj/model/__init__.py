"""The SimPy world: one module per stage of the pathway."""
