"""One quota key's decisions on a fake clock: idempotent requests, releases, feedback,
forgetting, and a restore from records that decides exactly as the original would."""

from __future__ import annotations

import pytest

from services.throttle.keystate import KeyChanges, KeyState, RequestRejected
from services.throttle.quota_specs import KeyConfig
from services.throttle.records import KeyRecord, RequestRecord, RequestState
from shared.jobs import JobType
from shared.quotas import QuotaClass, QuotaSpec
from shared.throttle.messages import QuotaKey, TokenRequested

KEY = QuotaKey(seller_id="acc-de", region="EU", quota_class=QuotaClass.FEED_SUBMIT)
FEEDS = KeyConfig(QuotaSpec(burst=2, rate_per_s=1 / 120), time_scale=1.0)


def req(
    rid: str,
    shop: str = "s1",
    job_type: JobType = JobType.UPDATE_QTY,
    reply_to: str = "r1",
    cost: int = 1,
    priority: int | None = None,
) -> TokenRequested:
    return TokenRequested(
        request_id=rid,
        quota_key=KEY,
        shop_id=shop,
        job_id=f"job-{rid}",
        job_type=job_type,
        reply_to=reply_to,
        cost=cost,
        priority=priority,
    )


class Harness:
    """A key plus the durable records its outcomes would have written."""

    def __init__(self, config: KeyConfig = FEEDS) -> None:
        self.config = config
        self.state = KeyState.new(KEY, 3, config, now=0.0)
        self.store: dict[str, RequestRecord] = {}
        self.offset = 0

    def apply(self, out: KeyChanges) -> KeyChanges:
        for r in out.upserts:
            self.store[r.request_id] = r
        for r in out.forgotten:
            del self.store[r.request_id]
        return out

    def ask(self, msg: TokenRequested, now: float) -> KeyChanges:
        self.offset += 1
        out = self.state.request(msg, seq=self.offset, arrived_at=now)
        return self.apply(out.merge(self.state.grant_due(now)))

    def tick(self, now: float) -> KeyChanges:
        return self.apply(self.state.grant_due(now))

    def restored(self, now: float) -> KeyState:
        record = KeyRecord.model_validate(self.state.record().model_dump(mode="json"))
        records = [
            RequestRecord.model_validate(r.model_dump(mode="json")) for r in self.store.values()
        ]
        state, repaired = KeyState.restore(KEY, record, records, self.config, now)
        assert repaired.empty
        return state


def granted_ids(out: KeyChanges) -> list[str]:
    return [g.request_id for g in out.grants]


def test_grants_while_tokens_last_then_at_each_refill() -> None:
    h = Harness()
    assert granted_ids(h.ask(req("a"), 0.0)) == ["a"]
    assert granted_ids(h.ask(req("b"), 1.0)) == ["b"]
    assert granted_ids(h.ask(req("c"), 2.0)) == []
    assert h.state.next_grant_at(2.0) == pytest.approx(120.0)
    assert granted_ids(h.tick(119.0)) == []
    out = h.tick(120.0)
    assert granted_ids(out) == ["c"]
    assert out.grants[0].grant_seq == 3 and out.grants[0].granted_at == 120.0
    assert h.state.next_grant_at(120.0) is None


def test_a_repeated_request_for_a_granted_id_gets_the_same_grant_and_no_token() -> None:
    h = Harness()
    first = h.ask(req("a"), 0.0).grants[0]
    again = h.ask(req("a", reply_to="r2"), 5.0)
    assert again.repeats == 1
    assert again.grants[0].grant_seq == first.grant_seq
    assert again.grants[0].reply_to == "r2"  # to wherever the requester listens now
    assert h.state.limiter.bucket.available(5.0) == pytest.approx(1.0 + 5 / 120)


def test_a_repeated_request_for_a_queued_id_keeps_its_place() -> None:
    h = Harness()
    h.ask(req("a"), 0.0)
    h.ask(req("b"), 0.0)
    h.ask(req("c"), 1.0)
    h.ask(req("d"), 2.0)
    out = h.ask(req("c", reply_to="r9"), 3.0)
    assert out.grants == [] and out.upserts[0].reply_to == "r9"
    assert [g.request_id for g in h.tick(120.0).grants] == ["c"]


def test_cancel_takes_a_request_out_and_asking_again_restores_its_place() -> None:
    h = Harness()
    h.ask(req("a"), 0.0)
    h.ask(req("b"), 0.0)
    h.ask(req("c"), 1.0)
    h.ask(req("d"), 2.0)
    h.apply(h.state.cancel("c", 10.0))
    assert h.store["c"].state is RequestState.CANCELLED
    assert granted_ids(h.tick(120.0)) == ["d"]
    # c's requester timed out and asks again: it is not sent to the back
    h.ask(req("e"), 121.0)
    h.ask(req("c"), 122.0)
    assert granted_ids(h.tick(240.0)) == ["c"]
    assert h.state.cancel("nope", 1.0).empty
    assert h.state.cancel("a", 1.0).empty  # granted: a cancel does not give tokens back


def test_release_gives_the_token_back_once_and_ignores_stale_grants() -> None:
    h = Harness()
    a = h.ask(req("a"), 0.0).grants[0]
    h.ask(req("b"), 0.0)
    assert h.state.limiter.bucket.available(0.0) == 0.0
    assert a.grant_seq is not None
    assert h.state.release("a", a.grant_seq + 7, 1.0).empty  # not this grant
    out = h.apply(h.state.release("a", a.grant_seq, 1.0))
    assert out.key_changed and h.store["a"].state is RequestState.RELEASED
    assert h.state.release("a", None, 1.0).empty  # a repeat changes nothing
    assert h.state.limiter.bucket.available(1.0) == pytest.approx(1.0 + 1 / 120)
    # released then asked again: a new grant with a new number
    again = h.ask(req("a"), 2.0).grants[0]
    assert again.grant_seq == 3


def test_throttled_drains_and_holds_one_restore_interval() -> None:
    h = Harness()
    out = h.state.throttled(10.0)
    assert out.drained and out.key_changed
    h.ask(req("a"), 11.0)
    assert h.state.next_grant_at(11.0) == pytest.approx(130.0)
    h.apply(h.state.release("nothing", None, 12.0))
    assert granted_ids(h.tick(129.0)) == []
    assert granted_ids(h.tick(130.0)) == ["a"]


def test_an_observed_rate_is_adopted() -> None:
    h = Harness(KeyConfig(QuotaSpec(burst=1, rate_per_s=1 / 120), time_scale=10.0))
    h.ask(req("a"), 0.0)
    h.ask(req("b"), 0.0)
    assert h.state.next_grant_at(0.0) == pytest.approx(12.0)  # 120 s of Amazon time / 10
    assert h.state.observed_rate(0.5, 0.0).key_changed
    assert h.state.observed_rate(0.5, 0.0).empty
    assert h.state.next_grant_at(0.0) == pytest.approx(0.2)
    assert h.state.view(0.0).rate_per_s == pytest.approx(0.5)


def test_a_request_that_can_never_be_granted_is_rejected() -> None:
    h = Harness()
    with pytest.raises(RequestRejected):
        h.ask(req("big", cost=3), 0.0)


def test_finished_requests_are_forgotten_after_a_while_or_beyond_a_count() -> None:
    h = Harness(KeyConfig(QuotaSpec(burst=100, rate_per_s=1.0)))
    for i in range(10):
        h.ask(req(f"r{i}"), float(i))
    h.state.throttled(10.0)
    h.ask(req("queued"), 10.0)
    out = h.apply(h.state.forget(now=13.5, keep_s=10.0, keep_max=100))
    assert [r.request_id for r in out.forgotten] == ["r0", "r1", "r2", "r3"]
    out = h.apply(h.state.forget(now=13.5, keep_s=10.0, keep_max=2))
    assert [r.request_id for r in out.forgotten] == ["r4", "r5", "r6", "r7"]
    assert set(h.store) == {"r8", "r9", "queued"}  # a queued request is never forgotten


def test_priority_override_and_view() -> None:
    h = Harness()
    h.ask(req("a"), 0.0)
    h.ask(req("b"), 0.0)
    h.ask(req("low", priority=1), 1.0)
    h.ask(req("high", job_type=JobType.SEND_PRODUCTS, priority=10_000), 2.0)
    view = h.state.view(2.0)
    assert view.queue_depth == 2 and view.burst == 2 and view.hourly_cap is None
    assert view.next_grant_at == pytest.approx(120.0)
    assert granted_ids(h.tick(120.0)) == ["high"]


def test_a_restored_key_decides_exactly_as_the_original() -> None:
    config = KeyConfig(QuotaSpec(burst=3, rate_per_s=0.5, hourly_cap=10), time_scale=2.0)
    h = Harness(config)
    for i in range(12):
        h.ask(req(f"r{i}", shop=f"s{i % 3}", job_type=list(JobType)[i % 9]), i * 0.1)
    h.tick(2.0)
    h.apply(h.state.cancel("r11", 2.0))
    h.state.throttled(2.5)
    copy = h.restored(now=3.0)
    for now in [x * 0.25 for x in range(12, 40)]:
        a, b = h.tick(now), copy.grant_due(now)
        assert [(g.request_id, g.grant_seq) for g in a.grants] == [
            (g.request_id, g.grant_seq) for g in b.grants
        ]
    assert copy.record() == h.state.record()
    assert h.state.view(10.0).used_last_hour == 10  # the cap, not the bucket, stopped it


def test_a_grant_recorded_without_its_key_record_is_queued_again_on_restore() -> None:
    """A crash between the request record and the key record of one grant (the shell
    writes them in that order in one partition, so only this half can survive)."""
    h = Harness()
    h.ask(req("a"), 0.0)
    key_before = h.state.record()  # durable: a was granted and published
    h.ask(req("b"), 1.0)  # granted, its request record written, then the crash
    assert h.store["b"].state is RequestState.GRANTED and h.store["b"].grant_seq == 2
    records = list(h.store.values())
    state, repaired = KeyState.restore(KEY, key_before, records, FEEDS, now=2.0)
    assert [(r.request_id, r.state) for r in repaired.upserts] == [("b", RequestState.QUEUED)]
    assert state.requests["a"].state is RequestState.GRANTED
    # b gets the token the key record still has, under the number it never published
    out = state.grant_due(2.0)
    assert [(g.request_id, g.grant_seq) for g in out.grants] == [("b", 2)]
    assert state.grant_due(3.0).grants == []


def test_requests_without_a_key_record_restore_onto_a_fresh_bucket() -> None:
    h = Harness()
    h.state.throttled(0.0)
    h.ask(req("a"), 0.0)
    state, repaired = KeyState.restore(KEY, None, list(h.store.values()), FEEDS, now=1.0)
    assert repaired.empty and state.partition == 3 and len(state.queue) == 1


def test_the_latency_margin_is_at_most_one_restore_interval() -> None:
    slow = KeyConfig(QuotaSpec(burst=1, rate_per_s=1 / 120), latency_margin_s=2.0)
    assert slow.refill_delay_s(1 / 120) == 2.0
    fast = KeyConfig(QuotaSpec(burst=1, rate_per_s=5.0), time_scale=2.0, latency_margin_s=2.0)
    assert fast.refill_delay_s(5.0) == pytest.approx(0.1)
    state = KeyState.new(KEY, 0, slow, now=0.0)
    assert state.limiter.bucket.refill_delay_s == 2.0
