"""Publish the JSON Schema of every event, generated from the pydantic models in shared/.

``python -m devtools.schemas write`` rewrites ``schemas/events/``; ``check`` fails when the
checked-in files differ from what the models generate (CI runs it).
"""

from __future__ import annotations

import json
import sys

from devtools import REPO_ROOT
from devtools.checked_in import write_or_check
from shared.registry import all_event_types
from shared.topics import ALL_TOPICS

OUT = REPO_ROOT / "schemas" / "events"


def render() -> dict[str, str]:
    files: dict[str, str] = {}
    for name, cls in all_event_types().items():
        schema = cls.model_json_schema(mode="serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://amazon-jobs.local/schemas/events/{name}.json"
        schema["x-schema-version"] = cls.SCHEMA_VERSION
        schema["x-topics"] = [t.name for t in ALL_TOPICS if name in t.event_types]
        files[f"{name}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def main(argv: list[str]) -> int:
    files = {OUT / name: text for name, text in render().items()}
    return write_or_check(
        argv,
        files,
        what=f"{len(files)} event schemas in {OUT.relative_to(REPO_ROOT)}",
        module="devtools.schemas",
        owned=OUT.glob("*.json"),
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
