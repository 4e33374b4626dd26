"""docs/asyncapi.yaml is what the models generate, and a coherent AsyncAPI 3.0 document:
every topic a channel, every event a message, every reference resolvable."""

from __future__ import annotations

from typing import Any

import jsonschema  # type: ignore[import-untyped, unused-ignore]  # types-jsonschema: not in dev extras
import pytest

from devtools import asyncapi
from shared.registry import all_event_types
from shared.topics import ALL_TOPICS
from tests.deploy.code_facts import load_yaml

DOC: dict[str, Any] = load_yaml(asyncapi.OUT)

# The parts of the AsyncAPI 3.0 schema this document relies on (the full schema is
# checked by hand with the AsyncAPI project's own; it is too large to keep here).
REF = {"type": "object", "required": ["$ref"], "properties": {"$ref": {"type": "string"}}}
SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["asyncapi", "info", "channels", "operations", "components"],
    "properties": {
        "asyncapi": {"const": "3.0.0"},
        "info": {"type": "object", "required": ["title", "version"]},
        "channels": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["address", "messages", "bindings"],
                "properties": {
                    "messages": {"type": "object", "additionalProperties": REF},
                    "bindings": {
                        "type": "object",
                        "properties": {
                            "kafka": {
                                "type": "object",
                                "required": ["topic", "partitions", "bindingVersion"],
                            }
                        },
                    },
                },
            },
        },
        "operations": {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z0-9_\\-]+$"},
            "additionalProperties": {
                "type": "object",
                "required": ["action", "channel"],
                "properties": {
                    "action": {"enum": ["send", "receive"]},
                    "channel": REF,
                    "messages": {"type": "array", "items": REF},
                },
            },
        },
        "components": {
            "type": "object",
            "required": ["messages", "schemas"],
            "properties": {
                "messages": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["name", "payload", "contentType"],
                    },
                }
            },
        },
    },
}


def resolve(ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = DOC
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_the_document_is_current() -> None:
    assert asyncapi.main(["check"]) == 0, "run `python -m devtools.asyncapi write`"


def test_it_has_the_asyncapi_shape() -> None:
    jsonschema.validate(DOC, SHAPE)


def test_every_reference_resolves() -> None:
    all_refs = refs(DOC)
    assert len(all_refs) > 100
    for ref in all_refs:
        resolve(ref)


def test_every_topic_is_a_channel_with_its_layout() -> None:
    channels = {c["address"]: c for c in DOC["channels"].values()}
    assert set(channels) == {t.name for t in ALL_TOPICS}
    for topic in ALL_TOPICS:
        channel = channels[topic.name]
        kafka = channel["bindings"]["kafka"]
        assert kafka["partitions"] == channel["x-partitions"] == topic.partitions
        assert channel["x-compacted"] is topic.compacted
        policy = kafka["topicConfiguration"]["cleanup.policy"]
        assert policy == ["compact" if topic.compacted else "delete"]
        assert channel["x-key"] == topic.key
        assert set(channel["messages"]) == set(asyncapi.messages_of(topic))


def test_every_event_is_a_message_on_some_channel_with_its_schema() -> None:
    events = all_event_types()
    assert set(DOC["components"]["messages"]) == set(events)
    on_channels = {m for c in DOC["channels"].values() for m in c["messages"]}
    assert on_channels == set(events), "an event type that travels on no topic"
    for name, cls in events.items():
        payload = resolve(DOC["components"]["messages"][name]["payload"]["$ref"])
        assert payload["properties"]["event_type"]["const"] == name
        assert set(payload["properties"]) == set(cls.model_fields)


def test_operations_use_messages_of_their_channel() -> None:
    for op_id, op in DOC["operations"].items():
        channel = resolve(op["channel"]["$ref"])
        prefix = op["channel"]["$ref"] + "/messages/"
        for message in op["messages"]:
            assert message["$ref"].startswith(prefix), op_id
        assert len(op["messages"]) == len(channel["messages"]), op_id


@pytest.mark.parametrize("role", asyncapi.ROLES, ids=lambda r: r.name)
def test_consumer_groups_are_the_services_settings(role: asyncapi.Role) -> None:
    for op_id, op in DOC["operations"].items():
        group = op.get("bindings", {}).get("kafka", {}).get("groupId")
        if op["x-service"] == role.name and group is not None:
            assert role.settings is not None
            assert group["enum"] == [asyncapi.consumer_group(role.settings)], op_id
