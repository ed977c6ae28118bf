"""``python -m locator`` runs the ``locate`` command line."""

from locator.cli import main

main()
