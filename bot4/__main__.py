"""`python -m bot4` is the `bot4` command."""

from bot4.cli import main

raise SystemExit(main())
