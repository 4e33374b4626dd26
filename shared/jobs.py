"""Job types and statuses of the contract (docs/design.md §2), declared once."""

from __future__ import annotations

from enum import StrEnum


class JobType(StrEnum):
    SEND_PRODUCTS = "send_products"  # link products by EAN/UPC, then list offer, qty, price
    UPDATE_QTY = "update_qty"  # PATCH fulfillment_availability
    UPDATE_PRICE = "update_price"  # PATCH purchasable_offer
    UPDATE_QTY_PRICE = "update_qty_price"  # both patches in one message
    STOP_PRODUCTS = "stop_products"  # qty 0, then excluded from sync
    STOP_REMOVE_PRODUCTS = "stop_remove_products"  # qty 0, then removed from the selling list
    ORDERS_FULFILLMENT = "orders_fulfillment"  # shipment confirmation: buyers are charged
    INVENTORY_REPORT = "inventory_report"  # GET_MERCHANT_LISTINGS_ALL_DATA report import
    ORDERS_IMPORT = "orders_import"  # pages of orders since a timestamp

    @property
    def label(self) -> str:
        return JOB_TYPE_LABELS[self]

    @property
    def has_async_result(self) -> bool:
        """Whether Amazon answers later (feed/report) rather than in the call itself."""
        return self is not JobType.ORDERS_IMPORT

    @property
    def may_finish_in_call(self) -> bool:
        """Whether a job may end with its calls, no result to wait for: an orders import
        always; a small stock-to-zero job sent by ``patchListingsItem`` (docs/design.md §2)."""
        return self in (JobType.ORDERS_IMPORT, JobType.UPDATE_QTY, JobType.STOP_PRODUCTS)

    @property
    def carries_items(self) -> bool:
        return self not in (JobType.INVENTORY_REPORT, JobType.ORDERS_IMPORT)


JOB_TYPE_LABELS: dict[JobType, str] = {
    JobType.SEND_PRODUCTS: "Sending Products",
    JobType.UPDATE_QTY: "Update Products QTY",
    JobType.UPDATE_PRICE: "Update Products Price",
    JobType.UPDATE_QTY_PRICE: "Update Products QTY & Price",
    JobType.STOP_PRODUCTS: "Stop Products",
    JobType.STOP_REMOVE_PRODUCTS: "Stop & Remove Products",
    JobType.ORDERS_FULFILLMENT: "Orders Fulfillment",
    JobType.INVENTORY_REPORT: "Inventory Report",
    JobType.ORDERS_IMPORT: "Orders Import",
}


class JobStatus(StrEnum):
    RESERVED = "reserved"  # exists, still collecting details; nothing sent; cancelable
    CREATED = "created"  # complete, queued for a quota token; cancelable
    PROCESSING = "processing"  # token granted, request being built and sent; not cancelable
    WAITING_FOR_RESULT = "waiting_for_result"  # accepted by Amazon, polling for the result
    DONE = "done"  # result applied to every item (items may still be in error)
    ERROR = "error"  # the job as a whole failed; the log says why
    CANCELED = "canceled"  # canceled before processing; items restored

    @property
    def label(self) -> str:
        return JOB_STATUS_LABELS[self]

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def is_cancelable(self) -> bool:
        return self in (JobStatus.RESERVED, JobStatus.CREATED)


JOB_STATUS_LABELS: dict[JobStatus, str] = {
    JobStatus.RESERVED: "Reserved",
    JobStatus.CREATED: "Created",
    JobStatus.PROCESSING: "Processing",
    JobStatus.WAITING_FOR_RESULT: "Waiting for result",
    JobStatus.DONE: "Done",
    JobStatus.ERROR: "Error",
    JobStatus.CANCELED: "Canceled",
}

TERMINAL_STATUSES = frozenset({JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELED})
