"""The installed version of simcj, from the package's metadata (pyproject.toml is its one source)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("simcj")
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
