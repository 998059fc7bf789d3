"""Adapters: the only code in the package that imports boto3. Nothing is re-exported; app.py and scripts wire them.

Each adapter module declares ``REQUIRED_ACTIONS``, the IAM actions its methods call; a contract test checks that
template.yaml grants the fixer exactly their union.
"""
