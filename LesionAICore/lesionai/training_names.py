"""The recipe names for the command line's help, from the one table :mod:`lesionai.training.catalog`."""

from .training.catalog import RECIPE_MODULES, RECIPE_NAMES  # noqa: F401
