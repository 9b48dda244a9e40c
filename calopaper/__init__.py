"""calopaper: fast calorimeter simulation papers, re-implemented and rebuilt as one book."""

__version__ = "0.1.0"
