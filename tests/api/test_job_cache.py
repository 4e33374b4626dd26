"""What the projector remembers of its own writes (services/api/job_cache.py)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from services.api.job_cache import ForgetOnRebalance, HourOffsets, JobCache


def test_hour_offsets_know_only_what_was_put_and_keep_the_most_recently_used() -> None:
    hours = HourOffsets(size=2)
    hours.put({"a": 10, "b": 20})
    assert hours.known(["a", "c"]) == {"a": 10}  # "a" used: "b" is now the oldest
    hours.put({"c": 30})
    assert hours.known(["a", "b", "c"]) == {"a": 10, "c": 30}
    hours.forget(["a"])
    assert hours.known(["a", "c"]) == {"c": 30}


async def test_a_change_of_assignment_forgets_the_jobs_and_the_hour_offsets() -> None:
    """And counts as a new generation: a batch folded under the last one is not written."""
    jobs, hours = JobCache(10), HourOffsets(10)
    listener = ForgetOnRebalance(jobs, hours)
    generations = [listener.generation]
    for change in (listener.on_partitions_revoked, listener.on_partitions_assigned):
        jobs.put({"j": {"_id": "j", "seq": 1}})
        hours.put({"h": 5})
        await change([])
        assert jobs.get("j") is None and hours.known(["h"]) == {}
        generations.append(listener.generation)
    assert len(set(generations)) == 3


def test_the_job_cache_drops_the_least_recently_used_and_reports_its_size() -> None:
    jobs = JobCache(size=2)
    jobs.put({"a": {"_id": "a"}, "b": {"_id": "b"}})
    assert jobs.get("a") == {"_id": "a"}  # "a" used: "b" is now the oldest
    jobs.put({"c": {"_id": "c"}})
    assert jobs.get("b") is None and jobs.known(["a", "c"]).keys() == {"a", "c"}
    assert REGISTRY.get_sample_value("projector_cached_jobs") == 2
    jobs.forget(["a"])
    assert REGISTRY.get_sample_value("projector_cached_jobs") == 1
