// The programme panel (seed 001): hidden drivers and training runs, from
// GET /v1/programme/drivers and GET /v1/runs.  Independent of app.js: it reads the same
// API key from sessionStorage and reloads when the key form is submitted.
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }
  function el(tag, parent, text, attrs) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) n.textContent = String(text);
    if (parent) parent.appendChild(n);
    return n;
  }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); return n; }
  function num(v) {
    if (v === null || v === undefined) return "n/a";
    if (typeof v !== "number") return String(v);
    return Math.abs(v) >= 1e-3 || v === 0 ? v.toPrecision(3).replace(/\.?0+$/, "") : v.toExponential(2);
  }
  function table(parent, heads, rows) {
    var wrap = el("div", parent, null, { "class": "tablewrap" });
    var t = el("table", wrap);
    var hr = el("tr", el("thead", t));
    heads.forEach(function (h) { el("th", hr, h); });
    var tb = el("tbody", t);
    rows.forEach(function (r) { var tr = el("tr", tb); r.forEach(function (v) { el("td", tr, v); }); });
    return t;
  }
  function get(path, key) {
    return fetch(path, { headers: { "Authorization": "Bearer " + key } }).then(function (r) {
      return r.json().then(function (d) {
        if (!r.ok) throw new Error(path + ": " + JSON.stringify(d.detail || d));
        return d;
      });
    });
  }
  function renderDrivers(doc) {
    var node = clear($("drivers"));
    table(node, ["driver", "value", "low..high", "label", "seed range", "outside seed range", "source", "note"],
      doc.drivers.map(function (d) {
        return [d.name, num(d.value) + (d.value === null ? "" : " " + d.unit),
                d.low === null ? "n/a" : num(d.low) + ".." + num(d.high), d.label || "n/a",
                d.seed_range ? num(d.seed_range[0]) + ".." + num(d.seed_range[1]) : "none quoted",
                d.outside_seed_range === null ? "-" : (d.outside_seed_range ? "OUTSIDE" : "inside"),
                d.source, d.note];
      }));
  }
  function renderRuns(doc) {
    var node = clear($("training-runs"));
    if (!doc.training.length) { el("div", node, "No runs in the ledger (infercarbon measure --ledger L --run-kind train --model M -- CMD, or POST /v1/runs).", { "class": "empty" }); return; }
    table(node, ["lineage", "runs", "failed", "killed", "failed share (runs)", "failed share (energy)",
                 "training g", "g per inference", "trailing-year g", "inference overtakes training"],
      doc.training.map(function (x) {
        return [x.lineage, x.all_runs, x.all_failed, x.all_killed, num(x.all_failed_share_frac),
                num(x.training_failed_energy_share_frac), num(x.training_g),
                num(x.training_g_per_inference), num(x.trailing_year_g), x.crossover_utc || "n/a"];
      }));
  }
  function load() {
    var key = sessionStorage.getItem("infercarbon.key");
    if (!key || !$("drivers")) return;
    get("/v1/programme/drivers", key).then(renderDrivers).catch(function (e) { clear($("drivers")).textContent = e.message; });
    get("/v1/runs?limit=1", key).then(renderRuns).catch(function (e) { clear($("training-runs")).textContent = e.message; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    load();
    var form = $("keyform");
    if (form) form.addEventListener("submit", function () { setTimeout(load, 0); });
  });
})();
