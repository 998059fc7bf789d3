"""sfn-iam: least-privilege IAM policies for AWS Step Functions state machines.

The package is split into a pure core (``asl``, ``integrations``, ``sdk``, ``policy``, ``guardrails``,
``findings``, ``model``, ``arns``, ``engine``, ``evaluate``) that imports only the standard library, and adapters
(``aws``) plus entry points (``cli``) at the edge.
"""

__version__ = "0.1.0"
