"""The published JSON Schemas accept what the codec writes, and are current."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from devtools.schemas import OUT, render
from shared.codec import encode
from shared.events import EVENT_TYPES
from tests.unit.test_codec import sample


@pytest.mark.parametrize(
    "event_type",
    sorted(
        n
        for n in EVENT_TYPES
        if n
        in {
            "JobRequested",
            "CancelRequested",
            "StockChanged",
            "PriceChanged",
            "OrderShipped",
            "JobSubmitted",
            "JobDone",
            "ListingState",
            "InventoryRow",
            "OrderImported",
            "AccountRegistered",
            "DeadLettered",
        }
    ),
)
def test_encoded_event_validates_against_its_published_schema(event_type: str) -> None:
    schema = json.loads((OUT / f"{event_type}.json").read_text())
    errors = list(Draft202012Validator(schema).iter_errors(json.loads(encode(sample(event_type)))))
    assert errors == []


def test_a_broken_event_is_rejected_by_its_schema() -> None:
    schema = json.loads((OUT / "StockChanged.json").read_text())
    wire = json.loads(encode(sample("StockChanged")))
    wire["quantity"] = -3
    assert not Draft202012Validator(schema).is_valid(wire)


def test_checked_in_schemas_are_current() -> None:
    for name, text in render().items():
        assert (OUT / name).read_text() == text, f"{name} is stale: run `make schemas`"
