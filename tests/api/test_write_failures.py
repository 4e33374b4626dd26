"""What a failed projector write means: wait for MongoDB, or set the record aside."""

from __future__ import annotations

import bson
import pytest
from bson.errors import InvalidDocument
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    DocumentTooLarge,
    ExecutionTimeout,
    NotPrimaryError,
    OperationFailure,
    ServerSelectionTimeoutError,
    WriteError,
)

from services.api.write_failures import WriteFailure, classify, reason


def _encoding_error(doc: dict[str, object]) -> Exception:
    try:
        bson.encode(doc)
    except Exception as exc:
        return exc
    raise AssertionError("encoded")


@pytest.mark.parametrize(
    "exc",
    [
        ServerSelectionTimeoutError("no servers"),
        AutoReconnect("connection reset"),
        NotPrimaryError("not primary"),
        ExecutionTimeout("time limit", 50),
        OperationFailure("stepped down", 189),
        BulkWriteError({"writeErrors": [{"index": 0, "code": 112}], "writeConcernErrors": []}),
        BulkWriteError({"writeErrors": [], "writeConcernErrors": [{"code": 64}]}),
    ],
    ids=type,
)
def test_mongodb_unavailable_is_waited_for(exc: Exception) -> None:
    assert classify(exc) is WriteFailure.WAIT


@pytest.mark.parametrize(
    "exc",
    [
        OperationFailure("unknown operator: $foo", 2),
        WriteError("document is too deep", 15),
        BulkWriteError({"writeErrors": [{"index": 3, "code": 2}], "writeConcernErrors": []}),
    ],
    ids=type,
)
def test_mongodb_refusing_a_write_is_refused(exc: Exception) -> None:
    assert classify(exc) is WriteFailure.REFUSED


def test_values_bson_cannot_hold_are_poison() -> None:
    overflow = _encoding_error({"quantity": 2**70})
    nul = _encoding_error({"a\x00b": 1})
    assert isinstance(overflow, OverflowError) and isinstance(nul, InvalidDocument)
    for exc in (overflow, nul, DocumentTooLarge("too large"), KeyError("status")):
        assert classify(exc) is WriteFailure.POISON, exc
    assert "OverflowError" in reason(overflow) and "8-byte ints" in reason(overflow)
