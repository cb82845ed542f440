"""`python -m latticework` runs the CLI."""

from latticework.cli.main import main

main()
