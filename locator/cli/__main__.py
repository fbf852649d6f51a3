"""``python -m locator.cli``: the same as the ``locator`` command."""

import sys

from . import main

sys.exit(main())
