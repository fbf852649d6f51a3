#!/usr/bin/env python3
"""Check the bureaux before election day: identical to ``locator validate`` (same options,
same reports, same exit codes: 0 no error, 1 errors found (with --strict: or warnings),
2 input unusable).

    scripts/validate_bureaux.py [BUREAUX] [--communes PATH ...] [--areas FILE]
        [--corrections FILE] [--format text|json|csv|geojson|html] [--output FILE]
        [--regeocode] [--write-fixed FILE] [--strict]
"""

import sys
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from locator.cli.validate import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
