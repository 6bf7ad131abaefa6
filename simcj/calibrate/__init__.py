"""Calibration targets, validation against them, and model checks."""
