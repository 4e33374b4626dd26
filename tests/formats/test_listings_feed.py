from __future__ import annotations

import json
from decimal import Decimal

import pytest

from shared.formats.listings_feed import (
    CONTENT_TYPE,
    build_delete_feeds,
    build_listings_feeds,
    listing_message,
)
from shared.job_items import PriceItem, QtyItem, QtyPriceItem, SendProductItem, SkuItem
from shared.jobs import JobType

SELLER = "A1SELLERTEST"
DE = "A1PA6795UKMFR9"

QTY_PATCH = {
    "op": "replace",
    "path": "/attributes/fulfillment_availability",
    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}],
}


def price_patch(value: float | int, currency: str = "EUR") -> dict[str, object]:
    return {
        "op": "replace",
        "path": "/attributes/purchasable_offer",
        "value": [
            {
                "marketplace_id": DE,
                "currency": currency,
                "audience": "ALL",
                "our_price": [{"schedule": [{"value_with_tax": value}]}],
            }
        ],
    }


def only(job_type: JobType, item: object) -> dict[str, object]:
    [document] = build_listings_feeds(SELLER, DE, job_type, [item])  # type: ignore[list-item]
    assert json.loads(document.body) == document.document
    [message] = document.document["messages"]
    return message  # type: ignore[no-any-return]


def test_header_and_message_ids() -> None:
    items = [QtyItem(sku=f"SKU-{n}", quantity=n) for n in range(3)]
    [document] = build_listings_feeds(SELLER, DE, JobType.UPDATE_QTY, items)

    assert document.document["header"] == {
        "sellerId": SELLER,
        "version": "2.0",
        "issueLocale": "en_US",
    }
    assert [m["messageId"] for m in document.document["messages"]] == [1, 2, 3]
    assert document.message_skus == {1: "SKU-0", 2: "SKU-1", 3: "SKU-2"}
    assert CONTENT_TYPE.startswith("application/json")


def test_update_qty_is_a_fulfillment_availability_patch() -> None:
    assert only(JobType.UPDATE_QTY, QtyItem(sku="TSHIRT-RED-M", quantity=7)) == {
        "messageId": 1,
        "sku": "TSHIRT-RED-M",
        "operationType": "PATCH",
        "productType": "PRODUCT",
        "patches": [QTY_PATCH],
    }


def test_update_price_is_a_purchasable_offer_patch() -> None:
    message = only(JobType.UPDATE_PRICE, PriceItem(sku="S", price=Decimal("19.99"), currency="EUR"))
    assert message["patches"] == [price_patch(19.99)]
    whole = only(JobType.UPDATE_PRICE, PriceItem(sku="S", price=Decimal("20.00"), currency="GBP"))
    assert whole["patches"] == [price_patch(20, "GBP")]


def test_update_qty_price_carries_both_patches_in_one_message() -> None:
    message = only(
        JobType.UPDATE_QTY_PRICE,
        QtyPriceItem(sku="S", quantity=7, price=Decimal("5.50"), currency="EUR"),
    )
    assert message["operationType"] == "PATCH"
    assert message["patches"] == [QTY_PATCH, price_patch(5.5)]


@pytest.mark.parametrize("job_type", [JobType.STOP_PRODUCTS, JobType.STOP_REMOVE_PRODUCTS])
def test_stop_sets_quantity_zero(job_type: JobType) -> None:
    message = only(job_type, SkuItem(sku="OLD-1"))
    assert message["patches"] == [
        {
            "op": "replace",
            "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
        }
    ]


def test_send_products_lists_an_offer_on_an_existing_asin() -> None:
    item = SendProductItem(
        sku="PEN-Y",
        ean="4006381333931",
        asin="B000TEST01",
        quantity=12,
        price=Decimal("2.49"),
        currency="EUR",
        condition="new",
    )
    assert only(JobType.SEND_PRODUCTS, item) == {
        "messageId": 1,
        "sku": "PEN-Y",
        "operationType": "UPDATE",
        "productType": "PRODUCT",
        "requirements": "LISTING_OFFER_ONLY",
        "attributes": {
            "merchant_suggested_asin": [{"value": "B000TEST01", "marketplace_id": DE}],
            "condition_type": [{"value": "new_new", "marketplace_id": DE}],
            "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 12}],
            "purchasable_offer": [
                {
                    "marketplace_id": DE,
                    "currency": "EUR",
                    "audience": "ALL",
                    "our_price": [{"schedule": [{"value_with_tax": 2.49}]}],
                }
            ],
        },
    }


def test_send_products_keeps_amazon_conditions_and_product_types() -> None:
    item = SendProductItem(
        sku="S",
        asin="B000TEST01",
        quantity=1,
        price=Decimal("1"),
        currency="EUR",
        condition="used_like_new",
        product_type="WRITING_INSTRUMENT",
    )
    message = only(JobType.SEND_PRODUCTS, item)
    assert message["productType"] == "WRITING_INSTRUMENT"
    attributes = message["attributes"]
    assert isinstance(attributes, dict)
    assert attributes["condition_type"][0]["value"] == "used_like_new"


def test_send_products_needs_the_asin_looked_up() -> None:
    item = SendProductItem(
        sku="S", ean="4006381333931", quantity=1, price=Decimal("1"), currency="EUR"
    )
    with pytest.raises(ValueError, match="no ASIN"):
        build_listings_feeds(SELLER, DE, JobType.SEND_PRODUCTS, [item])


def test_delete_messages() -> None:
    [document] = build_delete_feeds(SELLER, ["A", "B", "A"])
    assert document.document["messages"] == [
        {"messageId": 1, "sku": "A", "operationType": "DELETE"},
        {"messageId": 2, "sku": "B", "operationType": "DELETE"},
    ]


def test_item_type_must_fit_the_job_type() -> None:
    with pytest.raises(TypeError):
        listing_message(JobType.UPDATE_QTY, SkuItem(sku="S"), DE, 1)
    with pytest.raises(ValueError):
        listing_message(JobType.ORDERS_IMPORT, SkuItem(sku="S"), DE, 1)


def test_a_repeated_sku_keeps_its_last_value() -> None:
    items = [
        QtyItem(sku="A", quantity=1),
        QtyItem(sku="B", quantity=2),
        QtyItem(sku="A", quantity=3),
    ]
    [document] = build_listings_feeds(SELLER, DE, JobType.UPDATE_QTY, items)
    assert document.message_skus == {1: "B", 2: "A"}
    last = document.document["messages"][1]
    assert last["patches"][0]["value"][0]["quantity"] == 3


def test_no_items_no_documents() -> None:
    assert build_listings_feeds(SELLER, DE, JobType.UPDATE_QTY, []) == []


def test_split_by_message_count() -> None:
    items = [QtyItem(sku=f"SKU-{n:05}", quantity=1) for n in range(25_001)]
    documents = build_listings_feeds(SELLER, DE, JobType.UPDATE_QTY, items)
    assert [d.message_count for d in documents] == [25_000, 1]
    assert documents[1].message_skus == {1: "SKU-25000"}
    all_skus = [sku for d in documents for sku in d.message_skus.values()]
    assert all_skus == [i.sku for i in items]


def test_split_by_size_with_exact_byte_counts() -> None:
    items = [QtyItem(sku=f"SKÜ-{n:04}-" + "x" * 30, quantity=n) for n in range(200)]
    limit = 4_000
    documents = build_listings_feeds(SELLER, DE, JobType.UPDATE_QTY, items, max_bytes=limit)
    assert len(documents) > 1
    for document in documents:
        assert len(document.body) <= limit
        assert json.loads(document.body.decode("utf-8")) == document.document
        ids = [m["messageId"] for m in document.document["messages"]]
        assert ids == list(range(1, len(ids) + 1))
    assert sum(d.message_count for d in documents) == 200


def test_the_default_size_limit_is_about_ten_mebibytes() -> None:
    long_name = "y" * 40
    items = [QtyItem(sku=f"{n:08}" + long_name[:30], quantity=n) for n in range(25_000)]
    documents = build_listings_feeds(SELLER, DE, JobType.UPDATE_QTY, items)
    assert all(len(d.body) <= 10 * 1024 * 1024 for d in documents)
