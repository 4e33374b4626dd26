"""The test factories build what the services accept."""

from __future__ import annotations

import pytest

from devtools.stack import SECRET_KEY
from shared.crypto import open_credentials
from shared.events import JobCreated, JobProcessing, JobSubmitted
from shared.job_items import parse_request_payload
from shared.jobs import JobStatus, JobType
from tests.factories import account_registered, job_events, job_requested, reserved


@pytest.mark.parametrize("job_type", list(JobType))
def test_a_request_of_every_type_passes_intake_checks(job_type: JobType) -> None:
    request = job_requested(job_type, 3 if job_type.carries_items else None)
    items, params = parse_request_payload(job_type, request.items, request.params)
    assert len(items) == (3 if job_type.carries_items else 0)
    assert (params is None) == job_type.carries_items


def test_a_chain_takes_the_next_seq_and_status_and_ids_are_unique() -> None:
    events, state = job_events(reserved(), JobCreated, JobProcessing, JobSubmitted)
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert state.status is JobStatus.WAITING_FOR_RESULT
    assert reserved().job_id != reserved().job_id


def test_an_account_carries_credentials_the_stack_key_opens() -> None:
    account = account_registered("acc-fac", name="Renamed", seller_id="AFAC")
    assert (account.name, account.seller_id) == ("Renamed", "AFAC")
    creds = open_credentials(SECRET_KEY, account.credentials, account_id="acc-fac")
    assert creds.refresh_token.startswith("Atzr|") and creds.seller_id == "AFAC"
    with pytest.raises(ValueError):
        account_registered("not-an-acc-id")
