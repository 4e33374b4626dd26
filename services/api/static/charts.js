/* Charts on the Amazon Jobs page: jobs per hour by status (GET /v1/stats/jobs) and, for one
 * account, its seller's quota buckets over time: tokens and queue (GET /v1/stats/quotas).
 *
 * Plain SVG drawn here, no library. Each chart is an image to assistive technology
 * (role="img", a <title> and an aria-label saying what it shows) and its numbers are also
 * in a visually hidden table beside it. On its own beside app.js, like issues.js: it reads
 * the signed-in key where app.js keeps it and follows #app being shown or hidden.
 */
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const HOURS = 24;
  const REFRESH_MS = 30000;
  // Status colours: each at least 3:1 against white (WCAG 1.4.11, graphical objects).
  const STATUS_COLOURS = {
    reserved: "#6b7780",
    created: "#156a7e",
    processing: "#8a6100",
    waiting_for_result: "#6a4c93",
    done: "#2f7a3e",
    error: "#c0392b",
    canceled: "#4a4f55",
  };
  const STATUSES = Object.keys(STATUS_COLOURS);
  const W = 720;
  const H = 200;
  const PAD = { left: 40, right: 12, top: 12, bottom: 28 };

  const $ = (id) => document.getElementById(id);
  let generation = 0;
  let timer = null;

  function el(tag, attrs = {}, textValue = null) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (textValue !== null) node.textContent = String(textValue);
    return node;
  }

  function svg(tag, attrs = {}, textValue = null) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    if (textValue !== null) node.textContent = String(textValue);
    return node;
  }

  // The page's one API call (app.js): the signed-in key, the API's error messages.
  function get(path, params) {
    return window.amazonJobs.api(path, { params });
  }


  /** A round upper bound for an axis (1, 2, 5 x 10^n) at or above ``value``. */
  function niceMax(value) {
    if (value <= 0) return 1;
    const power = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
    return 10 * power;
  }

  function hourLabel(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  /** The frame of a chart: the <svg> with its title, y grid and labels. */
  function frame(id, title, description, yMax) {
    const root = svg("svg", {
      viewBox: `0 0 ${W} ${H}`,
      role: "img",
      "aria-labelledby": `${id}-title ${id}-desc`,
      class: "chart",
      "data-testid": id,
      preserveAspectRatio: "xMidYMid meet",
    });
    root.append(svg("title", { id: `${id}-title` }, title), svg("desc", { id: `${id}-desc` }, description));
    const plotH = H - PAD.top - PAD.bottom;
    for (const fraction of [0, 0.5, 1]) {
      const y = PAD.top + plotH * (1 - fraction);
      root.append(
        svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "chart-grid" }),
        svg("text", { x: PAD.left - 6, y: y + 4, class: "chart-axis", "text-anchor": "end" }, Math.round(yMax * fraction * 10) / 10),
      );
    }
    return root;
  }

  function hiddenTable(caption, headers, rows) {
    const table = el("table", { class: "visually-hidden" });
    table.append(el("caption", {}, caption));
    const head = el("tr");
    for (const h of headers) head.append(el("th", { scope: "col" }, h));
    const thead = el("thead");
    thead.append(head);
    table.append(thead);
    const body = el("tbody");
    for (const row of rows) {
      const tr = el("tr");
      row.forEach((value, n) => tr.append(el(n === 0 ? "th" : "td", n === 0 ? { scope: "row" } : {}, value)));
      body.append(tr);
    }
    table.append(body);
    return table;
  }

  function legend(entries) {
    const list = el("ul", { class: "chart-legend", "aria-hidden": "true" });
    for (const [label, colour, dashed] of entries) {
      const item = el("li");
      item.append(el("span", { class: `chart-swatch${dashed ? " chart-swatch-dashed" : ""}`, style: `--swatch: ${colour}` }), document.createTextNode(label));
      list.append(item);
    }
    return list;
  }

  /** Stacked bars: one per hour, a segment per status reached in it. */
  function jobsChart(hours, scope) {
    const totals = hours.map((h) => Object.values(h.counts).reduce((a, b) => a + b, 0));
    const all = totals.reduce((a, b) => a + b, 0);
    const yMax = niceMax(Math.max(...totals, 1));
    const byStatus = {};
    for (const h of hours) for (const [s, n] of Object.entries(h.counts)) byStatus[s] = (byStatus[s] || 0) + n;
    const summary = Object.entries(byStatus).map(([s, n]) => `${n} ${s.replaceAll("_", " ")}`).join(", ");
    const title = `Jobs per hour by status, last ${hours.length} hours, ${scope}`;
    const root = frame("chart-jobs", title, all ? `${all} status changes: ${summary}.` : "No job changed status in these hours.", yMax);
    const plotW = W - PAD.left - PAD.right;
    const plotH = H - PAD.top - PAD.bottom;
    const slot = plotW / hours.length;
    hours.forEach((h, n) => {
      const x = PAD.left + n * slot + slot * 0.15;
      let y = PAD.top + plotH;
      for (const status of STATUSES.concat(Object.keys(h.counts).filter((s) => !STATUSES.includes(s)))) {
        const count = h.counts[status];
        if (!count) continue;
        const height = (count / yMax) * plotH;
        y -= height;
        const bar = svg("rect", {
          x, y, width: slot * 0.7, height, fill: STATUS_COLOURS[status] || "#4a4f55",
          "data-testid": "bar", "data-status": status, "data-count": count,
        });
        bar.append(svg("title", {}, `${hourLabel(h.hour)}: ${count} ${status.replaceAll("_", " ")}`));
        root.append(bar);
      }
      if (n % 3 === 0) {
        root.append(svg("text", { x: PAD.left + n * slot + slot / 2, y: H - 8, class: "chart-axis", "text-anchor": "middle" }, hourLabel(h.hour)));
      }
    });
    const present = STATUSES.filter((s) => byStatus[s]);
    const table = hiddenTable(
      title,
      ["Hour", ...present.map((s) => s.replaceAll("_", " "))],
      hours.filter((h, n) => totals[n]).map((h) => [hourLabel(h.hour), ...present.map((s) => h.counts[s] || 0)]),
    );
    return [root, legend(present.map((s) => [s.replaceAll("_", " "), STATUS_COLOURS[s]])), table];
  }

  /** Tokens (solid) and queue (dashed) of one quota bucket over the chart's span. */
  function quotaChart(series, account, start, end) {
    const id = `chart-quota-${series.quota_class}`;
    const points = series.points;
    const yMax = niceMax(Math.max(series.burst, ...points.map((p) => p.queue_depth), 1));
    const last = points[points.length - 1];
    const title = `${series.quota_class.replaceAll("_", " ")} quota of ${account}: tokens and queue, last ${HOURS} hours`;
    const description = `${points.length} samples; latest ${last.tokens.toFixed(1)} of ${series.burst} tokens, ${last.queue_depth} waiting.`;
    const root = frame(id, title, description, yMax);
    root.setAttribute("data-testid", "chart-quota");
    root.setAttribute("data-class", series.quota_class);
    const plotW = W - PAD.left - PAD.right;
    const plotH = H - PAD.top - PAD.bottom;
    const x = (at) => PAD.left + ((new Date(at) - start) / (end - start)) * plotW;
    const y = (v) => PAD.top + plotH * (1 - v / yMax);
    for (const [field, colour, dashed] of [["tokens", "#156a7e", false], ["queue_depth", "#c0392b", true]]) {
      // A bucket holds its value until the next sample: steps, carried on to now.
      const coords = [];
      points.forEach((p, n) => {
        if (n > 0) coords.push(`${x(p.at).toFixed(1)},${y(points[n - 1][field]).toFixed(1)}`);
        coords.push(`${x(p.at).toFixed(1)},${y(p[field]).toFixed(1)}`);
      });
      coords.push(`${x(end).toFixed(1)},${y(last[field]).toFixed(1)}`);
      root.append(svg("polyline", {
        points: coords.join(" "), fill: "none", stroke: colour, "stroke-width": 2,
        "stroke-dasharray": dashed ? "6 4" : "none", "data-testid": `line-${field}`,
      }));
      for (const p of points) root.append(svg("circle", { cx: x(p.at), cy: y(p[field]), r: 2.5, fill: colour, "data-testid": "point" }));
    }
    for (const at of [start, end]) {
      root.append(svg("text", { x: x(at), y: H - 8, class: "chart-axis", "text-anchor": at === start ? "start" : "end" }, hourLabel(at)));
    }
    const figure = el("figure", { class: "chart-figure" });
    figure.append(
      el("figcaption", {}, series.quota_class.replaceAll("_", " ")),
      root,
      hiddenTable(title, ["Time", "Tokens", "Queue"], points.map((p) => [new Date(p.at).toLocaleTimeString(), p.tokens.toFixed(1), p.queue_depth])),
    );
    return figure;
  }

  function showError(message) {
    const alert = $("charts-error");
    alert.textContent = message || "";
    alert.hidden = !message;
  }

  async function loadAccounts() {
    const select = $("charts-account");
    const chosen = select.value;
    const page = await get("/v1/accounts", { limit: 500 });
    const options = [el("option", { value: "" }, "All accounts")];
    for (const a of page.data.sort((p, q) => p.name.localeCompare(q.name))) {
      options.push(el("option", { value: a.id }, `${a.name} (${a.id})`));
    }
    select.replaceChildren(...options);
    if (page.data.some((a) => a.id === chosen)) select.value = chosen;
  }

  async function draw() {
    const mine = ++generation;
    const select = $("charts-account");
    const account = select.value;
    const scope = account ? select.selectedOptions[0].textContent : "all accounts";
    try {
      const jobs = await get("/v1/stats/jobs", { account_id: account, hours: HOURS });
      const quotas = account ? await get("/v1/stats/quotas", { account_id: account, hours: HOURS }) : null;
      if (mine !== generation) return;
      $("chart-jobs-box").replaceChildren(...jobsChart(jobs.hours, scope));
      const box = $("chart-quotas-box");
      if (!quotas) {
        box.replaceChildren(el("p", { class: "empty" }, "Choose an account to see its seller's quotas over time."));
      } else if (!quotas.series.length) {
        box.replaceChildren(el("p", { class: "empty" }, "No quota of this account's seller was used in these hours."));
      } else {
        const end = new Date();
        const start = new Date(end - HOURS * 3600 * 1000);
        const first = new Date(Math.min(...quotas.series.map((s) => new Date(s.points[0].at))));
        // A short history fills the width instead of a sliver at the right.
        const from = first > start ? new Date(first - 60000) : start;
        box.replaceChildren(
          legend([["tokens", "#156a7e", false], ["queue", "#c0392b", true]]),
          ...quotas.series.map((s) => quotaChart(s, scope, from, end)),
        );
      }
      showError("");
    } catch (err) {
      if (mine === generation) showError(`Charts could not be loaded: ${err.message}`);
    }
  }

  function wire() {
    if (!$("charts")) return;
    $("charts-account").addEventListener("change", draw);
    $("charts-refresh").addEventListener("click", draw);
    const app = $("app");
    const follow = async () => {
      window.clearInterval(timer);
      generation += 1;
      if (app.hidden) {
        $("charts-account").replaceChildren();
        $("chart-jobs-box").replaceChildren();
        $("chart-quotas-box").replaceChildren();
        showError("");
        return;
      }
      try {
        await loadAccounts();
      } catch (err) {
        showError(`Accounts could not be loaded: ${err.message}`);
      }
      await draw();
      timer = window.setInterval(() => { if (!document.hidden) draw(); }, REFRESH_MS);
    };
    new MutationObserver(follow).observe(app, { attributes: true, attributeFilter: ["hidden"] });
    if (!app.hidden) follow();
  }

  document.addEventListener("DOMContentLoaded", wire);
})();
