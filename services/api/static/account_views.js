/* An account's data on the Amazon Jobs page: its listings (sync state per SKU and
 * marketplace), the rows of its latest inventory report, and its imported orders — a page
 * at a time with the API's cursor (GET /v1/accounts/{id}/listings, /inventory, /orders).
 *
 * On its own beside app.js, like issues.js. Every value from the API goes in as text.
 */
"use strict";

(() => {
  const PAGE = 50;
  const money = (price, currency) => (price === null || price === undefined ? "—" : `${price} ${currency || ""}`.trim());
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
  const VIEWS = {
    listings: {
      caption: "Listings of the account, by SKU",
      empty: "No listing of this account is known yet.",
      columns: [
        ["SKU", (r) => r.sku, "id"],
        ["Marketplace", (r) => r.marketplace_id],
        ["ASIN", (r) => r.asin || "—", "mono"],
        ["Status", (r) => r.status],
        ["Quantity", (r) => r.quantity ?? "—", "num"],
        ["Price", (r) => money(r.price, r.currency), "num"],
        ["Last job", (r) => r.last_job_id || "—", "id"],
        ["Updated", (r) => when(r.updated_at)],
      ],
    },
    inventory: {
      caption: "Rows of the account's latest inventory report, by SKU",
      empty: "No inventory report of this account has been imported yet.",
      columns: [
        ["SKU", (r) => r.sku, "id"],
        ["Marketplace", (r) => r.marketplace_id],
        ["ASIN", (r) => r.asin || "—", "mono"],
        ["Title", (r) => r.title || "—"],
        ["Quantity", (r) => r.quantity ?? "—", "num"],
        ["Price", (r) => money(r.price, null), "num"],
        ["Status", (r) => r.status || "—"],
        ["Report job", (r) => r.job_id || "—", "id"],
      ],
    },
    orders: {
      caption: "Imported orders of the account, newest purchase first",
      empty: "No order of this account has been imported yet.",
      columns: [
        ["Order", (r) => r.amazon_order_id, "id"],
        ["Status", (r) => r.status],
        ["Purchased", (r) => when(r.purchased_at)],
        ["Total", (r) => money(r.total, r.currency), "num"],
        ["Lines", (r) => (r.items || []).length, "num"],
        ["Import job", (r) => r.job_id || "—", "id"],
      ],
    },
  };

  const $ = (id) => document.getElementById(id);
  let view = "listings";
  let cursors = [null]; // the cursor of each page shown so far; the last is this page's
  let next = null;
  let generation = 0;

  function el(tag, attrs = {}, value = null) {
    const node = document.createElement(tag);
    for (const [name, attr] of Object.entries(attrs)) node.setAttribute(name, attr);
    if (value !== null && value !== undefined) node.textContent = String(value);
    return node;
  }

  // The page's one API call (app.js): the signed-in key, the API's error messages.
  function get(path, params) {
    return window.amazonJobs.api(path, { params });
  }


  function showError(message) {
    const alert = $("account-data-error");
    alert.textContent = message || "";
    alert.hidden = !message;
  }

  async function loadAccounts() {
    const select = $("account-data-account");
    const chosen = select.value;
    const page = await get("/v1/accounts", { limit: 500 });
    select.replaceChildren(
      ...page.data
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((a) => el("option", { value: a.id }, `${a.name} (${a.id})`)),
    );
    if (page.data.some((a) => a.id === chosen)) select.value = chosen;
  }

  function selectTab(name) {
    view = name;
    for (const tab of document.querySelectorAll("#account-data [role=tab]")) {
      const on = tab.dataset.view === name;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    cursors = [null];
    load();
  }

  async function load() {
    const account = $("account-data-account").value;
    const mine = ++generation;
    const spec = VIEWS[view];
    const table = $("account-data-table");
    table.querySelector("caption").textContent = spec.caption;
    const head = el("tr");
    for (const [label, , kind] of spec.columns) head.append(el("th", { scope: "col", class: kind || "" }, label));
    table.tHead.replaceChildren(head);
    if (!account) {
      render(spec, []);
      return;
    }
    const path = `/v1/accounts/${encodeURIComponent(account)}/${view}`;
    try {
      const page = await get(path, { limit: PAGE, cursor: cursors[cursors.length - 1] });
      if (mine !== generation) return;
      next = page.next_cursor;
      showError("");
      render(spec, page.data);
    } catch (err) {
      if (mine === generation) showError(`The account's ${view} could not be loaded: ${err.message}`);
    }
  }

  function render(spec, rows) {
    $("account-data-body").replaceChildren(
      ...rows.map((row) => {
        const tr = el("tr", { "data-testid": `${view}-row` });
        for (const [, value, kind] of spec.columns) tr.append(el("td", { class: kind || "" }, value(row)));
        return tr;
      }),
    );
    const empty = $("account-data-empty");
    empty.textContent = spec.empty;
    empty.hidden = rows.length > 0;
    $("account-data-prev").disabled = cursors.length <= 1;
    $("account-data-next").disabled = !next || rows.length === 0;
    $("account-data-page").textContent = rows.length ? `Page ${cursors.length}` : "";
  }

  function wire() {
    if (!$("account-data")) return;
    for (const tab of document.querySelectorAll("#account-data [role=tab]")) {
      tab.addEventListener("click", () => selectTab(tab.dataset.view));
      tab.addEventListener("keydown", (event) => {
        const tabs = [...document.querySelectorAll("#account-data [role=tab]")];
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (!step) return;
        const target = tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length];
        target.focus();
        selectTab(target.dataset.view);
      });
    }
    $("account-data-account").addEventListener("change", () => { cursors = [null]; load(); });
    $("account-data-refresh").addEventListener("click", load);
    $("account-data-next").addEventListener("click", () => { if (next) { cursors.push(next); load(); } });
    $("account-data-prev").addEventListener("click", () => { if (cursors.length > 1) { cursors.pop(); load(); } });
    const app = $("app");
    const follow = async () => {
      generation += 1;
      cursors = [null];
      next = null;
      if (app.hidden) {
        $("account-data-account").replaceChildren();
        $("account-data-body").replaceChildren();
        showError("");
        return;
      }
      try {
        await loadAccounts();
        await load();
      } catch (err) {
        showError(`Accounts could not be loaded: ${err.message}`);
      }
    };
    new MutationObserver(follow).observe(app, { attributes: true, attributeFilter: ["hidden"] });
    if (!app.hidden) follow();
  }

  document.addEventListener("DOMContentLoaded", wire);
})();
