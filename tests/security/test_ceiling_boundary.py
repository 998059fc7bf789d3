"""The boundary IAM holds (engine/guardrails/ceiling.py ``boundary``): which merges are made to fit a ceiling into a
managed policy, in which order, and what is never merged. Small documents with exact results: the default's own
boundary takes tens of seconds to compute (tests/security/test_default_boundary.py, tests/contract), these a few
milliseconds, so that mutation testing can judge every decision of the merge loop (docs/mutation.md).

Each merged result is also read back as a ceiling: it allows every action the source allowed (a merge only widens).
"""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam.engine.guardrails import ceiling
from sfn_iam.engine.guardrails.ceiling import CeilingError, boundary, filled, parse, size

SQS = ["sqs:GetQueueUrl", "sqs:GetQueueAttributes"]  # every sqs:Get* action of the IAM reference (List/Read)
PRICING = ["pricing:GetAttributeValues", "pricing:GetPriceListFileUrl"]  # pricing:* admits only reads
APPSTUDIO = ["appstudio:StartEnablementJob", "appstudio:StartRollbackEnablementJob"]  # Start* admits a Write
TELEMETRY = ["inspector2-telemetry:NotifyHeartbeat", "inspector2-telemetry:SendTelemetry"]  # only * groups them


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: Any, resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def _widens_only(source: dict[str, Any], merged: dict[str, Any]) -> None:
    wide = parse(merged)
    for stmt in source["Statement"]:
        if stmt["Effect"] == "Allow":
            for action in stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]:
                assert wide.allows(action, stmt["Resource"]), action


def test_two_listed_actions_of_one_verb_merge_into_its_wildcard_one_action_never_does() -> None:
    src = doc(allow(SQS))
    merged = boundary(src, limit=size(src) - 1)
    assert merged == doc(allow(["sqs:Get*"]))
    _widens_only(src, merged)
    one = doc(allow(["sqs:GetQueueUrl"]))  # sqs:Get* would be shorter, but it replaces one action only: no merge
    with pytest.raises(CeilingError, match=r"\(101 characters, 98 available\) even with whole services"):
        boundary(one, limit=size(one) - 3)


def test_a_merge_admitting_writes_needs_most_1_and_a_whole_service_is_never_merged_for_writes() -> None:
    src = doc(allow(APPSTUDIO))
    with pytest.raises(CeilingError, match=r"\(153 characters, 152 available\)"):
        boundary(src, limit=size(src) - 1)  # most=0: reads only
    merged = boundary(src, limit=size(src) - 1, most=1)
    assert merged == doc(allow(["appstudio:Start*"]))
    _widens_only(src, merged)
    telemetry = doc(allow(TELEMETRY))
    with pytest.raises(CeilingError, match="does not fit"):
        boundary(telemetry, limit=size(telemetry) - 1, most=1)


def test_the_least_risky_merge_comes_first_even_when_a_riskier_one_saves_more() -> None:
    src = doc(allow([*APPSTUDIO, *SQS]))
    merged = boundary(src, limit=size(src) - 1, most=1)
    # appstudio:Start* would save 51 characters, sqs:Get* 32: the read-only merge is made, and one was enough
    assert merged == doc(allow([*APPSTUDIO, "sqs:Get*"]))
    _widens_only(src, merged)


def test_among_equally_risky_merges_the_one_saving_most_comes_first_and_actions_stay_sorted() -> None:
    src = doc(allow([*SQS, *PRICING]))
    merged = boundary(src, limit=size(src) - 1)
    assert merged == doc(allow(["pricing:*", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]))
    _widens_only(src, merged)
    assert boundary(src, limit=size(merged) - 1) == doc(allow(["pricing:*", "sqs:Get*"]))  # then the next one


def test_sids_are_dropped_before_measuring_and_deny_statements_or_single_actions_are_never_merged() -> None:
    src = {"Statement": [{"Sid": "Reads", **allow(SQS)},
                         {"Sid": "NoSecret", "Effect": "Deny", "Action": SQS, "Resource": "arn:aws:sqs:*:*:secret"},
                         allow("pricing:GetProducts")]}
    without_sids = {"Version": "2012-10-17",
                    "Statement": [allow(SQS), {"Effect": "Deny", "Action": SQS, "Resource": "arn:aws:sqs:*:*:secret"},
                                  allow("pricing:GetProducts")]}
    assert boundary(src, limit=size(without_sids)) == without_sids  # fits once the Sids are gone: no merge
    merged = boundary(src, limit=size(without_sids) - 1)
    assert merged == {"Version": "2012-10-17",
                      "Statement": [allow(["sqs:Get*"]), without_sids["Statement"][1], allow("pricing:GetProducts")]}
    _widens_only(src, merged)
    with pytest.raises(CeilingError):  # the Deny's list and a lone action offer no merge
        boundary(src, limit=size(merged) - 1)


def test_the_reserve_is_kept_free_and_the_size_is_that_of_the_filled_placeholders() -> None:
    src = doc(allow(SQS))
    assert boundary(src, limit=size(src) + 5, reserve=5) == src
    assert boundary(src, limit=size(src) + 5, reserve=6) == doc(allow(["sqs:Get*"]))
    with pytest.raises(CeilingError, match=r"\(94 characters, 59 available\)"):
        boundary(doc(allow(["sqs:Get*"])), limit=100, reserve=41)
    queues = "arn:${AWS::Partition}:sqs:*:${AWS::AccountId}:${AWS::StackName}-*"
    templated = doc(allow(SQS, queues))
    worst = size(filled(templated))  # aws-us-gov, a 12-digit account, a 24-character stack name
    assert worst != size(templated)
    assert boundary(templated, limit=worst) == templated
    assert boundary(templated, limit=worst - 1) == doc(allow(["sqs:Get*"], queues))


def test_a_merge_never_admits_an_action_to_avoid() -> None:
    src = doc(allow([*SQS, *PRICING]))
    merged = boundary(src, limit=size(src) - 1, avoid=["pricing:GetProducts"])
    assert merged == doc(allow(["pricing:GetAttributeValues", "pricing:GetPriceListFileUrl", "sqs:Get*"]))
    assert ceiling.size({"a": "b c"}) == len('{"a":"bc"}')


def test_a_merge_saving_one_character_more_comes_first() -> None:
    """application-signals:List* saves 51 characters, access-analyzer:Check* 50: the larger saving first, exactly."""
    checks = ["access-analyzer:CheckAccessNotGranted", "access-analyzer:CheckNoNewAccess"]
    lists = ["application-signals:ListAuditFindings", "application-signals:ListEntityEvents"]
    src = doc(allow([*checks, *lists]))
    assert boundary(src, limit=size(src) - 1) == doc(allow([*checks, "application-signals:List*"]))


def test_a_merge_admitting_a_list_action_is_a_read_only_merge() -> None:
    """resource-explorer:* admits ListResources (List level) and nothing else: as harmless as a Read, merged with
    most=0 (and it saves more than resource-explorer:List*)."""
    src = doc(allow(["resource-explorer:ListResourceTypes", "resource-explorer:ListTags"]))
    merged = boundary(src, limit=size(src) - 1)
    assert merged == doc(allow(["resource-explorer:*"]))
    _widens_only(src, merged)


TAGS = ["tag:GetComplianceSummary", "tag:GetResources"]  # tag:Get* admits only reads; tag:* admits writes
BROKERS = ["mq:ListBrokers", "mq:ListTags", "mq:ListUsers"]  # mq:List* admits only reads; mq:* admits writes


def test_of_merges_saving_as_much_the_earlier_statements_comes_first_whatever_their_sizes() -> None:
    """tag:Get* (2 actions) and mq:List* (3 actions) both save 35 characters exactly: the saving is the characters
    saved, not a count of actions, so the order of the statements decides, either way round."""
    for first, second, pattern in ((TAGS, BROKERS, "tag:Get*"), (BROKERS, TAGS, "mq:List*")):
        src = doc(allow(first), allow(second))
        merged = boundary(src, limit=size(src) - 1)
        assert merged == doc(allow([pattern]), allow(second))
        assert size(src) - size(merged) == 35
        _widens_only(src, merged)
    assert size(doc(allow(TAGS))) - size(doc(allow(["tag:Get*"]))) == 35


def test_the_limit_is_a_managed_policys_6144_characters() -> None:
    """IAM counts 6,144 characters, whitespace excluded, for a customer managed policy
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): a document of exactly that size is
    the boundary as it is, one character more is merged."""
    exact = doc(allow(SQS, "arn:aws:sqs:*:*:" + "q" * 6003))
    assert size(exact) == 6144 == ceiling.MANAGED_POLICY_LIMIT
    assert boundary(exact) == exact
    over = doc(allow(SQS, "arn:aws:sqs:*:*:" + "q" * 6004))
    assert boundary(over) == doc(allow(["sqs:Get*"], over["Statement"][0]["Resource"]))


def test_the_size_assumes_a_stack_name_of_24_characters() -> None:
    """docs/security.md: the template's boundary is measured with a 24-character stack name (a longer one makes
    CloudFormation refuse the policy): a document that fits with one is kept, one character less room merges."""
    queues = "arn:aws:sqs:*:*:${AWS::StackName}-*"
    templated = doc(allow(SQS, queues))
    with_24 = size(doc(allow(SQS, "arn:aws:sqs:*:*:" + "x" * 24 + "-*")))
    assert with_24 == size(templated) - len("${AWS::StackName}") + 24
    assert boundary(templated, limit=with_24) == templated
    assert boundary(templated, limit=with_24 - 1) == doc(allow(["sqs:Get*"], queues))


def test_a_merge_may_admit_no_more_risk_than_most() -> None:
    """most=-1 admits nothing beyond the listed actions: not even a read-only merge is made."""
    src = doc(allow(SQS))
    with pytest.raises(CeilingError, match="does not fit"):
        boundary(src, limit=size(src) - 1, most=-1)
    assert boundary(src, limit=size(src) - 1, most=0) == doc(allow(["sqs:Get*"]))


def test_a_merge_never_admits_permissions_management_a_secret_read_or_a_sensitive_action() -> None:
    """Each group below is merged by its verb only if the wildcard admits nothing risky; the one action it would
    admit beyond the listed ones is Permissions management (glacier:InitiateVaultLock), a secret read
    (secretsmanager:GetSecretValue, a Read) or a sensitive action (codedeploy:CreateDeployment, a Write) — on no
    other list — so even most=1 makes no merge. Listing that action too makes the same merge harmless."""
    cases = [(["glacier:InitiateJob", "glacier:InitiateMultipartUpload"], "glacier:InitiateVaultLock",
              "glacier:Initiate*"),
             (["secretsmanager:GetRandomPassword", "secretsmanager:GetResourcePolicy"],
              "secretsmanager:GetSecretValue", "secretsmanager:Get*"),
             (["codedeploy:CreateApplication", "codedeploy:CreateCloudFormationDeployment",
               "codedeploy:CreateDeploymentConfig", "codedeploy:CreateDeploymentGroup"], "codedeploy:CreateDeployment",
              "codedeploy:Create*")]
    for listed, risky, pattern in cases:
        src = doc(allow(listed))
        with pytest.raises(CeilingError, match="does not fit"):
            boundary(src, limit=size(src) - 1, most=1)
        every = doc(allow(sorted([*listed, risky])))
        assert boundary(every, limit=size(every) - 1, most=1) == doc(allow([pattern])), risky


def test_a_statement_that_is_not_an_allow_list_is_kept_and_the_next_one_is_still_merged() -> None:
    """A Deny, an Allow whose Action is one string and a statement without Effect come first: each is kept as it is
    and the Allow list after them is merged."""
    deny = {"Effect": "Deny", "Action": SQS, "Resource": "arn:aws:sqs:*:*:secret"}
    for first in (deny, allow("pricing:GetProducts"), {"Action": SQS, "Resource": "*"}):
        src = doc(first, allow(SQS))
        assert boundary(src, limit=size(src) - 1) == doc(first, allow(["sqs:Get*"])), first


def test_action_names_in_another_case_are_judged_as_iam_reads_them() -> None:
    """IAM action names ignore case: a wildcard over upper-case names admits what it admits in the reference's case
    (APPSTUDIO:Start* admits a Write: no merge with most=0), listed names in another case count as listed
    (SECRETSMANAGER:Get* over every Get* action, the secret read included, admits nothing more), and an action to
    avoid is avoided in any case. A name without a capitalised verb joins no verb group."""
    upper = doc(allow(["APPSTUDIO:StartEnablementJob", "APPSTUDIO:StartRollbackEnablementJob"]))
    with pytest.raises(CeilingError, match="does not fit"):
        boundary(upper, limit=size(upper) - 1)
    gets = ["SECRETSMANAGER:GetRandomPassword", "SECRETSMANAGER:GetResourcePolicy", "SECRETSMANAGER:GetSecretValue"]
    every = doc(allow(gets))
    assert boundary(every, limit=size(every) - 1) == doc(allow(["SECRETSMANAGER:Get*"]))
    src = doc(allow([*SQS, *PRICING]))
    merged = boundary(src, limit=size(src) - 1, avoid=["PRICING:getproducts"])
    assert merged == doc(allow(["pricing:GetAttributeValues", "pricing:GetPriceListFileUrl", "sqs:Get*"]))
    lower = doc(allow(["sqs:getqueueurl", "sqs:getqueueattributes", "pricing:GetAttributeValues",
                       "pricing:GetPriceListFileUrl"]))
    assert boundary(lower, limit=size(lower) - 1) == doc(allow(["pricing:*", "sqs:getqueueattributes",
                                                                "sqs:getqueueurl"]))
