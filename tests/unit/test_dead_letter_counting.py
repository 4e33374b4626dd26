"""Every consumer that dead-letters counts it in ``dead_letters_total`` (the alert
DeadLettersRising and the dashboard rely on it, deploy/monitoring): a module that builds a
letter also sends it through ``send_dead_letter`` (which counts) or counts it itself."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILDS_A_LETTER = re.compile(r"(?<!class )\b(letter_for_record|dead_letter_for|DeadLettered)\(")
COUNTS = re.compile(r"\b(send_dead_letter|count_dead_letter)\(")
# Not consumers: the letter's own module, and the API's reading of stored letters.
EXEMPT = {"shared/kafka/dead_letters.py", "services/api/routes/operations.py"}


def modules_that_dead_letter() -> dict[str, bool]:
    found = {}
    for path in sorted([*REPO.glob("services/**/*.py"), *REPO.glob("shared/**/*.py")]):
        name = path.relative_to(REPO).as_posix()
        text = path.read_text()
        if name not in EXEMPT and BUILDS_A_LETTER.search(text):
            found[name] = bool(COUNTS.search(text))
    return found


def test_every_module_that_dead_letters_counts_its_letters() -> None:
    found = modules_that_dead_letter()
    # The consumers known today, so that a change in the search itself is noticed.
    assert {
        "services/api/projector.py",
        "services/throttle/engine.py",
        "shared/kafka/consumer.py",
        "shared/kafka/owned_jobs.py",
    } <= set(found)
    assert [name for name, counts in found.items() if not counts] == []
