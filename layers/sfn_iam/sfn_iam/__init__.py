"""sfn-iam: least-privilege IAM policies for AWS Step Functions state machines.

Layers, each importing only those below it (docs/architecture.md): the shared value types at this package's root,
``engine`` (pure: definition → policy), ``fixing`` (the role-fixing use case over ports), ``governance`` (the
account sweep and its report), ``aws`` (the boto3 adapters and their wiring) and ``cli``.
"""

__version__ = "0.1.0"
