"""SNS adapter: a sweep's summary to a topic that governance teams subscribe to (e-mail, chat, ticketing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

REQUIRED_ACTIONS = frozenset({"sns:Publish"})


class SnsNotifier:
    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def notify(self, subject: str, message: str) -> None:
        # SNS limits: subject 100 characters (no line breaks), message 256 KB.
        self.client.publish(TopicArn=self.topic_arn, Subject=subject.replace("\n", " ")[:100],
                            Message=message.encode()[:250_000].decode(errors="ignore"))
