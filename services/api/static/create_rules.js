/* What a new job's items must be, per job type, and reading them from pasted CSV or JSON.
 *
 * Pure functions, no DOM: the page (create.js) uses them in the browser and node can load
 * them as a module. The checks are the common mistakes (a missing SKU, a negative
 * quantity, too many items); the API checks the rest (shared/job_items.py) and its 422s
 * are mapped back to the field they name by apiErrors().
 */
"use strict";

(function (root, build) {
  const rules = build();
  if (typeof module === "object" && module.exports) module.exports = rules;
  else root.JobFormRules = rules;
})(typeof self !== "undefined" ? self : this, () => {
  const MAX_ITEMS = 25000; // shared/limits.py MAX_ITEMS: Amazon's maximum per feed
  const MAX_QUANTITY = 2147483647; // shared/limits.py MAX_QUANTITY
  const MAX_ERRORS = 50; // per-row messages kept: the first ones are enough to fix a file

  // Kinds of value: each reads what was pasted (text from CSV, any JSON value) into what
  // the API takes, or says what is wrong.
  const KINDS = {
    sku: (v) => text(v, 40),
    text: (v) => text(v, 64),
    code: (v) => text(v, 64), // ean/upc/asin: their pattern is the API's to check
    quantity: (v) => integer(v, 0),
    count: (v) => integer(v, 1),
    price: price,
    currency: (v) => {
      const s = String(v).trim().toUpperCase();
      return /^[A-Z]{3}$/.test(s) ? { value: s } : { error: "must be a 3-letter currency code such as EUR" };
    },
    time: (v) => {
      const s = String(v).trim();
      if (Number.isNaN(Date.parse(s))) return { error: "must be a date-time such as 2026-11-27T10:00:00Z" };
      if (!/(Z|[+-]\d\d:?\d\d)$/i.test(s)) return { error: "needs a time zone (e.g. 2026-11-27T10:00:00Z)" };
      return { value: s };
    },
  };

  function text(value, max) {
    if (typeof value === "object") return { error: "must be text" };
    const s = String(value).trim();
    if (!s) return { error: "is missing" };
    if (s.length > max) return { error: `is longer than ${max} characters` };
    return { value: s };
  }

  function integer(value, min) {
    const s = typeof value === "number" ? String(value) : String(value).trim();
    if (!/^-?\d+$/.test(s)) return { error: `must be a whole number (got ${JSON.stringify(value)})` };
    const n = Number(s);
    if (n < min) return { error: `must not be ${min === 0 ? "negative" : `less than ${min}`} (got ${n})` };
    if (n > MAX_QUANTITY) return { error: `must be at most ${MAX_QUANTITY}` };
    return { value: n };
  }

  function price(value) {
    const s = typeof value === "number" ? String(value) : String(value).trim().replace(",", ".");
    if (!/^\d{1,10}(\.\d{1,2})?$/.test(s)) {
      return { error: `must be a price such as 19.90 (got ${JSON.stringify(value)})` };
    }
    if (Number(s) <= 0) return { error: "must be more than 0" };
    return { value: s }; // as text: the API reads it as a decimal, exactly
  }

  const SKU = { sku: "sku" };
  const QTY = { quantity: "quantity" };
  const PRICE = { price: "price", currency: "currency" };
  // Per job type that takes items: required and optional columns (shared/job_items.py).
  const ITEMS = {
    send_products: {
      required: { ...SKU, ...QTY, ...PRICE },
      optional: { ean: "code", upc: "code", asin: "code", condition: "text", product_type: "text" },
      oneOf: ["ean", "upc", "asin"],
    },
    update_qty: { required: { ...SKU, ...QTY } },
    update_price: { required: { ...SKU, ...PRICE } },
    update_qty_price: { required: { ...SKU, ...QTY, ...PRICE } },
    stop_products: { required: SKU },
    stop_remove_products: { required: SKU },
    // One CSV row per shipped line; the lines of one order become one item (see group()).
    orders_fulfillment: {
      required: {
        amazon_order_id: "text",
        carrier: "text",
        tracking_number: "text",
        shipped_at: "time",
        order_item_id: "text",
        quantity: "count",
      },
    },
  };
  const LINE_FIELDS = ["order_item_id", "quantity"];

  const n = (count) => count.toLocaleString("en-US");

  const takesItems = (jobType) => Object.prototype.hasOwnProperty.call(ITEMS, jobType);

  /** The columns of a job type, required first: what the form's hint lists. */
  function columns(jobType) {
    const spec = ITEMS[jobType];
    return spec ? { required: Object.keys(spec.required), optional: Object.keys(spec.optional || {}) } : null;
  }

  // ------------------------------------------------------------------------ CSV

  /** Rows of CSV text as arrays of cells, each with its line number (from 1). The
   *  delimiter is the header's: a tab (pasted from a spreadsheet), ";" or ",". */
  function csvRows(textIn) {
    const src = textIn.replace(/^\uFEFF/, "");
    const header = src.split(/\r?\n/, 1)[0];
    const delim = header.includes("\t") ? "\t" : header.includes(";") && !header.includes(",") ? ";" : ",";
    const rows = [];
    let cells = [];
    let cell = "";
    let quoted = false;
    let line = 1;
    let start = 1;
    for (let i = 0; i < src.length; i += 1) {
      const c = src[i];
      if (quoted) {
        if (c === '"' && src[i + 1] === '"') {
          cell += '"';
          i += 1;
        } else if (c === '"') quoted = false;
        else {
          if (c === "\n") line += 1;
          cell += c;
        }
      } else if (c === '"' && cell === "") quoted = true;
      else if (c === delim) {
        cells.push(cell);
        cell = "";
      } else if (c === "\n" || c === "\r") {
        if (c === "\r" && src[i + 1] === "\n") i += 1;
        cells.push(cell);
        rows.push({ line: start, cells });
        cells = [];
        cell = "";
        line += 1;
        start = line;
      } else cell += c;
    }
    cells.push(cell);
    rows.push({ line: start, cells });
    return rows.filter((r) => r.cells.some((c) => c.trim() !== ""));
  }

  /** CSV with a header row, as records {where, line, fields}; or errors. */
  function readCsv(textIn) {
    const rows = csvRows(textIn);
    if (!rows.length) return { records: [], errors: [{ where: "", message: "paste a header row and one row per item" }] };
    const [head, ...body] = rows;
    const names = head.cells.map((c) => c.trim().toLowerCase());
    const records = body.map((r, i) => {
      const fields = {};
      const errors = [];
      if (r.cells.length > names.length) errors.push(`has ${r.cells.length} cells, the header ${names.length}`);
      names.forEach((name, k) => {
        const cell = (r.cells[k] || "").trim();
        if (cell !== "") fields[name] = cell;
      });
      return { where: `Row ${i + 1} (line ${r.line})`, line: r.line, fields, errors };
    });
    return { records, errors: [], columns: names };
  }

  /** A JSON array of objects, as records; or errors. */
  function readJson(textIn) {
    let data;
    try {
      data = JSON.parse(textIn);
    } catch (exc) {
      return { records: [], errors: [{ where: "", message: `not valid JSON: ${exc.message}` }] };
    }
    if (!Array.isArray(data)) return { records: [], errors: [{ where: "", message: "must be a JSON array of items: [{…}, …]" }] };
    const records = data.map((value, i) => {
      const isObject = value !== null && typeof value === "object" && !Array.isArray(value);
      return { where: `Row ${i + 1}`, fields: isObject ? value : {}, errors: isObject ? [] : ["must be an object {…}"] };
    });
    return { records, errors: [] };
  }

  // ------------------------------------------------------------------ validation

  function checkFields(fields, required, optional, errors) {
    const out = {};
    for (const name of Object.keys(fields)) {
      if (!(name in required) && !(name in optional)) errors.push(`${name}: is not a field of this job type`);
    }
    for (const [name, kind] of Object.entries({ ...required, ...optional })) {
      const raw = fields[name];
      const missing = raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "");
      if (missing) {
        if (name in required) errors.push(`${name}: is missing`);
        continue;
      }
      const read = KINDS[kind](raw);
      if (read.error) errors.push(`${name}: ${read.error}`);
      else out[name] = read.value;
    }
    return out;
  }

  /** The items of a job of ``jobType`` from the pasted ``textIn`` (format "csv" or
   *  "json"): {items, origins, errors}; ``origins[i]`` says where item i came from and
   *  each error is {where, message}. Nothing is to be sent while errors is not empty. */
  function parseItems(jobType, format, textIn) {
    const spec = ITEMS[jobType];
    if (!spec) return { items: [], origins: [], errors: [{ where: "", message: `${jobType} takes no items` }] };
    if (!textIn.trim()) return { items: [], origins: [], errors: [{ where: "", message: "paste at least one item" }] };
    const read = format === "json" ? readJson(textIn) : readCsv(textIn);
    const errors = [...read.errors];
    if (read.columns) {
      const known = new Set([...Object.keys(spec.required), ...Object.keys(spec.optional || {})]);
      const unknown = read.columns.filter((c) => c && !known.has(c));
      const missing = Object.keys(spec.required).filter((c) => !read.columns.includes(c));
      if (unknown.length) errors.push({ where: "Header", message: `unknown column ${unknown.join(", ")} (expected ${[...known].join(", ")})` });
      if (missing.length) errors.push({ where: "Header", message: `missing column ${missing.join(", ")}` });
      if (unknown.length || missing.length) return { items: [], origins: [], errors };
    }
    if (!read.records.length && !errors.length) errors.push({ where: "", message: "no items: add one row per item below the header" });
    const checked =
      jobType === "orders_fulfillment" && format === "json"
        ? read.records.map((r) => checkShipment(r))
        : read.records.map((r) => {
            const problems = [...r.errors];
            const value = checkFields(r.fields, spec.required, spec.optional || {}, problems);
            if (spec.oneOf && !spec.oneOf.some((f) => f in value) && !problems.some((p) => spec.oneOf.some((f) => p.startsWith(f)))) {
              problems.push(`one of ${spec.oneOf.join(", ")} is needed to find the Amazon item`);
            }
            return { where: r.where, value, problems };
          });
    for (const c of checked) for (const message of c.problems) errors.push({ where: c.where, message });
    let items = checked.map((c) => c.value);
    let origins = checked.map((c) => c.where);
    if (jobType === "orders_fulfillment" && format !== "json" && !errors.length) {
      ({ items, origins } = group(items, origins, errors));
    }
    if (items.length > MAX_ITEMS) {
      errors.unshift({ where: "", message: `${n(items.length)} items: the API takes at most ${n(MAX_ITEMS)} per job` });
    }
    if (!errors.length) duplicates(jobType, items, origins, errors);
    return { items, origins, errors: clipErrors(errors) };
  }

  /** A fulfillment item as the API takes it (JSON): the order and its shipped lines. */
  function checkShipment(record) {
    const problems = [...record.errors];
    const { items: lines, ...order } = record.fields;
    const orderFields = Object.fromEntries(Object.entries(ITEMS.orders_fulfillment.required).filter(([f]) => !LINE_FIELDS.includes(f)));
    const value = checkFields(order, orderFields, {}, problems);
    if (!Array.isArray(lines) || !lines.length) problems.push("items: needs the shipped lines [{order_item_id, quantity}, …]");
    else {
      const lineFields = { order_item_id: "text", quantity: "count" };
      value.items = lines.map((line, k) => {
        const lineProblems = [];
        const out = checkFields(line && typeof line === "object" ? line : {}, lineFields, {}, lineProblems);
        for (const p of lineProblems) problems.push(`items.${k}.${p}`);
        return out;
      });
    }
    return { where: record.where, value, problems };
  }

  /** CSV rows of shipped lines, one item per order (its rows must agree on the order). */
  function group(rows, origins, errors) {
    const byOrder = new Map();
    rows.forEach((row, i) => {
      const line = { order_item_id: row.order_item_id, quantity: row.quantity };
      const known = byOrder.get(row.amazon_order_id);
      if (!known) {
        const { order_item_id: _id, quantity: _qty, ...order } = row;
        byOrder.set(row.amazon_order_id, { item: { ...order, items: [line] }, where: origins[i] });
        return;
      }
      for (const f of ["carrier", "tracking_number", "shipped_at"]) {
        if (known.item[f] !== row[f]) errors.push({ where: origins[i], message: `${f}: differs from the order's first row (${known.where})` });
      }
      known.item.items.push(line);
    });
    const orders = [...byOrder.values()];
    return { items: orders.map((o) => o.item), origins: orders.map((o) => o.where) };
  }

  function duplicates(jobType, items, origins, errors) {
    const key = jobType === "orders_fulfillment" ? "amazon_order_id" : "sku";
    const first = new Map();
    items.forEach((item, i) => {
      const k = item[key];
      if (first.has(k)) errors.push({ where: origins[i], message: `${key}: ${k} repeats ${first.get(k)}: one row per item` });
      else first.set(k, origins[i]);
    });
  }

  function clipErrors(errors) {
    if (errors.length <= MAX_ERRORS) return errors;
    const more = errors.length - MAX_ERRORS;
    return [...errors.slice(0, MAX_ERRORS), { where: "", message: `… and ${more} more` }];
  }

  // ------------------------------------------------------------------ API errors

  // The request's fields and the form's: where an error about each is shown.
  const FIELD_OF = {
    account_id: "account",
    job_type: "job_type",
    marketplace_id: "marketplace",
    items: "items",
    "params.since": "since",
    "params.by": "by",
    "params.page_size": "page_size",
    "params.report_type": "report_type",
  };

  /** Where each problem of an API error answer belongs: [{field, message}], ``field``
   *  one of the form's (FIELD_OF) or "form". Reads the API's {"error": {"message":
   *  "items.3.quantity: …; items.5.sku: …"}} and FastAPI's {"detail": [{loc, msg}]};
   *  ``origins`` turns an item's index into the row it came from. */
  function apiErrors(status, body, origins = []) {
    const parts = [];
    if (body && Array.isArray(body.detail)) {
      for (const d of body.detail) {
        const loc = (d.loc || []).filter((p) => p !== "body").join(".");
        parts.push(loc ? `${loc}: ${d.msg}` : String(d.msg));
      }
    } else {
      const message = (body && body.error && body.error.message) || (body && typeof body.detail === "string" && body.detail) || `HTTP ${status}`;
      // The API joins up to five item problems with "; ", each naming its field.
      parts.push(...message.split(/; (?=(?:items|params)\.\d*)/));
    }
    return parts.map((part) => place(status, part, origins));
  }

  function place(status, part, origins) {
    const m = /^([A-Za-z_][\w.]*): ([\s\S]*)$/.exec(part);
    if (m) {
      const path = m[1].split(".");
      if (path[0] === "items" && /^\d+$/.test(path[1] || "")) {
        const n = Number(path[1]);
        const rest = path.slice(2).join(".");
        const where = origins[n] || `Row ${n + 1}`;
        return { field: "items", message: `${where}: ${rest ? `${rest}: ` : ""}${m[2]}` };
      }
      const two = path.slice(0, 2).join(".");
      if (path.length > 1 && FIELD_OF[two]) {
        return { field: FIELD_OF[two], message: path.length > 2 ? `${path.slice(2).join(".")}: ${m[2]}` : m[2] };
      }
      const field = FIELD_OF[path[0]];
      if (field) {
        return { field, message: path.length > 1 ? `${path.slice(1).join(".")}: ${m[2]}` : m[2] };
      }
      return { field: "form", message: part };
    }
    if (status === 404 && /^account /.test(part)) return { field: "account", message: part };
    if (/\bitems?\b/.test(part)) return { field: "items", message: part };
    return { field: "form", message: part };
  }

  // ------------------------------------------------------------------ the request

  /** The body of ``POST /v1/jobs`` from the form's values (already checked). */
  function requestBody({ jobId, accountId, jobType, marketplaceId, items, params }) {
    const body = { job_id: jobId, account_id: accountId, job_type: jobType };
    if (marketplaceId) body.marketplace_id = marketplaceId;
    if (takesItems(jobType)) body.items = items;
    else body.params = params;
    return body;
  }

  /** A local date-time from an <input type="datetime-local"> as ISO-8601 UTC. */
  function zoned(localValue) {
    const d = new Date(localValue);
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
  }

  return { MAX_ITEMS, takesItems, columns, csvRows, parseItems, apiErrors, requestBody, zoned };
});
