"""Allow `python -m dialer`."""

from dialer.cli import main

raise SystemExit(main())
