"""Turn botocore failures into errors a person can act on.

moto (and real AWS) report the same problem in several shapes: a ClientError with a code, a
ResponseParserError when a mock answers HTTP 500, an EndpointConnectionError when nothing
listens. Callers get one of the ExternalServiceError subclasses below, whose message names the
service, the operation and what to check.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from control_plane.errors import ExternalServiceError

THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "RequestThrottled", "RequestThrottledException", "SlowDown",
})
DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
    "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
})
NOT_FOUND_CODES = frozenset({
    "DBClusterNotFoundFault", "NoSuchBucket", "NoSuchKey", "NotFound", "404", "NotFoundException",
    "ResourceNotFound", "ResourceNotFoundException",
})


class AwsThrottled(ExternalServiceError):
    """AWS asked us to slow down even after the client's own retries."""


class AwsAccessDenied(ExternalServiceError):
    """The credentials in use may not make this call."""


class AwsNotFound(ExternalServiceError):
    """The named AWS resource does not exist (in this account and region)."""


class AwsUnavailable(ExternalServiceError):
    """AWS (or the endpoint in AWS_ENDPOINT_URL) could not be reached or answered garbage."""


def error_code(exc: BaseException) -> str | None:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "") or None
    return None


def translate(exc: BaseException, what: str) -> ExternalServiceError:
    """`what` says which call failed, e.g. "RDS modify_db_cluster on cluster 'x'"."""
    code = error_code(exc)
    if isinstance(exc, ClientError):
        message = exc.response.get("Error", {}).get("Message") or str(exc)
        if code in THROTTLING_CODES:
            return AwsThrottled(f"{what} was throttled by AWS ({code}); it will be retried on the next run.")
        if code in DENIED_CODES:
            return AwsAccessDenied(f"{what} was denied ({code}): check the IAM policy of the credentials in use. "
                                   f"AWS said: {message}")
        if code in NOT_FOUND_CODES:
            return AwsNotFound(f"{what} failed: not found ({code}). AWS said: {message}")
        if message.lstrip().startswith("<"):  # an HTML error page: not AWS speaking (a proxy, or moto)
            return AwsUnavailable(f"{what} failed: the endpoint answered HTTP {code} without an AWS error")
        return ExternalServiceError(f"{what} failed ({code}): {message}")
    if isinstance(exc, NoCredentialsError):
        return AwsAccessDenied(f"{what} failed: no AWS credentials found (standard boto3 credential chain).")
    if isinstance(exc, EndpointConnectionError):
        return AwsUnavailable(f"{what} failed: cannot reach the AWS endpoint ({exc}); check AWS_ENDPOINT_URL "
                              "and the network.")
    if isinstance(exc, BotoCoreError):
        return AwsUnavailable(f"{what} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
    return ExternalServiceError(f"{what} failed: {type(exc).__name__}: {str(exc)[:300]}")


AWS_FAILURES = (ClientError, BotoCoreError)
