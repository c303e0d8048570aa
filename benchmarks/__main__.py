"""`python -m benchmarks [--quick] [--json OUT] [--plot OUT.png] [--device cpu|gpu|all] ...`."""

import sys

from benchmarks.cli import main

sys.exit(main())
