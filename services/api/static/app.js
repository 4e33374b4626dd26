/* Amazon Jobs page: plain JavaScript against the read API (/v1/...), no build step.
 *
 * Every value from the API is put into the page as text (textContent), never as HTML.
 * The API key lives in sessionStorage (this tab only) and goes out as a Bearer token.
 */
"use strict";

(() => {
  const KEY_STORAGE = "amazonJobs.apiKey";
  const PAGE_SIZE = 50;
  const REFRESH_MS = 2000;
  const ACCOUNTS_EVERY = 15; // refresh ticks between reloads of the account list

  // The contract's job types and statuses (shared/jobs.py), in the manual's wording.
  const JOB_TYPES = {
    send_products: "Sending Products",
    update_qty: "Update Products QTY",
    update_price: "Update Products Price",
    update_qty_price: "Update Products QTY & Price",
    stop_products: "Stop Products",
    stop_remove_products: "Stop & Remove Products",
    orders_fulfillment: "Orders Fulfillment",
    inventory_report: "Inventory Report",
    orders_import: "Orders Import",
  };
  const STATUSES = {
    reserved: "Reserved",
    created: "Created",
    processing: "Processing",
    waiting_for_result: "Waiting for result",
    done: "Done",
    error: "Error",
    canceled: "Canceled",
  };
  const QUOTAS = {
    feed_submit: "Feed submission (createFeed)",
    feed_document: "Feed upload (createFeedDocument)",
    feed_status: "Feed status (getFeed)",
    feed_result: "Feed result (getFeedDocument)",
    report_request: "Report request (createReport)",
    report_status: "Report status (getReport)",
    report_result: "Report download (getReportDocument)",
    orders_page: "Orders import (getOrders)",
    asin_lookup: "ASIN search by EAN/UPC",
  };
  const FILTERS = ["account_id", "job_type", "status", "created_from", "created_to"];

  const $ = (id) => document.getElementById(id);

  const state = {
    key: null,
    filters: Object.fromEntries(FILTERS.map((f) => [f, ""])),
    rows: [],
    nextCursor: null,
    loaded: false,
    generation: 0, // bumped when the filters change: older answers are dropped
    accounts: new Map(),
    pendingCancel: new Set(),
    rowNotes: new Map(), // job id -> why its cancel was refused
    checked: new Set(), // job ids ticked for a bulk action
    allMatching: false, // the bulk action is for every job the filters match
    selected: null, // {id, tab}
    detail: null, // {job, items, itemsCursor, log, logCursor}
    live: true,
    timer: null,
    ticks: 0,
    lastOk: null,
    errors: new Map(), // source -> message, shown in the error banner
  };

  // ------------------------------------------------------------------------------ API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /** Call the API; resolves to the JSON body, rejects with an ApiError carrying the
   *  API's own {"error": {"code", "message"}} when there is one. */
  async function api(path, { method = "GET", params = {}, body, key = state.key } = {}) {
    const url = new URL(path, window.location.origin);
    for (const [name, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
    }
    const headers = { Accept: "application/json", Authorization: `Bearer ${key}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (exc) {
      throw new ApiError(0, "network", "the API cannot be reached (network error)");
    }
    const text = await response.text();
    let payload = null;
    if (text) {
      try {
        payload = JSON.parse(text);
      } catch (exc) {
        payload = null;
      }
    }
    if (!response.ok) {
      const error = payload && typeof payload === "object" ? payload.error : null;
      const message =
        (error && error.message) ||
        `${response.status} ${response.statusText || "error"}${text && !payload ? `: ${text.slice(0, 200)}` : ""}`;
      throw new ApiError(response.status, (error && error.code) || `http_${response.status}`, message);
    }
    return payload;
  }

  /** A page of every list endpoint is {"data": [...], "next_cursor": str|null}. */
  // Rows of a job's items (and log) read at first, and per click on "More".
  const DETAIL_PAGE = 200;
  const MORE_PAGE = 1000;

  async function allPages(path, params, maxPages = 20) {
    const rows = [];
    let cursor = null;
    for (let n = 0; n < maxPages; n += 1) {
      const page = await api(path, { params: { ...params, cursor } });
      rows.push(...page.data);
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    return rows;
  }

  // ------------------------------------------------------------------------ formatting

  const pad = (n) => String(n).padStart(2, "0");

  function formatDate(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return (
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
    );
  }

  function formatTime(d) {
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function formatDuration(seconds) {
    const s = Math.abs(seconds);
    if (s < 1) return "under 1 s";
    if (s < 90) return `${Math.round(s)} s`;
    if (s < 90 * 60) return `${Math.round(s / 60)} min`;
    if (s < 36 * 3600) return `${(s / 3600).toFixed(1).replace(/\.0$/, "")} h`;
    return `${(s / 86400).toFixed(1).replace(/\.0$/, "")} days`;
  }

  function relative(iso) {
    if (!iso) return "—";
    const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
    if (Math.abs(seconds) < 1) return "now";
    return seconds > 0 ? `in ${formatDuration(seconds)}` : `${formatDuration(seconds)} ago`;
  }

  function restoreRate(perSecond) {
    if (!perSecond || perSecond <= 0) return "none";
    if (perSecond >= 1) return `${Number(perSecond.toFixed(2))} per second`;
    return `1 every ${formatDuration(1 / perSecond)}`;
  }

  function plural(n, word) {
    return `${n} ${word}${n === 1 ? "" : "s"}`;
  }

  /** "3/4 ok, 1 error": accepted and warned items count as ok. */
  function itemsSummary(counts) {
    const c = { total: 0, pending: 0, accepted: 0, warning: 0, error: 0, canceled: 0, ...counts };
    if (!c.total) return [{ text: "—" }];
    const parts = [{ text: `${c.accepted + c.warning}/${c.total} ok` }];
    if (c.error) parts.push({ text: plural(c.error, "error"), cls: "bad" });
    if (c.warning) parts.push({ text: plural(c.warning, "warning"), cls: "warn" });
    if (c.pending) parts.push({ text: `${c.pending} pending` });
    if (c.canceled) parts.push({ text: `${c.canceled} canceled` });
    return parts;
  }

  function compact(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value !== "object") return String(value);
    if (Array.isArray(value)) return value.map(compact).join(", ");
    return Object.entries(value)
      .map(([k, v]) => `${k}: ${typeof v === "object" && v !== null ? JSON.stringify(v) : v}`)
      .join(", ");
  }

  // Amazon counts quotas per seller: a bucket row names the seller's accounts we know.
  function sellerAccounts(sellerId, region) {
    const names = [...state.accounts.values()]
      .filter((a) => a.seller_id === sellerId && a.region === region)
      .map((a) => a.name);
    return names.length ? names.join(", ") : sellerId;
  }

  function accountName(id, name) {
    if (name) return name;
    const known = state.accounts.get(id);
    return known ? known.name : id;
  }

  // ---------------------------------------------------------------------------- DOM

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function badge(kind, label, testid) {
    return el("span", { class: `badge badge-${kind}`, "data-testid": testid, text: label });
  }

  function dateCell(iso) {
    return el("td", { class: "date", title: iso || "" }, el("time", { datetime: iso || "", text: formatDate(iso) }));
  }

  // -------------------------------------------------------------------------- errors

  /** The error banner lists one message per source; a source's next success clears it. */
  function setError(source, err) {
    if (err && err.status === 401) {
      logout("Your API key was not accepted (401 unauthorized). Please sign in again.");
      return;
    }
    const where = {
      jobs: "Jobs could not be loaded",
      accounts: "Accounts could not be loaded",
      quotas: "Quotas could not be loaded",
      schedules: "Schedules could not be loaded",
      detail: "The job could not be loaded",
      more: "More jobs could not be loaded",
    }[source] || "Request failed";
    state.errors.set(source, { where, err });
    renderErrors();
  }

  function clearError(source) {
    if (state.errors.delete(source)) renderErrors();
  }

  function renderErrors() {
    const banner = $("error-banner");
    banner.replaceChildren();
    for (const [source, { where, err }] of state.errors) {
      const status = err.status ? `HTTP ${err.status} · ${err.code}` : err.code;
      banner.append(
        el(
          "div",
          { "data-testid": "error-message", "data-source": source },
          el("strong", { text: `${where}: ` }),
          err.message,
          " ",
          el("span", { class: "code", text: `(${status})` }),
        ),
      );
    }
    banner.hidden = state.errors.size === 0;
    renderLiveState();
  }

  function notice(message, kind = "info") {
    const box = $("notice");
    box.className = `alert ${kind === "error" ? "alert-error" : kind === "ok" ? "alert-ok" : ""}`;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.replaceChildren(
      el("span", { "data-testid": "notice-text", text: message }),
      " ",
      el("button", {
        type: "button",
        class: "btn btn-link",
        "aria-label": "Dismiss message",
        text: "Dismiss",
        onclick: () => {
          box.hidden = true;
        },
      }),
    );
    box.hidden = false;
  }

  // ------------------------------------------------------------------------- filters

  function dayStart(value) {
    const [y, m, d] = value.split("-").map(Number);
    return new Date(y, m - 1, d, 0, 0, 0, 0).toISOString();
  }

  function dayEnd(value) {
    const [y, m, d] = value.split("-").map(Number);
    return new Date(y, m - 1, d, 23, 59, 59, 999).toISOString();
  }

  function filterParams() {
    const f = state.filters;
    return {
      account_id: f.account_id,
      job_type: f.job_type,
      status: f.status,
      created_from: f.created_from ? dayStart(f.created_from) : "",
      created_to: f.created_to ? dayEnd(f.created_to) : "",
    };
  }

  function readFiltersFromUrl() {
    const query = new URLSearchParams(window.location.search);
    for (const name of FILTERS) state.filters[name] = query.get(name) || "";
  }

  function writeFiltersToUrl() {
    const query = new URLSearchParams();
    for (const name of FILTERS) if (state.filters[name]) query.set(name, state.filters[name]);
    const search = query.toString();
    window.history.replaceState(null, "", `${window.location.pathname}${search ? `?${search}` : ""}`);
  }

  const FILTER_INPUTS = {
    account_id: "filter-account",
    job_type: "filter-type",
    status: "filter-status",
    created_from: "filter-from",
    created_to: "filter-to",
  };

  function showFilters() {
    for (const [name, id] of Object.entries(FILTER_INPUTS)) {
      const input = $(id);
      if (name === "account_id" && state.filters.account_id && !state.accounts.has(state.filters.account_id)) {
        // Filtered on an account the list has not shown yet: keep it selectable.
        input.append(el("option", { value: state.filters.account_id, text: state.filters.account_id }));
      }
      input.value = state.filters[name];
    }
  }

  function onFilterChange() {
    for (const [name, id] of Object.entries(FILTER_INPUTS)) state.filters[name] = $(id).value;
    writeFiltersToUrl();
    state.checked.clear();
    state.allMatching = false;
    state.generation += 1;
    state.rows = [];
    state.nextCursor = null;
    state.loaded = false;
    renderJobs();
    queueJobs(() => loadJobs());
  }

  function fillStaticSelects() {
    for (const [value, label] of Object.entries(JOB_TYPES)) $("filter-type").append(el("option", { value, text: label }));
    for (const [value, label] of Object.entries(STATUSES)) $("filter-status").append(el("option", { value, text: label }));
  }

  // ------------------------------------------------------------------------ accounts

  async function loadAccounts() {
    try {
      const rows = await allPages("/v1/accounts", { limit: 500 });
      state.accounts = new Map(rows.map((a) => [a.id, a]));
      clearError("accounts");
      renderAccounts();
    } catch (err) {
      setError("accounts", err);
    }
  }

  function renderAccounts() {
    const select = $("filter-account");
    const current = state.filters.account_id;
    const options = [el("option", { value: "", text: "All accounts" })];
    const shops = new Set();
    const sorted = [...state.accounts.values()].sort((a, b) => a.name.localeCompare(b.name));
    for (const account of sorted) {
      shops.add(account.shop_id);
      options.push(el("option", { value: account.id, text: `${account.name} (${account.region})` }));
    }
    if (current && !state.accounts.has(current)) options.push(el("option", { value: current, text: current }));
    select.replaceChildren(...options);
    select.value = current;
    renderScheduleAccounts();
    const who = $("who");
    who.textContent =
      shops.size === 1 ? `Shop ${[...shops][0]}` : shops.size > 1 ? `${shops.size} shops` : "No accounts yet";
    who.hidden = false;
    document.dispatchEvent(new CustomEvent("amazonjobs:accounts"));
  }

  // ---------------------------------------------------------------------------- jobs

  let jobsQueue = Promise.resolve();

  /** Loads of the jobs list run one after the other, so pages never interleave. */
  function queueJobs(work) {
    jobsQueue = jobsQueue.then(work, work);
    return jobsQueue;
  }

  /** (Re)load as many rows as are shown now (at least one page), from the top. */
  async function loadJobs() {
    const generation = state.generation;
    const want = Math.max(PAGE_SIZE, state.rows.length);
    $("jobs-loading").hidden = state.loaded;
    try {
      const rows = [];
      let cursor = null;
      let next = null;
      do {
        const page = await api("/v1/jobs", {
          params: { ...filterParams(), limit: Math.min(200, want - rows.length), cursor },
        });
        if (generation !== state.generation) return;
        rows.push(...page.data);
        next = page.next_cursor;
        cursor = next;
      } while (next && rows.length < want);
      state.rows = rows;
      state.nextCursor = next;
      state.loaded = true;
      state.lastOk = new Date();
      clearError("jobs");
      if (rows.some((r) => !state.accounts.has(r.account.id)) && state.ticks % 5 === 0) loadAccounts();
    } catch (err) {
      if (generation === state.generation) setError("jobs", err);
    } finally {
      if (generation === state.generation) {
        $("jobs-loading").hidden = true;
        renderJobs();
      }
    }
  }

  async function loadMore() {
    if (!state.nextCursor) return;
    const generation = state.generation;
    const button = $("load-more");
    button.disabled = true;
    button.textContent = "Loading…";
    try {
      const page = await api("/v1/jobs", { params: { ...filterParams(), limit: PAGE_SIZE, cursor: state.nextCursor } });
      if (generation !== state.generation) return;
      const seen = new Set(state.rows.map((r) => r.id));
      state.rows.push(...page.data.filter((r) => !seen.has(r.id)));
      state.nextCursor = page.next_cursor;
      clearError("more");
    } catch (err) {
      setError("more", err);
    } finally {
      button.disabled = false;
      button.textContent = "Load more";
      renderJobs();
    }
  }

  const rowNodes = new Map(); // job id -> {tr, signature}

  function renderJobs() {
    const body = $("jobs-body");
    const keep = new Set();
    let previous = null;
    for (const row of state.rows) {
      if (!row.cancelable) state.pendingCancel.delete(row.id);
      const signature = JSON.stringify([
        row,
        state.pendingCancel.has(row.id),
        state.rowNotes.get(row.id) || null,
        state.checked.has(row.id) || state.allMatching,
        state.selected && state.selected.id === row.id,
        state.accounts.has(row.account.id),
      ]);
      let entry = rowNodes.get(row.id);
      if (!entry) {
        entry = { tr: el("tr", { "data-testid": "job-row" }), signature: null };
        rowNodes.set(row.id, entry);
      }
      if (entry.signature !== signature) {
        fillJobRow(entry.tr, row);
        entry.signature = signature;
      }
      keep.add(row.id);
      const expected = previous ? previous.nextSibling : body.firstChild;
      if (expected !== entry.tr) body.insertBefore(entry.tr, expected);
      previous = entry.tr;
    }
    for (const [id, entry] of rowNodes) {
      if (!keep.has(id)) {
        entry.tr.remove();
        rowNodes.delete(id);
      }
    }
    renderBulkBar();
    $("jobs-empty").hidden = !state.loaded || state.rows.length > 0;
    $("load-more").hidden = !state.nextCursor;
    $("jobs-count").textContent = state.loaded
      ? `(${state.rows.length} shown${state.nextCursor ? ", more available" : ""})`
      : "";
    renderLiveState();
  }

  function fillJobRow(tr, row) {
    const focused = tr.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    tr.dataset.jobId = row.id;
    tr.dataset.status = row.status;
    tr.classList.toggle("selected", Boolean(state.selected && state.selected.id === row.id));
    const statusCell = el("td", {}, badge(row.status, row.status_label || STATUSES[row.status] || row.status, "job-status"));
    if (state.pendingCancel.has(row.id)) {
      statusCell.append(el("span", { class: "sub", "data-testid": "cancel-pending", text: "cancel requested…" }));
    }
    const note = state.rowNotes.get(row.id);
    if (note) statusCell.append(el("span", { class: "row-note", "data-testid": "row-note", text: `Cancel refused: ${note}` }));
    const items = itemsSummary(row.items);
    const name = accountName(row.account.id, row.account.name);
    const actions = el(
      "td",
      { class: "actions" },
      el("button", {
        type: "button",
        class: "btn btn-link",
        "data-testid": "action-status",
        "aria-label": `Check status of job ${row.id}`,
        text: "Status",
        onclick: () => openDetail(row.id, "status"),
      }),
      el("button", {
        type: "button",
        class: "btn btn-link",
        "data-testid": "action-log",
        "aria-label": `View log of job ${row.id}`,
        text: "Log",
        onclick: () => openDetail(row.id, "log"),
      }),
      row.cancelable
        ? el("button", {
            type: "button",
            class: "btn btn-link danger",
            "data-testid": "action-cancel",
            "aria-label": `Cancel job ${row.id}`,
            text: "Cancel",
            disabled: state.pendingCancel.has(row.id),
            onclick: () => cancelJob(row),
          })
        : null,
    );
    tr.replaceChildren(
      el(
        "td",
        { class: "id", "data-testid": "job-id" },
        el("input", {
          type: "checkbox",
          class: "row-check",
          "data-testid": "job-select",
          "aria-label": `Select job ${row.id}`,
          checked: state.checked.has(row.id) || state.allMatching,
          disabled: state.allMatching,
          onchange: (event) => {
            if (event.target.checked) state.checked.add(row.id);
            else state.checked.delete(row.id);
            renderJobs();
          },
        }),
        row.id,
      ),
      el(
        "td",
        { "data-testid": "job-account" },
        name,
        name !== row.account.id ? el("span", { class: "sub", text: row.account.id }) : null,
      ),
      el("td", { "data-testid": "job-type", text: row.job_type_label || JOB_TYPES[row.job_type] || row.job_type }),
      statusCell,
      dateCell(row.created_at),
      dateCell(row.updated_at),
      el(
        "td",
        { class: "items-summary", "data-testid": "job-items" },
        items.flatMap((part, i) => [i ? ", " : null, part.cls ? el("span", { class: part.cls, text: part.text }) : part.text]),
      ),
      actions,
    );
    if (focused) {
      const again = tr.querySelector(`[data-testid="${focused}"]`);
      if (again) again.focus();
    }
  }

  // --------------------------------------------------------------------------- cancel

  function confirmCancel(row) {
    return confirmDialog(
      "Cancel job?",
      `Job ${row.id} (${row.job_type_label}, ${accountName(row.account.id, row.account.name)}) ` +
        "will be canceled and its items returned to their state before the job.",
      "Cancel job",
    );
  }

  function confirmDialog(title, text, yesLabel) {
    const modal = $("confirm");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-yes").textContent = yesLabel;
    modal.hidden = false;
    const opener = document.activeElement;
    $("confirm-no").focus();
    return new Promise((resolve) => {
      const done = (answer) => {
        modal.hidden = true;
        $("confirm-yes").removeEventListener("click", yes);
        $("confirm-no").removeEventListener("click", no);
        document.removeEventListener("keydown", key);
        if (opener && opener.isConnected) opener.focus();
        resolve(answer);
      };
      const yes = () => done(true);
      const no = () => done(false);
      const key = (event) => {
        if (event.key === "Escape") done(false);
        if (event.key === "Tab") {
          // Keep the focus inside the dialog: its two buttons take turns.
          event.preventDefault();
          const next = document.activeElement === $("confirm-no") ? "confirm-yes" : "confirm-no";
          $(next).focus();
        }
      };
      $("confirm-yes").addEventListener("click", yes);
      $("confirm-no").addEventListener("click", no);
      document.addEventListener("keydown", key);
    });
  }

  async function cancelJob(row) {
    if (!(await confirmCancel(row))) return;
    state.rowNotes.delete(row.id);
    try {
      await api(`/v1/jobs/${encodeURIComponent(row.id)}/cancel`, { method: "POST" });
      state.pendingCancel.add(row.id);
      notice(`Cancel requested for job ${row.id}. Its status turns to Canceled once the system has handled it.`, "ok");
    } catch (err) {
      if (err.status === 401) {
        setError("jobs", err);
        return;
      }
      if (err.status === 409) {
        state.rowNotes.set(row.id, err.message);
        notice(`Job ${row.id} could not be canceled: ${err.message}`, "error");
      } else {
        const status = err.status ? ` (HTTP ${err.status} · ${err.code})` : ` (${err.code})`;
        notice(`Cancel of job ${row.id} failed: ${err.message}${status}`, "error");
      }
    }
    renderJobs();
    refreshNow();
  }

  // ----------------------------------------------------------------- retry and bulk

  function renderBulkBar() {
    const n = state.checked.size;
    $("select-matching").checked = state.allMatching;
    const shown = state.rows.length;
    const page = $("select-page");
    page.checked = state.allMatching || (shown > 0 && state.rows.every((r) => state.checked.has(r.id)));
    page.disabled = state.allMatching;
    $("bulk-count").textContent = state.allMatching
      ? "Every job matching the filters is selected"
      : n
        ? `${plural(n, "job")} selected`
        : "No job selected";
    const none = !state.allMatching && n === 0;
    $("bulk-cancel").disabled = none;
    $("bulk-retry").disabled = none;
  }

  function bulkBody() {
    if (!state.allMatching) return { job_ids: [...state.checked] };
    const filter = Object.fromEntries(Object.entries(filterParams()).filter(([, v]) => v));
    return { filter };
  }

  async function runBulk(action) {
    const what = state.allMatching ? "every job matching the filters" : plural(state.checked.size, "selected job");
    if (action === "cancel") {
      const text = `Cancel ${what}? Jobs already handed to Amazon or finished are refused, each with the reason.`;
      if (!(await confirmDialog("Cancel jobs?", text, "Cancel jobs"))) return;
    }
    try {
      const answer = await api(`/v1/jobs/bulk/${action}`, { method: "POST", body: bulkBody() });
      const requested = answer.results.filter((r) => r.outcome === "requested").length;
      const refused = answer.results.length - requested;
      notice(`${action === "cancel" ? "Cancel" : "Retry"} of ${plural(answer.matched, "job")}: ${requested} requested, ${refused} refused.`, refused ? "info" : "ok");
      renderBulkResults(action, answer);
      state.checked.clear();
      state.allMatching = false;
    } catch (err) {
      if (err.status === 401) setError("jobs", err);
      else notice(`Bulk ${action} failed: ${err.message}`, "error");
    }
    renderJobs();
    refreshNow();
  }

  function renderBulkResults(action, answer) {
    const box = $("bulk-results");
    const rows = answer.results.map((r) =>
      el(
        "tr",
        { "data-testid": "bulk-result", "data-job-id": r.job_id, class: r.outcome },
        el("td", { class: "mono", text: r.job_id }),
        el("td", { "data-testid": "bulk-outcome", text: r.outcome }),
        el("td", { "data-testid": "bulk-detail", text: r.new_job_id ? `new job ${r.new_job_id}` : r.reason || "" }),
      ),
    );
    box.replaceChildren(
      el("h3", { text: `Bulk ${action}: ${plural(answer.matched, "job")}` }),
      el(
        "table",
        { class: "grid grid-compact" },
        el("thead", {}, el("tr", {}, el("th", { text: "Job" }), el("th", { text: "Outcome" }), el("th", { text: "New job / reason" }))),
        el("tbody", {}, ...rows),
      ),
      el("button", { type: "button", class: "btn btn-link", text: "Hide results", onclick: () => { box.hidden = true; } }),
    );
    box.hidden = false;
  }

  async function retryJob(job) {
    try {
      const answer = await api(`/v1/jobs/${encodeURIComponent(job.id)}/retry`, { method: "POST" });
      notice(`Retry of job ${job.id} requested as job ${answer.job_id}.`, "ok");
    } catch (err) {
      if (err.status === 401) setError("jobs", err);
      else notice(`Job ${job.id} could not be retried: ${err.message}`, "error");
    }
    refreshNow();
  }

  // --------------------------------------------------------------------------- detail

  function openDetail(id, tab) {
    const switching = !state.selected || state.selected.id !== id;
    state.selected = { id, tab };
    if (switching) state.detail = null;
    const panel = $("detail");
    panel.hidden = false;
    $("detail-id").textContent = id;
    selectTab(tab);
    renderDetail();
    renderJobs();
    loadDetail().then(() => {
      panel.scrollIntoView({ behavior: "auto", block: "start" });
      panel.focus({ preventScroll: true });
    });
  }

  function closeDetail() {
    const id = state.selected && state.selected.id;
    state.selected = null;
    state.detail = null;
    $("detail").hidden = true;
    clearError("detail");
    renderJobs();
    const row = id && rowNodes.get(id);
    if (row) {
      const button = row.tr.querySelector('[data-testid="action-status"]');
      if (button) button.focus();
    }
  }

  function selectTab(tab) {
    if (state.selected) state.selected.tab = tab;
    for (const name of ["status", "log"]) {
      const button = $(`tab-${name}`);
      const on = name === tab;
      button.setAttribute("aria-selected", on ? "true" : "false");
      button.tabIndex = on ? 0 : -1;
      $(`panel-${name}`).hidden = !on;
    }
  }

  /** At least ``want`` rows of a paged list (fewer at its end), pages of up to 1000:
   * a refresh keeps every row "More" had loaded, however many. */
  async function firstRows(path, want) {
    const rows = [];
    let cursor = null;
    do {
      const page = await api(path, { params: { limit: Math.min(1000, want - rows.length), cursor } });
      rows.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor && rows.length < want);
    return { data: rows, next_cursor: cursor };
  }

  async function loadDetail() {
    if (!state.selected) return;
    const id = state.selected.id;
    const path = `/v1/jobs/${encodeURIComponent(id)}`;
    const old = state.detail && state.detail.job.id === id ? state.detail : null;
    const itemsWanted = Math.max(DETAIL_PAGE, old ? old.items.length : 0);
    const logWanted = Math.max(500, old ? old.log.length : 0);
    try {
      const [job, items, log] = await Promise.all([
        api(path),
        firstRows(`${path}/items`, itemsWanted),
        firstRows(`${path}/log`, logWanted),
      ]);
      if (!state.selected || state.selected.id !== id) return;
      state.detail = {
        job,
        items: items.data,
        itemsCursor: items.next_cursor,
        log: log.data,
        logCursor: log.next_cursor,
      };
      clearError("detail");
    } catch (err) {
      if (state.selected && state.selected.id === id) setError("detail", err);
    }
    renderDetail();
  }

  async function moreDetail(kind) {
    const detail = state.detail;
    if (!detail || !state.selected) return;
    const id = state.selected.id;
    const cursor = kind === "items" ? detail.itemsCursor : detail.logCursor;
    if (!cursor) return;
    try {
      const page = await api(`/v1/jobs/${encodeURIComponent(id)}/${kind}`, {
        params: { cursor, limit: MORE_PAGE },
      });
      if (state.detail !== detail) return;
      detail[kind].push(...page.data);
      detail[`${kind}Cursor`] = page.next_cursor;
      clearError("detail");
    } catch (err) {
      setError("detail", err);
    }
    renderDetail();
  }

  function renderDetail() {
    const detail = state.detail;
    const summary = $("detail-summary");
    const cancel = $("detail-cancel");
    const retry = $("detail-retry");
    if (!detail) {
      retry.hidden = true;
      summary.replaceChildren(el("p", { class: "empty", text: "Loading…" }));
      $("detail-data-block").hidden = true;
      $("items-body").replaceChildren();
      $("log-body").replaceChildren();
      cancel.hidden = true;
      $("items-more").hidden = true;
      $("items-shown").hidden = true;
      $("log-more").hidden = true;
      return;
    }
    const job = detail.job;
    const c = job.items;
    const pair = (label, value, testid) =>
      el("div", {}, el("dt", { text: label }), el("dd", { "data-testid": testid }, value));
    const fields = [
      pair("Job Status", badge(job.status, job.status_label, "detail-status"), "detail-status-cell"),
      pair("Job Type", job.job_type_label, "detail-type"),
      pair("Amazon Account", `${accountName(job.account.id, job.account.name)} (${job.account.id})`, "detail-account"),
      pair("Shop", job.shop_id),
      pair("Created Date", formatDate(job.created_at)),
      pair("Last Update Date", formatDate(job.updated_at)),
      pair(
        "Items",
        c.total
          ? `${c.total} total: ${c.accepted} accepted, ${c.warning} warning, ${c.error} error, ${c.pending} pending, ${c.canceled} canceled`
          : "none",
        "detail-items",
      ),
      pair("Events", String(job.seq)),
    ];
    const jobLink = (id) =>
      el("button", { type: "button", class: "btn btn-link mono", text: id, onclick: () => openDetail(id, "status") });
    if (job.retry_of) fields.push(pair("Retry of", jobLink(job.retry_of), "detail-retry-of"));
    if (job.retried_by && job.retried_by.length) {
      const links = job.retried_by.flatMap((id, i) => [i ? ", " : null, jobLink(id)]);
      fields.push(pair("Retried by", links, "detail-retried-by"));
    }
    summary.replaceChildren(...fields);
    // What the pipeline recorded about the job at Amazon (feed/report ids, counts, …).
    const data = Object.entries(job.data || {}).slice(0, 40);
    $("detail-data").replaceChildren(
      ...data.map(([key, value]) => {
        const text = compact(value);
        return pair(key.replace(/_/g, " "), text.length > 300 ? `${text.slice(0, 300)}…` : text);
      }),
    );
    $("detail-data-block").hidden = data.length === 0;
    cancel.hidden = !job.cancelable;
    cancel.disabled = state.pendingCancel.has(job.id);
    retry.hidden = !["done", "error", "canceled"].includes(job.status);

    $("items-body").replaceChildren(
      ...detail.items.map((item) =>
        el(
          "tr",
          { "data-testid": "item-row", "data-key": item.key },
          el("td", { class: "mono", text: item.key }),
          el("td", {}, badge(item.status, item.status, "item-status")),
          el("td", { class: "request", text: compact(item.request) }),
          el(
            "td",
            {},
            item.messages.length
              ? el("ul", { class: "messages" }, item.messages.map((m) => el("li", { text: m })))
              : "—",
          ),
          dateCell(item.updated_at),
        ),
      ),
    );
    $("items-empty").hidden = detail.items.length > 0;
    $("items-more").hidden = !detail.itemsCursor;
    // A job of 25,000 items is read a page at a time: say how far the list goes.
    $("items-shown").hidden = !detail.itemsCursor;
    $("items-shown").textContent = `${detail.items.length} of ${c.total} items shown`;

    $("log-body").replaceChildren(
      ...detail.log.map((line) =>
        el(
          "tr",
          { "data-testid": "log-row", class: `log-${line.level}` },
          dateCell(line.at),
          el("td", {}, badge(line.level, line.level, "log-level")),
          el("td", { "data-testid": "log-message", text: line.message }),
          el("td", { class: "mono", text: line.event_type }),
        ),
      ),
    );
    $("log-empty").hidden = detail.log.length > 0;
    $("log-more").hidden = !detail.logCursor;
  }

  // --------------------------------------------------------------------------- quotas

  async function loadQuotas() {
    try {
      const rows = await allPages("/v1/throttle", {});
      clearError("quotas");
      renderQuotas(rows);
    } catch (err) {
      setError("quotas", err);
    }
  }

  function renderQuotas(rows) {
    $("quota-body").replaceChildren(
      ...rows.map((q) => {
        const share = q.burst > 0 ? Math.max(0, Math.min(1, q.tokens / q.burst)) : 0;
        const fill = el("div", {
          class: `meter-fill${q.tokens < 1 ? " empty" : share < 0.34 ? " low" : ""}`,
          style: `width: ${Math.round(share * 100)}%`,
        });
        const drained = q.drained_until && new Date(q.drained_until).getTime() > Date.now();
        return el(
          "tr",
          { "data-testid": "quota-row", "data-seller": q.seller_id, "data-class": q.quota_class },
          el("td", {}, sellerAccounts(q.seller_id, q.region), el("span", { class: "sub", text: q.seller_id })),
          el("td", { text: q.region }),
          el("td", { title: q.quota_class, text: QUOTAS[q.quota_class] || q.quota_class }),
          el(
            "td",
            {},
            el(
              "div",
              { class: "meter" },
              el(
                "div",
                {
                  class: "meter-bar",
                  role: "meter",
                  "aria-valuemin": "0",
                  "aria-valuemax": String(q.burst),
                  "aria-valuenow": String(q.tokens),
                  "aria-label": "tokens available",
                },
                fill,
              ),
              el("span", { class: "num", "data-testid": "quota-tokens", text: `${Math.floor(q.tokens * 10) / 10} / ${q.burst}` }),
            ),
          ),
          el("td", { text: restoreRate(q.rate_per_s) }),
          el(
            "td",
            { class: "num" },
            q.hourly_cap ? `${q.used_last_hour ?? 0} / ${q.hourly_cap}` : q.used_last_hour ?? "—",
          ),
          el("td", { class: "num", "data-testid": "quota-queue", text: String(q.queue_depth) }),
          el(
            "td",
            { title: q.next_grant_at || "" },
            q.next_grant_at ? relative(q.next_grant_at) : q.queue_depth ? "waiting" : "—",
            drained ? el("span", { class: "row-note", text: `Amazon throttled until ${formatDate(q.drained_until)}` }) : null,
          ),
          el("td", { title: q.updated_at, text: relative(q.updated_at) }),
        );
      }),
    );
    $("quota-empty").hidden = rows.length > 0;
  }

  // ------------------------------------------------------------------------ schedules

  function every(seconds) {
    const parts = [];
    for (const [size, unit] of [[86400, "d"], [3600, "h"], [60, "min"], [1, "s"]]) {
      const n = Math.floor(seconds / size);
      seconds -= n * size;
      if (n) parts.push(`${n} ${unit}`);
    }
    return parts.join(" ") || "0 s";
  }

  async function loadSchedules() {
    try {
      const rows = await allPages("/v1/schedules", { limit: 500 });
      clearError("schedules");
      renderSchedules(rows);
    } catch (err) {
      setError("schedules", err);
    }
  }

  async function changeSchedule(row, change) {
    try {
      if (change === "delete") await api(`/v1/schedules/${encodeURIComponent(row.id)}`, { method: "DELETE" });
      else await api(`/v1/schedules/${encodeURIComponent(row.id)}`, { method: "PATCH", body: { paused: change === "pause" } });
      notice(`Schedule ${row.id} ${change === "delete" ? "deleted" : change === "pause" ? "paused" : "resumed"}.`, "ok");
      window.setTimeout(loadSchedules, 500); // the projection shows it within a moment
    } catch (err) {
      notice(`Schedule ${row.id} could not be changed: ${err.message}`, "error");
    }
  }

  function renderSchedules(rows) {
    $("schedule-body").replaceChildren(
      ...rows.map((s) =>
        el(
          "tr",
          { "data-testid": "schedule-row", "data-id": s.id },
          el("td", {}, accountName(s.account_id, null), el("span", { class: "sub", text: s.account_id })),
          el("td", { title: s.id, text: JOB_TYPES[s.job_type] || s.job_type }),
          el("td", { text: every(s.interval_s) }),
          el("td", {}, badge(s.paused ? "reserved" : "done", s.paused ? "Paused" : "Active", "schedule-state")),
          dateCell(s.created_at),
          el(
            "td",
            { class: "actions" },
            el("button", {
              type: "button",
              class: "btn btn-default btn-sm",
              "data-testid": s.paused ? "schedule-resume" : "schedule-pause",
              text: s.paused ? "Resume" : "Pause",
              onclick: () => changeSchedule(s, s.paused ? "resume" : "pause"),
            }),
            " ",
            el("button", {
              type: "button",
              class: "btn btn-danger btn-sm",
              "data-testid": "schedule-delete",
              text: "Delete",
              onclick: () => changeSchedule(s, "delete"),
            }),
          ),
        ),
      ),
    );
    $("schedule-empty").hidden = rows.length > 0;
  }

  function renderScheduleAccounts() {
    const select = $("schedule-account");
    const current = select.value;
    const sorted = [...state.accounts.values()].sort((a, b) => a.name.localeCompare(b.name));
    select.replaceChildren(...sorted.map((a) => el("option", { value: a.id, text: `${a.name} (${a.region})` })));
    if (current && state.accounts.has(current)) select.value = current;
  }

  async function addSchedule(event) {
    event.preventDefault();
    const minutes = Number($("schedule-every").value);
    const body = {
      account_id: $("schedule-account").value,
      job_type: $("schedule-type").value,
      interval_s: Math.round(minutes * 60),
    };
    try {
      const row = await api("/v1/schedules", { method: "POST", body });
      notice(`Schedule ${row.id} added: the first run starts now.`, "ok");
      window.setTimeout(loadSchedules, 500);
    } catch (err) {
      notice(`The schedule was not added: ${err.message}`, "error");
    }
  }

  // ------------------------------------------------------------------- live refresh

  function renderLiveState() {
    const live = $("live-state");
    const failing = state.errors.size > 0;
    const when = state.lastOk ? ` · updated ${formatTime(state.lastOk)}` : "";
    live.className = `live-state${state.live && !failing ? " on" : ""}${failing ? " failing" : ""}`;
    live.textContent = failing ? `Problem loading data — retrying${when}` : state.live ? `Live${when}` : `Paused${when}`;
  }

  async function refreshAll() {
    state.ticks += 1;
    const work = [queueJobs(() => loadJobs()), loadQuotas(), loadSchedules()];
    if (state.selected) work.push(loadDetail());
    if (state.ticks % ACCOUNTS_EVERY === 0) work.push(loadAccounts());
    await Promise.all(work);
  }

  let refreshing = null;

  function refreshNow() {
    if (!state.key) return Promise.resolve();
    if (!refreshing) {
      refreshing = refreshAll().finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  function schedule() {
    window.clearTimeout(state.timer);
    state.timer = null;
    if (!state.key || !state.live) return;
    state.timer = window.setTimeout(async () => {
      if (!document.hidden) await refreshNow();
      schedule();
    }, REFRESH_MS);
  }

  // -------------------------------------------------------------------- sign in/out

  async function signIn(event) {
    event.preventDefault();
    const key = $("api-key").value.trim();
    const error = $("login-error");
    error.hidden = true;
    if (!key) {
      error.textContent = "Enter an API key.";
      error.hidden = false;
      $("api-key").focus();
      return;
    }
    const button = $("login-submit");
    button.disabled = true;
    button.textContent = "Signing in…";
    try {
      await api("/v1/accounts", { params: { limit: 1 }, key });
      window.sessionStorage.setItem(KEY_STORAGE, key);
      $("api-key").value = "";
      start(key);
    } catch (err) {
      error.textContent =
        err.status === 401
          ? "This API key was not accepted. Check it and try again."
          : `Sign in failed: ${err.message}${err.status ? ` (HTTP ${err.status})` : ""}`;
      error.hidden = false;
      $("api-key").focus();
    } finally {
      button.disabled = false;
      button.textContent = "Sign in";
    }
  }

  function start(key) {
    state.key = key;
    $("login").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = false;
    readFiltersFromUrl();
    showFilters();
    loadAccounts().then(showFilters);
    queueJobs(() => loadJobs());
    loadQuotas();
    loadSchedules();
    schedule();
  }

  function logout(message) {
    window.sessionStorage.removeItem(KEY_STORAGE);
    window.clearTimeout(state.timer);
    state.key = null;
    state.generation += 1;
    state.rows = [];
    state.nextCursor = null;
    state.loaded = false;
    state.selected = null;
    state.detail = null;
    state.errors.clear();
    state.pendingCancel.clear();
    state.rowNotes.clear();
    state.accounts.clear();
    rowNodes.clear();
    $("jobs-body").replaceChildren();
    $("quota-body").replaceChildren();
    $("schedule-body").replaceChildren();
    $("error-banner").hidden = true;
    $("notice").hidden = true;
    $("detail").hidden = true;
    $("app").hidden = true;
    $("logout").hidden = true;
    $("who").hidden = true;
    $("login").hidden = false;
    const error = $("login-error");
    error.textContent = message || "";
    error.hidden = !message;
    $("api-key").focus();
    document.dispatchEvent(new CustomEvent("amazonjobs:signedout"));
  }

  // --------------------------------------------------------------------------- wiring

  function wire() {
    fillStaticSelects();
    $("login-form").addEventListener("submit", signIn);
    $("logout").addEventListener("click", (event) => {
      event.preventDefault();
      logout();
    });
    $("filters").addEventListener("change", onFilterChange);
    $("filters").addEventListener("submit", (event) => event.preventDefault());
    $("filters").addEventListener("reset", () => window.setTimeout(onFilterChange, 0));
    $("load-more").addEventListener("click", () => queueJobs(loadMore));
    $("schedule-form").addEventListener("submit", addSchedule);
    $("refresh").addEventListener("click", () => refreshNow());
    $("live-toggle").addEventListener("change", (event) => {
      state.live = event.target.checked;
      renderLiveState();
      if (state.live) refreshNow();
      schedule();
    });
    $("detail-close").addEventListener("click", closeDetail);
    $("detail-cancel").addEventListener("click", () => {
      if (state.detail) cancelJob(state.detail.job);
    });
    $("detail-retry").addEventListener("click", () => {
      if (state.detail) retryJob(state.detail.job);
    });
    $("select-page").addEventListener("change", (event) => {
      for (const r of state.rows) {
        if (event.target.checked) state.checked.add(r.id);
        else state.checked.delete(r.id);
      }
      renderJobs();
    });
    $("select-matching").addEventListener("change", (event) => {
      state.allMatching = event.target.checked;
      renderJobs();
    });
    $("bulk-cancel").addEventListener("click", () => runBulk("cancel"));
    $("bulk-retry").addEventListener("click", () => runBulk("retry"));
    $("items-more").addEventListener("click", () => moreDetail("items"));
    $("log-more").addEventListener("click", () => moreDetail("log"));
    for (const name of ["status", "log"]) {
      $(`tab-${name}`).addEventListener("click", () => selectTab(name));
      $(`tab-${name}`).addEventListener("keydown", (event) => {
        if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
          const other = name === "status" ? "log" : "status";
          selectTab(other);
          $(`tab-${other}`).focus();
        }
      });
    }
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && state.live) refreshNow();
    });
    const saved = window.sessionStorage.getItem(KEY_STORAGE);
    if (saved) start(saved);
    else $("api-key").focus();
  }

  // What the page's other scripts (create.js) use of it.
  window.amazonJobs = {
    api,
    el,
    jobTypes: JOB_TYPES,
    accounts: () => [...state.accounts.values()],
    openDetail,
    refreshNow,
    reportError: setError,
  };

  document.addEventListener("DOMContentLoaded", wire);
})();
