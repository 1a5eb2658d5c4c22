"""Alerts to an SNS topic. Publishing never raises: the caller records whether it worked."""

from __future__ import annotations

from typing import Any

from control_plane.aws.errors import AWS_FAILURES, translate


def publish(sns: Any, topic_arn: str | None, subject: str, message: str) -> str | None:
    """Returns None when published (or when no topic is configured), else the error to record."""
    if not topic_arn:
        return None
    try:
        sns.publish(TopicArn=topic_arn, Subject=subject[:100], Message=message)
    except AWS_FAILURES as exc:
        return str(translate(exc, f"SNS publish to {topic_arn}"))
    return None
