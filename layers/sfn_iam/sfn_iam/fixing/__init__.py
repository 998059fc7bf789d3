"""The role-fixing use case over ports: parse the event, check scope, plan, place the policy, report the outcome.

No boto3, no clock, no logging: the adapters in ``sfn_iam.aws`` implement the ports, the entry points wire them.
"""
