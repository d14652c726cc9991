"""``python -m tests.simulation``: the soak (see ``soak.py``)."""

import sys

from tests.simulation.soak import main

sys.exit(main())
