"""The package version, its one source (read by pyproject.toml and :data:`inrank.__version__`)."""
__version__ = "0.1.0"
