"""Publish the JSON Schema of every event, generated from the pydantic models in shared/.

``python -m devtools.schemas write`` rewrites ``schemas/events/``; ``check`` fails when the
checked-in files differ from what the models generate (CI runs it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from shared.registry import all_event_types
from shared.topics import ALL_TOPICS

OUT = Path(__file__).resolve().parents[1] / "schemas" / "events"


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
    command = argv[0] if argv else "check"
    files = render()
    if command == "write":
        OUT.mkdir(parents=True, exist_ok=True)
        for old in OUT.glob("*.json"):
            if old.name not in files:
                old.unlink()
        for name, text in files.items():
            (OUT / name).write_text(text)
        print(f"wrote {len(files)} schemas to {OUT}")
        return 0
    stale = [n for n, t in files.items() if not (OUT / n).exists() or (OUT / n).read_text() != t]
    extra = [p.name for p in OUT.glob("*.json") if p.name not in files]
    if stale or extra:
        print(f"event schemas are out of date ({', '.join(stale + extra)}): run `make schemas`")
        return 1
    print(f"{len(files)} event schemas are current")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
