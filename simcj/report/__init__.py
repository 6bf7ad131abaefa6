"""Figures and results folders."""
