"""``python -m sfn_iam.cli``: the same as the ``sfn-iam`` console script."""

import sys

from sfn_iam.cli import main

sys.exit(main())
