"""The demo of `make up` signs in with the operator's keys, or says why it cannot."""

from devtools.demo import DEMO_API_KEYS, DEMO_SHOP, DemoKeys, demo_keys


def test_the_demos_own_keys_may_be_printed() -> None:
    keys = demo_keys(DEMO_API_KEYS)
    assert isinstance(keys, DemoKeys)
    assert keys.printable
    assert (keys.admin, keys.shop) == ("demo-admin-key", "demo-shop-key")


def test_an_operators_admin_key_runs_the_demo_without_printing_it() -> None:
    keys = demo_keys("shop7:k7,*:op-admin,*:second-admin")
    assert keys == DemoKeys("op-admin", "op-admin", printable=False)


def test_an_operators_key_for_the_demo_shop_creates_its_jobs() -> None:
    keys = demo_keys(f"*:op-admin,{DEMO_SHOP}:op-shop")
    assert keys == DemoKeys("op-admin", "op-shop", printable=False)


def test_without_an_admin_key_the_reason_is_plain() -> None:
    reason = demo_keys("shop7:k7")
    assert isinstance(reason, str)
    assert "no admin key" in reason and "AMAZON_JOBS_DEMO=0" in reason
    assert "k7" not in reason


def test_a_malformed_spec_is_a_reason_not_a_crash() -> None:
    reason = demo_keys("no-colon-here")
    assert isinstance(reason, str) and "not valid" in reason
