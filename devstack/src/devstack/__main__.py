"""`python -m devstack`: the same as the `devstack` console script."""

import sys

from devstack.cli import main

sys.exit(main())
