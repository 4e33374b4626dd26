"""What a failed projector write means: wait for MongoDB, or set the record aside.

Three answers (docs/design.md §12):

- ``WAIT``: MongoDB, or the way to it, is down or busy (a connection lost, a primary
  stepping down, a timeout, a write MongoDB itself calls retryable). Nothing is wrong with
  the records; the projector waits for as long as it takes and loses nothing.
- ``REFUSED``: MongoDB answered and refused the write. Usually the record (a document too
  large, a value it rejects), sometimes a passing state of the server: retried a few
  times, then the record is isolated and dead-lettered.
- ``POISON``: the write failed before anything reached MongoDB — a value BSON cannot hold
  (an integer above 2**63: ``OverflowError``; a NUL or a leading '$' in a key:
  ``InvalidDocument``), or a record the fold cannot read. Trying again gives the same: the
  record is isolated and dead-lettered at once.
"""

from __future__ import annotations

from enum import StrEnum

from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WaitQueueTimeoutError,
    WTimeoutError,
)


class WriteFailure(StrEnum):
    WAIT = "wait"  # MongoDB unavailable: retry the same batch until it takes it
    REFUSED = "refused"  # MongoDB said no: a few more tries, then isolate the record
    POISON = "poison"  # the record cannot be written at all: isolate it now


# MongoDB's codes for "not now": shutting down, stepping down, not primary, a network or
# time limit, a write conflict (its own list of retryable writes, and then some).
TRANSIENT_CODES = frozenset(
    {
        6,  # HostUnreachable
        7,  # HostNotFound
        50,  # MaxTimeMSExpired
        89,  # NetworkTimeout
        91,  # ShutdownInProgress
        112,  # WriteConflict
        189,  # PrimarySteppedDown
        262,  # ExceededTimeLimit
        9001,  # SocketException
        10107,  # NotWritablePrimary
        11600,  # InterruptedAtShutdown
        11602,  # InterruptedDueToReplStateChange
        13435,  # NotPrimaryNoSecondaryOk
        13436,  # NotPrimaryOrSecondary
    }
)
TRANSIENT_LABELS = ("RetryableWriteError", "TransientTransactionError")


def _codes(exc: OperationFailure) -> set[int]:
    if isinstance(exc, BulkWriteError):
        details = exc.details or {}
        codes = {e.get("code") for e in details.get("writeErrors", [])}
        codes |= {e.get("code") for e in details.get("writeConcernErrors", [])}
        return {c for c in codes if isinstance(c, int)}
    return {exc.code} if isinstance(exc.code, int) else set()


def classify(exc: BaseException) -> WriteFailure:
    """What to do about ``exc``, raised while writing a batch."""
    if isinstance(exc, (ConnectionFailure, ExecutionTimeout, WaitQueueTimeoutError)):
        return WriteFailure.WAIT
    if isinstance(exc, WTimeoutError):
        return WriteFailure.WAIT
    if isinstance(exc, PyMongoError):
        if any(exc.has_error_label(label) for label in TRANSIENT_LABELS):
            return WriteFailure.WAIT
        if isinstance(exc, BulkWriteError) and (exc.details or {}).get("writeConcernErrors"):
            return WriteFailure.WAIT
        if isinstance(exc, OperationFailure) and _codes(exc) & TRANSIENT_CODES:
            return WriteFailure.WAIT
        if isinstance(exc, OperationFailure):
            return WriteFailure.REFUSED
        # bson's InvalidDocument is not a PyMongoError; pymongo's own InvalidOperation,
        # ConfigurationError, … are about what we asked, not about the server.
        return WriteFailure.POISON
    return WriteFailure.POISON


def reason(exc: BaseException) -> str:
    """The dead letter's reason: what failed, as MongoDB or the encoder said it."""
    text = str(exc) or repr(exc)
    return f"the projector cannot write it to MongoDB: {type(exc).__name__}: {text}"
