"""`python -m orchestration.demo`: the same command as `python -m orchestration.synthetic`."""

import sys

from .generate import main

sys.exit(main())
