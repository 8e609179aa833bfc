"""The package's version: its one source.

Hatch reads it into the package metadata (``[tool.hatch.version]`` in pyproject.toml);
``infercarbon.__version__`` re-exports it.  A module of its own, so that any layer can read the
version without importing the package root (whose type-checking imports name upper layers).
"""

__version__ = "0.1.0"
