/* The "New job" form of the Amazon Jobs page: any job type, items pasted as CSV or JSON.
 *
 * The items are read and checked in the browser (create_rules.js) before anything is
 * sent; the API's refusals are shown next to the field they name. The request carries a
 * job id made for this draft, so sending it again after a network error or a 503 is
 * never a second job (POST /v1/jobs takes a repeat of a job id as the same request).
 */
"use strict";

(() => {
  const R = window.JobFormRules;
  const FIELDS = ["account", "job_type", "marketplace", "items", "report_type", "since", "by", "page_size"];
  const ORDERS = new Set(["orders_import", "orders_fulfillment"]); // for the account, not a marketplace
  const APPEAR_POLL_MS = 500;
  const APPEAR_TRIES = 120; // a minute: then the list shows it when it comes

  const $ = (id) => document.getElementById(id);
  let page; // window.amazonJobs, the page's shared pieces (app.js)
  let draftId = null; // the job id of what the form holds now
  let sending = false;

  function newDraftId() {
    const bytes = new Uint8Array(6);
    window.crypto.getRandomValues(bytes);
    return `web-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }

  const jobType = () => $("create-type").value;
  const format = () => $("create-form").querySelector('input[name="format"]:checked').value;

  // ------------------------------------------------------------------------ the form

  function fillTypes() {
    const select = $("create-type");
    for (const [value, label] of Object.entries(page.jobTypes)) select.append(page.el("option", { value, text: label }));
  }

  function fillAccounts() {
    const select = $("create-account");
    const current = select.value;
    const accounts = page.accounts().sort((a, b) => a.name.localeCompare(b.name));
    select.replaceChildren(
      ...accounts.map((a) => page.el("option", { value: a.id, text: `${a.name} (${a.region})` })),
    );
    if (accounts.some((a) => a.id === current)) select.value = current;
    fillMarketplaces();
  }

  function fillMarketplaces() {
    const select = $("create-marketplace");
    const current = select.value;
    const account = page.accounts().find((a) => a.id === $("create-account").value);
    const ids = account ? account.marketplace_ids : [];
    select.replaceChildren(
      page.el("option", { value: "", text: "Every marketplace" }),
      ...ids.map((id) => page.el("option", { value: id, text: id })),
    );
    if (ids.includes(current)) select.value = current;
  }

  /** Show the fields of the chosen job type, and what its items look like. */
  function showType() {
    const type = jobType();
    const withItems = R.takesItems(type);
    for (const group of $("create-form").querySelectorAll("[data-for]")) {
      const want = group.dataset.for;
      group.hidden = want === "items" ? !withItems : want === "listings" ? ORDERS.has(type) : want !== type;
    }
    if (withItems) {
      const cols = R.columns(type);
      const json = format() === "json";
      const shape = type === "orders_fulfillment" && json
        ? "amazon_order_id, carrier, tracking_number, shipped_at and items: [{order_item_id, quantity}]"
        : cols.required.join(", ");
      const optional = cols.optional.length ? `; optional: ${cols.optional.join(", ")}` : "";
      const how = json ? "A JSON array of objects with" : "CSV with a header row of";
      const extra = type === "orders_fulfillment" && !json ? " One row per shipped line: the rows of one order make one item." : "";
      $("create-items-hint").textContent =
        `${how} ${shape}${optional}.${extra} At most ${R.MAX_ITEMS.toLocaleString("en-US")} items.`;
    }
  }

  function setOpen(open) {
    $("create-form").hidden = !open;
    $("create-toggle").setAttribute("aria-expanded", open ? "true" : "false");
    $("create-toggle").textContent = open ? "Hide form" : "New job…";
    if (open) $("create-account").focus();
  }

  // -------------------------------------------------------------------------- errors

  function control(field) {
    return $(field === "job_type" ? "create-type" : `create-${field}`);
  }

  /** Show each field's problems beside it (and the rest in the summary); the control
   *  is marked invalid and described by its problems. */
  function showErrors(problems, intro) {
    clearErrors();
    const byField = new Map();
    for (const p of problems) {
      // A problem of a field the form does not show now goes in the summary.
      const shown = FIELDS.includes(p.field) && !control(p.field).closest("[hidden]:not(form)");
      const field = shown ? p.field : "form";
      if (!byField.has(field)) byField.set(field, []);
      byField.get(field).push(p.message);
    }
    let first = null;
    for (const [field, messages] of byField) {
      if (field === "form") continue;
      const box = $(`create-${field}-error`);
      const input = control(field);
      box.replaceChildren(
        messages.length === 1
          ? messages[0]
          : page.el("ul", {}, messages.map((m) => page.el("li", { "data-testid": "create-error-row", text: m }))),
      );
      box.hidden = false;
      input.setAttribute("aria-invalid", "true");
      const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      input.setAttribute("aria-describedby", [...described, box.id].join(" "));
      if (!first) first = input;
    }
    const summary = $("create-summary");
    const general = byField.get("form") || [];
    const beside = problems.length - general.length;
    summary.replaceChildren(
      page.el("strong", { text: intro }),
      beside ? ` ${beside === 1 ? "One problem is" : `${beside} problems are`} shown next to the fields.` : "",
      ...general.map((m) => page.el("div", { "data-testid": "create-summary-message", text: m })),
    );
    summary.hidden = false;
    (first || summary).focus();
  }

  function clearErrors() {
    $("create-summary").hidden = true;
    for (const field of FIELDS) {
      const box = $(`create-${field}-error`);
      const input = control(field);
      box.hidden = true;
      box.replaceChildren();
      input.removeAttribute("aria-invalid");
      const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== box.id);
      if (described.length) input.setAttribute("aria-describedby", described.join(" "));
      else input.removeAttribute("aria-describedby");
    }
  }

  // ------------------------------------------------------------------------- sending

  /** The request from the form, or the problems that keep it from being sent. */
  function readForm() {
    const type = jobType();
    const problems = [];
    const accountId = $("create-account").value;
    if (!accountId) problems.push({ field: "account", message: "choose the account the job is for" });
    let items = null;
    let origins = [];
    const params = {};
    if (R.takesItems(type)) {
      const read = R.parseItems(type, format(), $("create-items").value);
      for (const e of read.errors) problems.push({ field: "items", message: e.where ? `${e.where}: ${e.message}` : e.message });
      items = read.items;
      origins = read.origins;
    } else if (type === "inventory_report") {
      params.report_type = $("create-report_type").value;
    } else {
      const since = R.zoned($("create-since").value);
      if (!since) problems.push({ field: "since", message: "give the date and time to import orders from" });
      else params.since = since;
      params.by = $("create-by").value;
      const size = Number($("create-page_size").value);
      if (!Number.isInteger(size) || size < 1 || size > 100) {
        problems.push({ field: "page_size", message: "must be a whole number from 1 to 100" });
      } else params.page_size = size;
    }
    const marketplaceId = ORDERS.has(type) ? "" : $("create-marketplace").value;
    const body = R.requestBody({ jobId: draftId, accountId, jobType: type, marketplaceId, items, params });
    return { body, origins, problems };
  }

  async function submit(event) {
    event.preventDefault();
    if (sending) return;
    const { body, origins, problems } = readForm();
    if (problems.length) {
      showErrors(problems, "Nothing was sent.");
      return;
    }
    clearErrors();
    sending = true;
    const button = $("create-submit");
    button.disabled = true;
    button.textContent = "Sending…";
    status(`Sending job ${body.job_id}…`);
    try {
      await page.api("/v1/jobs", { method: "POST", body });
    } catch (err) {
      failed(err, origins, body.job_id);
      return;
    } finally {
      sending = false;
      button.disabled = false;
      button.textContent = "Create job";
    }
    // Accepted: the next draft is another job; this one shows once the system has it.
    draftId = newDraftId();
    $("create-items").value = "";
    status(`Job ${body.job_id} requested; waiting for it to appear in the list…`);
    await showWhenThere(body.job_id);
  }

  function failed(err, origins, jobId) {
    status("");
    if (err.status === 401) {
      page.reportError("create", err);
      return;
    }
    if (err.status === 503 || err.status === 0) {
      showErrors(
        [{ field: "form", message: `${err.message}. Send it again: it keeps job id ${jobId}, so it is never created twice.` }],
        "The job could not be sent.",
      );
      return;
    }
    const problems = R.apiErrors(err.status, { error: { code: err.code, message: err.message } }, origins);
    showErrors(problems, `The API refused the job (HTTP ${err.status}).`);
  }

  async function showWhenThere(jobId) {
    for (let n = 0; n < APPEAR_TRIES; n += 1) {
      try {
        await page.api(`/v1/jobs/${encodeURIComponent(jobId)}`);
        await page.refreshNow();
        status(`Job ${jobId} created.`);
        page.openDetail(jobId, "status");
        return;
      } catch (err) {
        if (err.status === 401) {
          page.reportError("create", err);
          return;
        }
        // 404 until the projection has the job; anything else: try again too.
      }
      await new Promise((resolve) => window.setTimeout(resolve, APPEAR_POLL_MS));
    }
    status(`Job ${jobId} was requested; it shows in the list when the system takes it up.`);
  }

  function status(message) {
    $("create-status").textContent = message;
  }

  // -------------------------------------------------------------------------- wiring

  function wire() {
    page = window.amazonJobs;
    draftId = newDraftId();
    fillTypes();
    showType();
    const form = $("create-form");
    $("create-toggle").addEventListener("click", () => setOpen(form.hidden));
    $("create-account").addEventListener("change", fillMarketplaces);
    $("create-type").addEventListener("change", () => {
      clearErrors();
      showType();
    });
    // Another draft is another request: a new job id (the same one only for a resend).
    form.addEventListener("input", () => {
      draftId = newDraftId();
    });
    form.addEventListener("change", (event) => {
      if (event.target.name === "format") showType();
    });
    form.addEventListener("submit", submit);
    form.addEventListener("reset", () => {
      clearErrors();
      status("");
      draftId = newDraftId();
      window.setTimeout(() => {
        fillMarketplaces();
        showType();
      }, 0);
    });
    document.addEventListener("amazonjobs:accounts", fillAccounts);
    document.addEventListener("amazonjobs:signedout", () => {
      form.reset();
      setOpen(false);
    });
  }

  document.addEventListener("DOMContentLoaded", wire);
})();
