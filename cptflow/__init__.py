"""cptflow: clinical documents in, coded claims and denial marts out."""

__version__ = "0.1.0"
