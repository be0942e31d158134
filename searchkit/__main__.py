"""`python -m searchkit` runs the command line."""

from .cli import run

run()
