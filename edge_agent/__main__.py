"""``python -m edge_agent``: what a release bundle's launcher runs."""

import sys

from edge_agent.cli import main

sys.exit(main())
