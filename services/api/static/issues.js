/* Listing issues on the Amazon Jobs page: per account, the errors and warnings of Amazon's
 * latest result for each listing, newest first (GET /v1/accounts/{id}/listing-issues).
 *
 * On its own beside app.js: it reads the signed-in key where app.js keeps it
 * (sessionStorage, this tab only), loads when the jobs screen is shown, and empties when
 * it is hidden (log out). Every value from the API goes in as text, never as HTML.
 */
"use strict";

(() => {
  const PAGE = 500;
  const MAX_PAGES = 20;
  const SEVERITY_BADGE = { error: "badge-error", warning: "badge-processing" };

  const $ = (id) => document.getElementById(id);
  let generation = 0; // bumped on each load: an older answer is dropped

  function text(tag, value, attrs = {}) {
    const node = document.createElement(tag);
    for (const [name, attr] of Object.entries(attrs)) node.setAttribute(name, attr);
    node.textContent = value === null || value === undefined ? "" : String(value);
    return node;
  }

  // The page's one API call (app.js): the signed-in key, the API's error messages.
  function get(path, params) {
    return window.amazonJobs.api(path, { params });
  }


  async function pages(path, params) {
    const rows = [];
    let cursor = null;
    for (let n = 0; n < MAX_PAGES; n += 1) {
      const page = await get(path, { ...params, cursor });
      rows.push(...page.data);
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    return rows;
  }

  function showError(message) {
    const alert = $("issues-error");
    alert.textContent = message || "";
    alert.hidden = !message;
  }

  async function loadAccounts() {
    const select = $("issues-account");
    try {
      const accounts = await pages("/v1/accounts", { limit: PAGE });
      const chosen = select.value;
      select.replaceChildren(
        ...accounts
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((a) => {
            const option = text("option", `${a.name} (${a.id})`);
            option.value = a.id;
            return option;
          }),
      );
      if (accounts.some((a) => a.id === chosen)) select.value = chosen;
      showError("");
      await loadIssues();
    } catch (err) {
      showError(`Accounts could not be loaded: ${err.message}`);
    }
  }

  async function loadIssues() {
    const account = $("issues-account").value;
    const mine = ++generation;
    if (!account) {
      render([]);
      return;
    }
    const path = `/v1/accounts/${encodeURIComponent(account)}/listing-issues`;
    try {
      const rows = await pages(path, { limit: PAGE, severity: $("issues-severity").value });
      if (mine !== generation) return;
      showError("");
      render(rows);
    } catch (err) {
      if (mine === generation) showError(`Listing issues could not be loaded: ${err.message}`);
    }
  }

  /** A table row per issue; a listing's SKU, job and time on its first. */
  function render(rows) {
    const body = $("issues-body");
    const lines = [];
    for (const listing of rows) {
      listing.issues.forEach((issue, n) => {
        const tr = document.createElement("tr");
        tr.setAttribute("data-testid", "issue-row");
        tr.setAttribute("data-sku", listing.sku);
        const first = n === 0;
        tr.append(
          text("td", first ? listing.sku : "", { class: "mono" }),
          text("td", first ? listing.marketplace_id : ""),
        );
        const severity = document.createElement("td");
        severity.append(text("span", issue.severity, { class: `badge ${SEVERITY_BADGE[issue.severity] || ""}` }));
        const where = issue.attribute_names.length ? ` [${issue.attribute_names.join(", ")}]` : "";
        tr.append(
          severity,
          text("td", issue.code || "—", { class: "mono" }),
          text("td", issue.message + where),
          text("td", first ? listing.job_id : "", { class: "mono" }),
          text("td", first ? new Date(listing.reported_at).toLocaleString() : ""),
        );
        lines.push(tr);
      });
    }
    body.replaceChildren(...lines);
    $("issues-empty").hidden = rows.length > 0;
  }

  function wire() {
    const section = $("issues");
    if (!section) return;
    $("issues-account").addEventListener("change", loadIssues);
    $("issues-severity").addEventListener("change", loadIssues);
    $("issues-refresh").addEventListener("click", loadIssues);
    // The jobs screen (#app) is shown on sign in and hidden on log out.
    const app = $("app");
    const follow = () => {
      if (app.hidden) {
        generation += 1;
        $("issues-account").replaceChildren();
        render([]);
        showError("");
      } else {
        loadAccounts();
      }
    };
    new MutationObserver(follow).observe(app, { attributes: true, attributeFilter: ["hidden"] });
    if (!app.hidden) loadAccounts();
  }

  document.addEventListener("DOMContentLoaded", wire);
})();
