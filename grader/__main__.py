"""``python -m grader`` runs the sockgrade command line."""

from grader.cli import main

raise SystemExit(main())
