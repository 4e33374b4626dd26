"""Orders API v0 (``getOrders``, ``getOrderItems``, ``confirmShipment``), field for field.

Amazon deprecated getOrders/getOrderItems in favour of Orders 2026-01-01 (removal planned
for 2027-03-27); both are modelled so the system can move over per account. v0 responses
wrap their result in ``payload`` and use PascalCase names; ``confirmShipment`` is camelCase.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from shared.spapi.models.base import CamelModel, ErrorDetail, PascalModel


class Money(PascalModel):
    currency_code: str | None = None
    amount: Decimal | None = None  # Amazon sends a decimal string: no float rounding


class Address(PascalModel):
    name: str | None = None
    company_name: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_line3: str | None = None
    city: str | None = None
    county: str | None = None
    district: str | None = None
    state_or_region: str | None = None
    municipality: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone: str | None = None
    extended_fields: dict[str, Any] | None = None
    address_type: str | None = None


class BuyerInfo(PascalModel):
    buyer_email: str | None = None
    buyer_name: str | None = None
    buyer_county: str | None = None
    buyer_tax_info: dict[str, Any] | None = None
    purchase_order_number: str | None = None


class Order(PascalModel):
    amazon_order_id: str
    seller_order_id: str | None = None
    purchase_date: datetime
    last_update_date: datetime
    order_status: str  # Pending, Unshipped, PartiallyShipped, Shipped, Canceled, …
    fulfillment_channel: str | None = None  # MFN or AFN
    sales_channel: str | None = None
    order_channel: str | None = None
    ship_service_level: str | None = None
    order_total: Money | None = None
    number_of_items_shipped: int | None = None
    number_of_items_unshipped: int | None = None
    payment_execution_detail: list[dict[str, Any]] | None = None
    payment_method: str | None = None
    payment_method_details: list[str] | None = None
    marketplace_id: str | None = None
    shipment_service_level_category: str | None = None
    easy_ship_shipment_status: str | None = None
    cba_displayable_shipping_label: str | None = None
    order_type: str | None = None
    earliest_ship_date: datetime | None = None
    latest_ship_date: datetime | None = None
    earliest_delivery_date: datetime | None = None
    latest_delivery_date: datetime | None = None
    is_business_order: bool | None = None
    is_prime: bool | None = None
    is_premium_order: bool | None = None
    is_global_express_enabled: bool | None = None
    replaced_order_id: str | None = None
    is_replacement_order: bool | None = None
    promise_response_due_date: datetime | None = None
    is_estimated_ship_date_set: bool | None = None
    is_sold_by_ab: bool | None = Field(default=None, alias="IsSoldByAB")
    is_iba: bool | None = Field(default=None, alias="IsIBA")
    default_ship_from_location_address: Address | None = None
    buyer_invoice_preference: str | None = None
    buyer_tax_information: dict[str, Any] | None = None
    fulfillment_instruction: dict[str, Any] | None = None
    is_ispu: bool | None = Field(default=None, alias="IsISPU")
    is_access_point_order: bool | None = None
    marketplace_tax_info: dict[str, Any] | None = None
    seller_display_name: str | None = None
    shipping_address: Address | None = None
    buyer_info: BuyerInfo | None = None
    automated_shipping_settings: dict[str, Any] | None = None
    has_regulated_items: bool | None = None
    electronic_invoice_status: str | None = None


class OrdersList(PascalModel):
    """The ``payload`` of ``getOrders``."""

    orders: list[Order]
    next_token: str | None = None
    last_updated_before: datetime | None = None
    created_before: datetime | None = None


class GetOrdersResponse(PascalModel):
    payload: OrdersList | None = Field(default=None, alias="payload")
    errors: list[ErrorDetail] | None = Field(default=None, alias="errors")


class OrderItem(PascalModel):
    asin: str = Field(alias="ASIN")
    seller_sku: str | None = Field(default=None, alias="SellerSKU")
    order_item_id: str
    associated_items: list[dict[str, Any]] | None = None
    title: str | None = None
    quantity_ordered: int
    quantity_shipped: int | None = None
    product_info: dict[str, Any] | None = None
    points_granted: dict[str, Any] | None = None
    item_price: Money | None = None
    shipping_price: Money | None = None
    item_tax: Money | None = None
    shipping_tax: Money | None = None
    shipping_discount: Money | None = None
    shipping_discount_tax: Money | None = None
    promotion_discount: Money | None = None
    promotion_discount_tax: Money | None = None
    promotion_ids: list[str] | None = None
    cod_fee: Money | None = Field(default=None, alias="CODFee")
    cod_fee_discount: Money | None = Field(default=None, alias="CODFeeDiscount")
    is_gift: str | None = None
    condition_note: str | None = None
    condition_id: str | None = None
    condition_subtype_id: str | None = None
    scheduled_delivery_start_date: str | None = None
    scheduled_delivery_end_date: str | None = None
    price_designation: str | None = None
    tax_collection: dict[str, Any] | None = None
    serial_number_required: bool | None = None
    is_transparency: bool | None = None
    ioss_number: str | None = None
    store_chain_store_id: str | None = None
    deemed_reseller_category: str | None = None
    buyer_info: dict[str, Any] | None = None
    buyer_requested_cancel: dict[str, Any] | None = None
    serial_numbers: list[str] | None = None
    substitution_preferences: dict[str, Any] | None = None
    measurement: dict[str, Any] | None = None
    shipping_constraints: dict[str, Any] | None = None
    amazon_programs: dict[str, Any] | None = None


class OrderItemsList(PascalModel):
    """The ``payload`` of ``getOrderItems``."""

    order_items: list[OrderItem]
    next_token: str | None = None
    amazon_order_id: str


class GetOrderItemsResponse(PascalModel):
    payload: OrderItemsList | None = Field(default=None, alias="payload")
    errors: list[ErrorDetail] | None = Field(default=None, alias="errors")


class ConfirmShipmentOrderItem(CamelModel):
    order_item_id: str
    quantity: int
    transparency_codes: list[str] | None = None


class PackageDetail(CamelModel):
    package_reference_id: str  # seller-chosen, positive numeric, unique within the order
    carrier_code: str
    carrier_name: str | None = None
    shipping_method: str | None = None
    tracking_number: str
    ship_date: datetime
    ship_from_supply_source_id: str | None = None
    order_items: list[ConfirmShipmentOrderItem]


class ConfirmShipmentRequest(CamelModel):
    package_detail: PackageDetail
    cod_collection_method: str | None = None
    marketplace_id: str
