"""`python -m dagster_project` runs the `siem` command line."""

from dagster_project.cli import main

main()
