"""Replications, parallel execution and statistics."""
