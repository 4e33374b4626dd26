// The New job form's checks (services/api/static/create_rules.js) as pure functions:
// node --test tests/api/create_rules.test.js (tests/api/test_page.py runs it).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const R = require("../../services/api/static/create_rules.js");

test("CSV cells: quotes, doubled quotes, line breaks in quotes, CRLF, blank lines", () => {
  const rows = R.csvRows('sku,note\r\n"A,1","say ""hi"""\r\n\r\n"B\nC",x');
  assert.deepEqual(rows, [
    { line: 1, cells: ["sku", "note"] },
    { line: 2, cells: ["A,1", 'say "hi"'] },
    { line: 4, cells: ["B\nC", "x"] },
  ]);
});

test("a spreadsheet's tabs or semicolons are read like commas", () => {
  for (const sep of ["\t", ";"]) {
    const read = R.parseItems("update_qty", "csv", `sku${sep}quantity\nA${sep}3`);
    assert.deepEqual(read, { items: [{ sku: "A", quantity: 3 }], origins: ["Row 1 (line 2)"], errors: [] });
  }
});

test("rows are typed as the API takes them: integers, prices as exact text", () => {
  const read = R.parseItems("update_qty_price", "csv", "SKU,Quantity,Price,Currency\nA,2,\"9,90\",eur");
  assert.deepEqual(read.items, [{ sku: "A", quantity: 2, price: "9.90", currency: "EUR" }]);
  assert.deepEqual(read.errors, []);
});

test("each bad row says where and what", () => {
  const read = R.parseItems("update_price", "json", JSON.stringify([{ sku: "A", price: 0, currency: "EU" }, 7]));
  assert.deepEqual(read.errors, [
    { where: "Row 1", message: "price: must be more than 0" },
    { where: "Row 1", message: "currency: must be a 3-letter currency code such as EUR" },
    { where: "Row 2", message: "must be an object {…}" },
    { where: "Row 2", message: "sku: is missing" },
    { where: "Row 2", message: "price: is missing" },
    { where: "Row 2", message: "currency: is missing" },
  ]);
});

test("a header missing a column or with an unknown one is refused before the rows", () => {
  const read = R.parseItems("stop_products", "csv", "sku,qty\nA,1");
  assert.deepEqual(read.errors, [{ where: "Header", message: "unknown column qty (expected sku)" }]);
});

test("a SKU twice is one item too many", () => {
  const read = R.parseItems("stop_products", "csv", "sku\nA\nB\nA");
  assert.deepEqual(read.errors, [{ where: "Row 3 (line 4)", message: "sku: A repeats Row 1 (line 2): one row per item" }]);
});

test("a product to send needs an EAN, UPC or ASIN", () => {
  const read = R.parseItems("send_products", "csv", "sku,quantity,price,currency\nA,1,5,EUR");
  assert.deepEqual(read.errors, [{ where: "Row 1 (line 2)", message: "one of ean, upc, asin is needed to find the Amazon item" }]);
});

test("shipped lines of one order make one fulfillment item", () => {
  const head = "amazon_order_id,carrier,tracking_number,shipped_at,order_item_id,quantity";
  const at = "2026-11-27T10:00:00Z";
  const read = R.parseItems("orders_fulfillment", "csv", `${head}\n028-1-1,DHL,T1,${at},i1,1\n028-1-1,DHL,T1,${at},i2,2`);
  assert.deepEqual(read.errors, []);
  assert.deepEqual(read.items, [
    { amazon_order_id: "028-1-1", carrier: "DHL", tracking_number: "T1", shipped_at: at, items: [{ order_item_id: "i1", quantity: 1 }, { order_item_id: "i2", quantity: 2 }] },
  ]);
  const unzoned = R.parseItems("orders_fulfillment", "csv", `${head}\n028-1-1,DHL,T1,2026-11-27T10:00,i1,1`);
  assert.match(unzoned.errors[0].message, /^shipped_at: needs a time zone/);
});

test("more items than the API takes", () => {
  const rows = Array.from({ length: R.MAX_ITEMS + 1 }, (_, n) => `S${n}`).join("\n");
  const read = R.parseItems("stop_products", "csv", `sku\n${rows}`);
  assert.deepEqual(read.errors, [{ where: "", message: "25,001 items: the API takes at most 25,000 per job" }]);
});

test("the API's problems go to the field they name, items by the row they came from", () => {
  const message = "items.1.quantity: Input should be greater than or equal to 0; items.4.sku: Field required";
  assert.deepEqual(R.apiErrors(422, { error: { code: "invalid", message } }, ["Row 1 (line 2)", "Row 2 (line 4)"]), [
    { field: "items", message: "Row 2 (line 4): quantity: Input should be greater than or equal to 0" },
    { field: "items", message: "Row 5: sku: Field required" },
  ]);
  assert.deepEqual(R.apiErrors(422, { detail: [{ loc: ["body", "params", "since"], msg: "Field required" }] }), [
    { field: "since", message: "Field required" },
  ]);
  assert.deepEqual(R.apiErrors(422, { error: { message: "marketplace_id: 'X' is not a marketplace of account 'a'" } }), [
    { field: "marketplace", message: "'X' is not a marketplace of account 'a'" },
  ]);
  assert.deepEqual(R.apiErrors(404, { error: { message: "account 'a' not found" } }), [
    { field: "account", message: "account 'a' not found" },
  ]);
  assert.deepEqual(R.apiErrors(422, { error: { message: "shop_id: an admin key must name the shop" } }), [
    { field: "form", message: "shop_id: an admin key must name the shop" },
  ]);
});
