"""What the caller hears when an AWS call fails: a stable error code, never silence.

A fault of a dependency that passes (throttling, a 5xx, a timeout, a transaction that kept conflicting) is
`unavailable` with a retry hint: the action committed nothing a retry would trip over (signaling.logic undoes a
join whose seat was committed before the failure). Anything else (a 403 from IAM, a bug) stays `internal`.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from signaling.errors import Unavailable
from signaling.storage import StorageError

RETRY_AFTER_MS = 1000

TRANSIENT_CODES = frozenset(
    {
        # DynamoDB
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
        # API Gateway Management API, SQS
        "LimitExceededException",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "InternalFailure",
        "RequestThrottled",
        "KmsThrottled",
    }
)


def transient(exc: BaseException) -> Unavailable | None:
    """The `unavailable` error to answer for `exc`, or None if it is not a passing fault."""
    if isinstance(exc, StorageError | BotoCoreError):  # conflicts that kept on; connect/read timeouts
        return Unavailable("The service is busy right now. Retrying is safe.", retry_after_ms=RETRY_AFTER_MS)
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        reasons = {reason.get("Code") for reason in exc.response.get("CancellationReasons", [])}
        if (
            exc.response["Error"]["Code"] in TRANSIENT_CODES
            or int(status) >= 500
            or int(status) == 429
            or reasons & {"ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"}
        ):
            return Unavailable("The service is busy right now. Retrying is safe.", retry_after_ms=RETRY_AFTER_MS)
    return None
