"""afdsl: a language and test runner for alignment-faking experiments."""

__version__ = "0.1.0"

__all__ = ["__version__"]
