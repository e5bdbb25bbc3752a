"""python -m lab run PLAYBOOK | python -m lab with-lab --integration-config FILE -- COMMAND (see lab/run.py)."""

import sys

from .run import main

sys.exit(main())
