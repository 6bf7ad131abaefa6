"""The documentation's generated tables: ``python -m docs.build`` (see docs/build.py)."""
