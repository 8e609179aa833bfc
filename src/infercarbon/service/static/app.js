/* infercarbon dashboard: vanilla JS, hand-drawn SVG, no external resources.
 * Reads the /v1 API with the API key held in sessionStorage (from the key form or a
 * #key=... URL fragment, which never reaches the server). */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var KINDS = ["location", "market", "marginal"];
  var COLORS = { location: "#2f6f4f", market: "#3a6ea5", marginal: "#b5562b" };
  var state = { key: null, summary: null, methodology: null };

  // ------------------------------------------------------------------ helpers
  function $(id) { return document.getElementById(id); }
  function svg(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) { if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    for (var k in (attrs || {})) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, attrs) {
    var t = svg("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = s;
    return t;
  }
  function num(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return "n/a";
    var a = Math.abs(v);
    if (a === 0) return "0";
    if (a >= 1e6 || a < 1e-3) return v.toExponential(digits === undefined ? 2 : digits);
    return v.toPrecision(digits === undefined ? 3 : digits).replace(/\.?0+$/, function (m) {
      return m.indexOf(".") === 0 && m.length > 1 ? "" : m;
    });
  }
  function fmt(v) { return num(v, 3); }
  function kwh(j) { return j / 3.6e6; }
  // human units where people read: the largest unit the value reaches (60.2 mg, 500 µWh)
  function scaled(v, units, digits) {
    if (v === null || v === undefined || !isFinite(v)) return "n/a";
    if (v === 0) return "0 " + units[2][1];
    var a = Math.abs(v), u = units[units.length - 1];
    for (var i = 0; i < units.length; i++) {
      if (a >= units[i][0] * (1 - 0.5 * Math.pow(10, 1 - digits))) { u = units[i]; break; }
    }
    return num(v / u[0], digits) + " " + u[1];
  }
  var MASS = [[1e6, "t"], [1e3, "kg"], [1, "g"], [1e-3, "mg"], [1e-6, "µg"], [1e-9, "ng"]];
  var ENERGY_WH = [[1e6, "MWh"], [1e3, "kWh"], [1, "Wh"], [1e-3, "mWh"], [1e-6, "µWh"], [1e-9, "nWh"]];
  function mass(g) { return scaled(g, MASS, 3); }
  function energy(j) { return scaled(j / 3600, ENERGY_WH, 3); }
  function price() {
    var p = parseFloat($("price").value);
    return isFinite(p) && p >= 0 ? p : null;
  }
  function banner(msg) {
    var b = $("banner");
    if (!msg) { b.hidden = true; b.textContent = ""; return; }
    b.hidden = false; b.textContent = msg;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function empty(node, msg) { clear(node); html("div", { "class": "empty" }, node, msg); }

  function api(path, opts) {
    opts = opts || {};
    var headers = { "Accept": "application/json" };
    if (state.key) headers["Authorization"] = "Bearer " + state.key;
    if (opts.body) headers["Content-Type"] = "application/json";
    return fetch(path, { method: opts.method || "GET", headers: headers,
                         body: opts.body ? JSON.stringify(opts.body) : undefined })
      .then(function (r) {
        return r.json().then(function (doc) {
          if (!r.ok) {
            var d = doc && doc.detail;
            // a list of field errors reads as "field: message; ..." (not as JSON)
            var msg = typeof d === "string" ? d
              : Array.isArray(d) && d.every(function (x) { return x && x.message; })
                ? d.map(function (x) { return (x.field ? x.field + ": " : "") + x.message; }).join("; ")
                : JSON.stringify(d);
            throw new Error("HTTP " + r.status + ": " + msg);
          }
          return doc;
        });
      });
  }

  // ------------------------------------------------------------------ cards
  var BAND_NOTE = "aggregate p5..p95: shared factors (grid intensity, PUE, idle power, embodied, " +
    "network) correlated within a profile x region x signal group; the energy band independent per event";
  function card(parent, label, value, range, method) {
    var c = html("div", { "class": "card" }, parent);
    html("div", { "class": "label" }, c, label);
    html("div", { "class": "value" }, c, value);
    if (range) html("div", { "class": "range" }, c, range);
    html("div", { "class": "method" }, c, method);
    return c;
  }
  function rangeText(t) {
    if (!t) return "no signal";
    var r = "p5..p95 " + mass(t.low) + " .. " + mass(t.high);
    var n = state.summary ? state.summary.events : t.events;
    return t.events < n ? r + " (only the " + t.events + " of " + n + " events with a signal)" : r;
  }
  // a gCO2e card: value, its p5..p95 band (data-* for tests and tools) and the band's note
  function bandCard(parent, label, t, method, s) {
    var c = card(parent, label, t ? mass(t.value) : "n/a", rangeText(t), method);
    if (!t) return c;
    c.setAttribute("data-value", t.value); c.setAttribute("data-low", t.low); c.setAttribute("data-high", t.high);
    var note = html("div", { "class": "band-note", title: s.range_method || BAND_NOTE }, null,
                    "correlated shared factors");
    c.insertBefore(note, c.querySelector(".method"));
    return c;
  }
  function pct(f) { return f === null || f === undefined || !isFinite(f) ? "n/a" : num(100 * f, 3) + " %"; }
  function idleTotal(rows) {
    var a = 0, i = 0, known = false;
    (rows || []).forEach(function (r) {
      a += r.active_j || 0;
      if (r.idle_attributed_j !== null) { known = true; i += r.idle_attributed_j + (r.idle_unattributed_j || 0); }
    });
    return known && a > 0 ? i / a : null;
  }

  function renderCards(s) {
    var root = clear($("cards"));
    var m = s.methodology_short || {};
    var how = s.energy_label || "as reported";
    card(root, "inferences", String(s.events), null, "events in the ledger visible to this key");
    card(root, "energy (IT, " + how + ")", energy(s.energy_j), fmt(s.energy_j) + " J",
         "sum of event energy_j; " + (m.energy || "as reported by the meter"));
    card(root, "energy (facility)", energy(s.facility_j), null,
         "IT energy x PUE x (1 + T&D loss); " + (m.pue || ""));
    KINDS.forEach(function (k) {
      bandCard(root, "gCO2e " + k, s.totals_g[k], (m[k] || k + "-based"), s)
        .setAttribute("data-card", "total-" + k);
    });
    KINDS.forEach(function (k) {
      bandCard(root, "per inference " + k, s.per_inference_g[k], "total / inferences (mean); band / inferences", s)
        .setAttribute("data-card", "per-" + k);
    });
    var lat = s.latency_s;
    card(root, "latency", lat ? fmt(lat.mean) + " s" : "n/a",
         lat ? "p50 " + fmt(lat.p50) + " s, p95 " + fmt(lat.p95) + " s" : null,
         "end_utc - start_utc of each event" +
         (lat && lat.quantiles && lat.quantiles.indexOf("histogram") >= 0
           ? "; p50/p95 from the rollup's histogram (4 buckets per decade: within x1.78)" : ""));
    var idle = s.idle || {};
    var share = idleTotal(idle.by_device);
    card(root, "idle share of active (modelled)", pct(share),
         "reference 30..50 % (seed 001, illustrative)",
         share === null ? "no idle power / utilisation in the deployment profiles: idle not modelled"
                        : "(attributed + unattributed idle energy) / active energy, all devices")
      .setAttribute("data-card", "idle-share");
    var costs = (s.cost && s.cost.by_currency) || [];
    if (!costs.length) {
      card(root, "energy cost (ledger)", "n/a", null, "no events with a footprint yet").setAttribute("data-card", "cost");
    }
    costs.forEach(function (c) {
      var priced = c.currency !== null && c.energy_cost !== null;
      card(root, "energy cost (ledger" + (priced ? ", " + c.currency : "") + ")",
           priced ? fmt(c.energy_cost) + " " + c.currency : "no price",
           c.footprints + " events" + (priced ? ", per inference " + fmt(c.energy_cost / Math.max(1, c.footprints)) + " " + c.currency : ""),
           priced ? "deployment profile's price x facility kWh (IT + attributed idle)" : c.reason)
        .setAttribute("data-card", "cost");
    });
    var p = price();
    card(root, "energy cost at the price above", p === null ? "set a price" : fmt(kwh(s.facility_j) * p),
         p === null ? null : "per inference " + fmt(kwh(s.facility_j) * p / Math.max(1, s.events)),
         "facility kWh x price per kWh (user input, what-if)");
  }

  // ------------------------------------------------------------------ scopes, idle
  var LINE_NAMES = {
    operational_location: "operational (inference energy)", operational_market: "operational (inference energy)",
    operational_marginal: "operational (inference energy)", idle_location: "idle capacity (attributed)",
    idle_market: "idle capacity (attributed)", idle_marginal: "idle capacity (attributed)",
    embodied: "embodied (hardware manufacture, amortised)", network: "network transfer", training: "training (amortised)"
  };
  function renderScopes(s) {
    var root = clear($("scopes"));
    var sc = s.scopes || { groups: [] };
    $("scopes-method").textContent = (sc.note || "") + ". Ranges: " + BAND_NOTE + ".";
    if (!sc.groups.length) { empty(root, "no footprints with line items yet"); return; }
    var t = html("table", { id: "scopes-table" }, root);
    var hr = html("tr", {}, html("thead", {}, t));
    ["category", "line", "basis", "gCO2e", "p5..p95 g", "events", "note"].forEach(function (h) { html("th", {}, hr, h); });
    var tb = html("tbody", {}, t);
    sc.groups.forEach(function (g) {
      var gr = html("tr", { "class": "scope-head", "data-scope": g.scope }, tb);
      html("td", { colspan: "7" }, gr, g.label);
      g.lines.forEach(function (l) {
        var allOut = l.excluded_footprints >= l.footprints;
        var tr = html("tr", { "data-scope": g.scope, "data-line": l.name }, tb);
        html("td", {}, tr, g.scope.indexOf("scope3") === 0 ? g.label.split(",")[0] : "");
        html("td", {}, tr, LINE_NAMES[l.name] || l.name);
        html("td", {}, tr, l.basis);
        html("td", {}, tr, allOut ? "excluded" : fmt(l.value_g));
        html("td", { title: BAND_NOTE }, tr, allOut ? "-" : fmt(l.low_g) + " .. " + fmt(l.high_g));
        html("td", {}, tr, String(l.footprints));
        html("td", { "class": "note" }, tr, l.excluded_footprints
          ? (allOut ? l.excluded_reason : l.excluded_footprints + " of " + l.footprints + " events " +
             l.excluded_reason + "; the sum covers the others")
          : (g.scope === "memo_consequential" ? "memo, not in totals" : ""));
      });
    });
  }
  function renderIdle(s) {
    var root = clear($("idle"));
    var idle = s.idle;
    if (!idle) { empty(root, "no idle figures"); return; }
    $("idle-method").textContent = idle.method + ". Reference: " + idle.reference + ".";
    var ref = idle.reference_frac || [0.3, 0.5];
    [["device", idle.by_device], ["service", idle.by_service]].forEach(function (pair) {
      var dim = pair[0], rows = pair[1] || [];
      html("h3", {}, root, "per " + dim);
      var t = html("table", { id: "idle-" + dim, "class": "idle" }, root);
      var hr = html("tr", {}, html("thead", {}, t));
      [dim, "active J", "idle attributed J", "idle unattributed J", "idle share of active",
       "vs reference " + Math.round(100 * ref[0]) + ".." + Math.round(100 * ref[1]) + " %"].forEach(function (h) { html("th", {}, hr, h); });
      var tb = html("tbody", {}, t);
      rows.forEach(function (r) {
        var tr = html("tr", { "data-key": r[dim] }, tb);
        var f = r.idle_share_of_active_frac;
        [r[dim], fmt(r.active_j), r.idle_attributed_j === null ? "n/a" : fmt(r.idle_attributed_j),
         r.idle_unattributed_j === null ? "n/a" : fmt(r.idle_unattributed_j)].forEach(function (v) { html("td", {}, tr, v); });
        html("td", { "class": "kpi" }, tr, pct(f));
        var vs = f === null ? (r.reason || "not modelled") : f < ref[0] ? "below" : f > ref[1] ? "above" : "within";
        html("td", r.reason && f !== null ? { title: r.reason } : {}, tr,
             r.reason && f !== null ? vs + " (idle not modelled for part)" : vs);
      });
    });
  }

  // ------------------------------------------------------------------ traces
  // one figure per user action: the model calls that carried one W3C trace id
  var TRACES_SHOWN = 20;
  function renderTraces(doc) {
    var root = clear($("traces"));
    $("traces-method").textContent = "Each W3C trace's model calls summed per basis (from the " +
      "request's traceparent, or the current OpenTelemetry span of a metered call); range: " +
      String(doc.range_method || "").replace(/\.*$/, "") + ".";
    var per = {};
    (doc.rows || []).forEach(function (r) {
      var t = per[r.trace_id] || (per[r.trace_id] = { trace_id: r.trace_id, calls: r.footprints });
      t[r.basis] = r;
    });
    var rows = Object.keys(per).map(function (k) { return per[k]; });
    if (!rows.length) { empty(root, "no event carries a trace id yet (infercarbon proxy, the ASGI middleware, or Meter(trace_context=\"otel\"))"); return; }
    rows.sort(function (a, b) { return (b.location ? b.location.value_g : 0) - (a.location ? a.location.value_g : 0); });
    html("p", { "class": "method" }, root, rows.length + " traced user action(s)" +
      (rows.length > TRACES_SHOWN ? "; the " + TRACES_SHOWN + " largest:" : ":"));
    var t = html("table", { id: "traces-table" }, html("div", { "class": "tablewrap" }, root));
    var hr = html("tr", {}, html("thead", {}, t));
    ["trace", "model calls", "location g", "p5..p95 g", "market g", "marginal g"].forEach(function (h) { html("th", {}, hr, h); });
    var tb = html("tbody", {}, t);
    rows.slice(0, TRACES_SHOWN).forEach(function (r) {
      var tr = html("tr", { "data-trace": r.trace_id }, tb);
      var loc = r.location || {};
      [r.trace_id, r.calls, fmt(loc.value_g), fmt(loc.low_g) + " .. " + fmt(loc.high_g),
       r.market ? fmt(r.market.value_g) : "n/a", r.marginal ? fmt(r.marginal.value_g) : "n/a"].forEach(function (v) { html("td", {}, tr, v); });
    });
  }

  // ------------------------------------------------------------------ charts
  function frame(node, w, h) {
    clear(node);
    return svg("svg", { viewBox: "0 0 " + w + " " + h, role: "img", preserveAspectRatio: "xMidYMid meet" }, node);
  }
  function legend(node) {
    var l = html("div", { "class": "legend" }, null);
    KINDS.forEach(function (k) {
      var s = html("span", {}, l);
      var i = html("i", {}, s); i.style.background = COLORS[k];
      s.appendChild(document.createTextNode(k));
    });
    node.insertBefore(l, node.firstChild);
  }
  function yScale(max, h, top, bottom) {
    max = max > 0 ? max : 1;
    return function (v) { return top + (h - top - bottom) * (1 - v / max); };
  }
  function yAxis(g, max, y, x0, x1, unit) {
    for (var i = 0; i <= 4; i++) {
      var v = max * i / 4, yy = y(v);
      svg("line", { x1: x0, x2: x1, y1: yy, y2: yy, "class": "grid" }, g);
      text(g, x0 - 6, yy + 4, fmt(v), { "text-anchor": "end" });
    }
    text(g, x0 - 6, y(max) - 10, unit, { "text-anchor": "end" });
  }

  function renderKinds(s) {
    var node = $("kinds-chart");
    var w = 900, h = 230, left = 70, bottom = 30, top = 24;
    var vals = KINDS.map(function (k) { return s.totals_g[k]; });
    var max = Math.max.apply(null, vals.map(function (t) { return t ? t.high : 0; }));
    var g = frame(node, w, h), y = yScale(max * 1.1, h, top, bottom);
    yAxis(g, max * 1.1, y, left, w - 10, "gCO2e");
    var bw = Math.min(200, (w - left - 40) / 3);
    KINDS.forEach(function (k, i) {
      var t = vals[i], x = left + 20 + i * bw + bw * 0.2;
      text(g, x + bw * 0.3, h - 10, k, { "text-anchor": "middle" });
      if (!t) { text(g, x + bw * 0.3, y(0) - 8, "no signal", { "text-anchor": "middle" }); return; }
      svg("rect", { x: x, y: y(t.value), width: bw * 0.6, height: Math.max(0, y(0) - y(t.value)),
                    fill: COLORS[k], "data-kind": k }, g);
      var cx = x + bw * 0.3;
      svg("line", { x1: cx, x2: cx, y1: y(t.low), y2: y(t.high), stroke: "#111", "stroke-width": 1.5 }, g);
      svg("line", { x1: cx - 8, x2: cx + 8, y1: y(t.low), y2: y(t.low), stroke: "#111" }, g);
      svg("line", { x1: cx - 8, x2: cx + 8, y1: y(t.high), y2: y(t.high), stroke: "#111" }, g);
      text(g, cx + 12, y(t.value) - 4, fmt(t.value) + " g");
    });
    $("kinds-method").textContent = "Bars: central figure; whiskers: aggregate p5..p95 (" + BAND_NOTE + "). " +
      "Location- and market-based are both reported (GHG Protocol Scope 2 dual reporting); marginal is a " +
      "consequential memo item, never added to a total.";
  }

  function renderSeries(rows) {
    var node = $("series-chart");
    if (!rows.length) { empty(node, "no events in the ledger yet"); return; }
    var byT = {};
    rows.forEach(function (r) {
      var t = r.period_start_utc, a = byT[t] || (byT[t] = { t: t });
      KINDS.forEach(function (k) {
        ["_g", "_low_g", "_high_g"].forEach(function (suf) {
          var v = r[k + suf];
          if (v !== null && v !== undefined) a[k + suf] = (a[k + suf] || 0) + v;
        });
      });
    });
    var pts = Object.keys(byT).sort().map(function (t) { return byT[t]; });
    var w = 900, h = 260, left = 70, bottom = 40, top = 20, right = 20;
    var max = 0;
    pts.forEach(function (p) { KINDS.forEach(function (k) { max = Math.max(max, p[k + "_high_g"] || 0); }); });
    var g = frame(node, w, h), y = yScale(max * 1.1, h, top, bottom);
    yAxis(g, max * 1.1, y, left, w - right, "gCO2e");
    var n = pts.length;
    function x(i) { return n === 1 ? (left + w - right) / 2 : left + (w - left - right) * i / (n - 1); }
    var band = [];
    pts.forEach(function (p, i) { band.push(x(i) + "," + y(p.location_high_g || 0)); });
    for (var i = n - 1; i >= 0; i--) band.push(x(i) + "," + y(pts[i].location_low_g || 0));
    svg("polygon", { points: band.join(" "), fill: "rgba(47,111,79,0.18)", stroke: "none", "class": "band" }, g);
    KINDS.forEach(function (k) {
      var d = [];
      pts.forEach(function (p, i) { if (p[k + "_g"] !== undefined) d.push(x(i) + "," + y(p[k + "_g"])); });
      if (d.length) {
        svg("polyline", { points: d.join(" "), fill: "none", stroke: COLORS[k], "stroke-width": 2,
                          "stroke-dasharray": k === "market" ? "5 3" : null }, g);
        d.forEach(function (pt) { var c = pt.split(","); svg("circle", { cx: c[0], cy: c[1], r: 2.5, fill: COLORS[k] }, g); });
      }
    });
    var step = Math.max(1, Math.ceil(n / 8));
    pts.forEach(function (p, i) {
      if (i % step === 0) text(g, x(i), h - bottom + 16, p.t.replace("T", " ").slice(0, 16), { "text-anchor": "middle" });
    });
    legend(node);
  }

  function renderGroups(rows, group) {
    var node = $("group-chart");
    if (!rows.length) { empty(node, "no data"); return; }
    var byK = {};
    rows.forEach(function (r) {
      var a = byK[r.key] || (byK[r.key] = { key: r.key });
      KINDS.forEach(function (k) {
        ["_g", "_low_g", "_high_g"].forEach(function (suf) {
          var v = r[k + suf];
          if (v !== null && v !== undefined) a[k + suf] = (a[k + suf] || 0) + v;
        });
      });
    });
    var keys = Object.keys(byK).sort();
    var w = 900, rowH = 26, left = 160, top = 10;
    var h = top + keys.length * rowH * 1.0 + 30;
    var max = 0;
    keys.forEach(function (k) { KINDS.forEach(function (kd) { max = Math.max(max, byK[k][kd + "_high_g"] || 0); }); });
    max = max > 0 ? max * 1.05 : 1;
    var g = frame(node, w, h);
    function x(v) { return left + (w - left - 80) * v / max; }
    keys.forEach(function (key, i) {
      var y0 = top + i * rowH;
      text(g, left - 8, y0 + rowH * 0.6, key, { "text-anchor": "end" });
      KINDS.forEach(function (k, j) {
        var v = byK[key][k + "_g"];
        if (v === undefined) return;
        var yy = y0 + 3 + j * 7;
        svg("rect", { x: left, y: yy, width: Math.max(0.5, x(v) - left), height: 6, fill: COLORS[k] }, g);
        svg("line", { x1: x(byK[key][k + "_low_g"]), x2: x(byK[key][k + "_high_g"]), y1: yy + 3, y2: yy + 3,
                      stroke: "#111", "stroke-width": 1 }, g);
      });
      text(g, x(byK[key].location_high_g || 0) + 6, y0 + rowH * 0.6, fmt(byK[key].location_g) + " g loc.");
    });
    svg("line", { x1: left, x2: left, y1: top, y2: h - 30, "class": "axis" }, g);
    text(g, left, h - 10, "gCO2e (bars: central; lines: low..high)");
    legend(node);
    $("group-label").textContent = group;
  }

  function heatColor(v, lo, hi) {
    var t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    var r = Math.round(240 - 60 * t + 15 * t), gg = Math.round(230 - 170 * t), b = Math.round(190 - 150 * t);
    return "rgb(" + r + "," + gg + "," + b + ")";
  }
  function renderHeatmap(doc) {
    var node = $("heatmap");
    $("heat-method").textContent = doc.note || "";
    if (!doc.regions.length) { empty(node, doc.note || "no marginal signal loaded"); return; }
    var cell = 22, left = 110, top = 22;
    var w = left + 24 * cell + 70, h = top + doc.regions.length * cell + 30;
    var g = frame(node, w, h);
    var all = [];
    doc.values.forEach(function (r) { r.forEach(function (v) { if (v !== null) all.push(v); }); });
    var lo = Math.min.apply(null, all), hi = Math.max.apply(null, all);
    doc.regions.forEach(function (reg, i) {
      text(g, left - 6, top + i * cell + cell * 0.65, reg, { "text-anchor": "end" });
      doc.values[i].forEach(function (v, hr) {
        var r = svg("rect", { x: left + hr * cell, y: top + i * cell, width: cell - 1, height: cell - 1,
                              fill: v === null ? "#eee" : heatColor(v, lo, hi), "class": "heat" }, g);
        var t = svg("title", {}, r); t.textContent = reg + " " + hr + ":00 UTC: " + (v === null ? "no data" : fmt(v) + " g/kWh");
      });
    });
    for (var hr = 0; hr < 24; hr += 3) text(g, left + hr * cell + cell / 2, top - 6, String(hr), { "text-anchor": "middle" });
    text(g, left + 24 * cell + 6, top + 10, fmt(hi) + " g/kWh");
    text(g, left + 24 * cell + 6, top + doc.regions.length * cell - 2, fmt(lo));
  }

  function renderSankey(sk) {
    var node = $("sankey");
    $("sankey-method").textContent = sk.note || "";
    if (!sk.links.length) { empty(node, "no energy in the ledger yet"); return; }
    var w = 1000, h = 280, pad = 14, nodeW = 14;
    var g = frame(node, w, h);
    var cols = {};
    sk.nodes.forEach(function (n) { (cols[n.column] = cols[n.column] || []).push(n); });
    var colIds = Object.keys(cols).map(Number).sort();
    var value = {};
    sk.nodes.forEach(function (n) { value[n.id] = 0; });
    sk.links.forEach(function (l) { value[l.source] = Math.max(value[l.source], 0); });
    sk.nodes.forEach(function (n) {
      var inS = 0, outS = 0;
      sk.links.forEach(function (l) { if (l.target === n.id) inS += l.kwh; if (l.source === n.id) outS += l.kwh; });
      value[n.id] = Math.max(inS, outS);
    });
    var total = 0; cols[colIds[0]].forEach(function (n) { total += value[n.id]; });
    var scale = (h - pad * 2 - 40) / (total || 1);
    var pos = {};
    colIds.forEach(function (c, ci) {
      var x = 10 + ci * (w - 30) / Math.max(1, colIds.length - 1);
      var y = pad;
      cols[c].forEach(function (n) {
        var hh = Math.max(2, value[n.id] * scale);
        pos[n.id] = { x: x, y: y, h: hh, outY: y, inY: y };
        svg("rect", { x: x, y: y, width: nodeW, height: hh, fill: "#1f3b2d", "class": "node" }, g);
        var last = ci === colIds.length - 1;
        text(g, last ? x - 4 : x + nodeW + 4, y + Math.min(hh / 2 + 4, hh + 10),
             n.label + " " + fmt(value[n.id]) + " kWh", { "text-anchor": last ? "end" : "start" });
        y += hh + 14;
      });
    });
    sk.links.forEach(function (l) {
      var s = pos[l.source], t = pos[l.target];
      if (!s || !t) return;
      var th = Math.max(1, l.kwh * scale);
      var x0 = s.x + nodeW, x1 = t.x, y0 = s.outY + th / 2, y1 = t.inY + th / 2, mx = (x0 + x1) / 2;
      svg("path", { d: "M" + x0 + "," + y0 + " C" + mx + "," + y0 + " " + mx + "," + y1 + " " + x1 + "," + y1,
                    fill: "none", stroke: l.kind === "overhead" ? "#b5562b" : "#2f6f4f", "stroke-opacity": 0.35,
                    "stroke-width": th, "class": "link" }, g);
      s.outY += th; t.inY += th;
    });
  }

  // ------------------------------------------------------------------ table, methodology
  function renderEvents(rows) {
    var tb = clear($("events").querySelector("tbody"));
    var p = price();
    rows.forEach(function (r) {
      var tr = html("tr", {}, tb);
      [r.end_utc.replace("T", " ").slice(0, 19), r.service, r.model, r.region, r.outcome || "",
       fmt(r.latency_s), fmt(r.energy_j),
       fmt(r.location_g) + " [" + fmt(r.location_low_g) + ", " + fmt(r.location_high_g) + "]",
       fmt(r.market_g), r.marginal_g === null ? "n/a" : fmt(r.marginal_g),
       p === null ? "-" : fmt(kwh(r.facility_j) * p)].forEach(function (v) { html("td", {}, tr, v); });
    });
  }
  function renderMethodology(items) {
    var root = clear($("methodology"));
    var dl = html("dl", { "class": "meth" }, root);
    items.forEach(function (it) {
      html("dt", {}, dl, it.name);
      html("dd", {}, dl, it.value + (it.source ? " (source: " + it.source + ")" : ""));
    });
  }

  // ------------------------------------------------------------------ what-if
  function renderWhatif(doc) {
    var out = clear($("whatif-out"));
    var t = html("table", { id: "whatif-table" }, out);
    var hr = html("tr", {}, html("thead", {}, t));
    ["kind", "baseline g", "scenario g", "difference g", "difference range", "change"].forEach(function (h) { html("th", {}, hr, h); });
    var tb = html("tbody", {}, t);
    KINDS.forEach(function (k) {
      var b = doc.baseline[k], s = doc.scenario[k], d = doc.difference[k];
      var tr = html("tr", {}, tb);
      html("td", {}, tr, k);
      html("td", {}, tr, b ? fmt(b.value) + " [" + fmt(b.low) + ", " + fmt(b.high) + "]" : "n/a");
      html("td", { "class": "scenario" }, tr, s ? fmt(s.value) + " [" + fmt(s.low) + ", " + fmt(s.high) + "]" : "n/a");
      var cls = !d || d.value === 0 ? "" : (d.value < 0 ? "diff-down" : "diff-up");
      html("td", { "class": d ? cls : "" }, tr, d ? (d.value > 0 ? "+" : "") + fmt(d.value) : "n/a");
      html("td", {}, tr, d ? fmt(d.low) + " .. " + fmt(d.high) : "n/a");
      html("td", {}, tr, d && b && b.value ? (100 * d.value / b.value).toFixed(1) + " %" : "n/a");
    });
    var p = html("p", { "class": "method" }, out);
    p.textContent = doc.events + " events; energy " + energy(doc.energy_j.baseline) + " -> " +
      energy(doc.energy_j.scenario) + ". " + doc.notes.join(" ");
    var ul = html("ul", { "class": "method" }, out);
    doc.assumptions.forEach(function (a) { html("li", {}, ul, a.name + ": " + a.value + (a.source ? " (" + a.source + ")" : "")); });
  }
  // an error shows at the what-if panel (not in the page banner far above it), and a result
  // never stays beside inputs it was not computed from
  function whatifError(msg) {
    var e = $("whatif-error");
    e.hidden = !msg; e.textContent = msg || "";
  }
  function clearWhatif(note) {
    var out = clear($("whatif-out"));
    if (note) html("p", { "class": "method", id: "whatif-status" }, out, note);
  }
  function runWhatif(ev) {
    if (ev) ev.preventDefault();
    whatifError(null);
    clearWhatif("recomputing ...");
    var body = {};
    var r = $("wi-region").value.trim(), b = $("wi-batch").value, d = $("wi-delay").value, s = $("wi-service").value.trim();
    if (r) body.region = r;
    if (b) body.batch_size = parseInt(b, 10);
    if (d) body.delay_h = parseInt(d, 10);
    if (s) body.service = s;
    var tier = $("wi-tier").value, from = $("wi-from-tier").value, vol = $("wi-volume").value;
    if (tier) body.tier = tier;
    if (tier && from) body.from_tier = from;
    if (vol) body.volume_multiplier = parseFloat(vol);
    return api("/v1/whatif", { method: "POST", body: body })
      .then(function (doc) { renderWhatif(doc); })
      .catch(function (e) { clearWhatif(null); whatifError("what-if: " + e.message); });
  }

  // ------------------------------------------------------------------ rebound
  function renderRebound(doc) {
    var root = clear($("rebound"));
    if (!doc.rows.length) { empty(root, "No footprints yet."); return; }
    var t = html("table", { id: "rebound-table" }, root);
    var hr = html("tr", {}, html("thead", {}, t));
    ["month", "inferences", "g", "g / inference", "change g", "volume effect g",
     "intensity effect g", "rebound"].forEach(function (h) { html("th", {}, hr, h); });
    var tb = html("tbody", {}, t);
    doc.rows.forEach(function (r) {
      var tr = html("tr", {}, tb);
      html("td", {}, tr, r.month);
      html("td", {}, tr, String(r.inferences));
      html("td", {}, tr, fmt(r.emissions_g) + " [" + fmt(r.low_g) + ", " + fmt(r.high_g) + "]");
      html("td", {}, tr, fmt(r.g_per_inference));
      html("td", {}, tr, r.change_g === null ? "n/a" : fmt(r.change_g));
      html("td", {}, tr, r.volume_g === null ? "n/a" : fmt(r.volume_g) + " [" + fmt(r.volume_low_g) + ", " + fmt(r.volume_high_g) + "]");
      html("td", {}, tr, r.intensity_g === null ? "n/a" : fmt(r.intensity_g) + " [" + fmt(r.intensity_low_g) + ", " + fmt(r.intensity_high_g) + "]");
      html("td", { "class": r.rebound_frac !== null && r.rebound_frac > 1 ? "diff-up" : "" }, tr,
           r.rebound_frac === null ? (r.note || "") : fmt(r.rebound_frac));
    });
    html("p", { "class": "method" }, root, doc.method + ". Source: " + doc.source + ".");
  }
  function loadRebound() {
    return api("/v1/rebound").then(renderRebound)
      .catch(function (e) { banner("rebound: " + e.message); });
  }

  // ------------------------------------------------------------------ load
  function load() {
    if (!state.key) { banner("Enter an API key (infercarbon keys create --ledger LEDGER --tenant NAME) to see the ledger."); return Promise.resolve(); }
    var group = $("group").value, period = $("period").value;
    $("period-label").textContent = period;
    return Promise.all([
      api("/v1/whoami"), api("/v1/summary"),
      api("/v1/footprints?group=" + group + "&period=" + period),
      api("/v1/events?limit=200"), api("/v1/intensity/heatmap"), api("/v1/methodology"),
      api("/v1/traces"),
    ]).then(function (r) {
      banner(null);
      $("who").textContent = r[0].scope === "admin" ? "admin: all tenants" : "tenant: " + r[0].tenant;
      state.summary = r[1];
      renderCards(r[1]); renderKinds(r[1]); renderScopes(r[1]); renderIdle(r[1]);
      renderSeries(r[2].rows); renderGroups(r[2].rows, group);
      renderEvents(r[3].rows); renderHeatmap(r[4]); renderSankey(r[1].sankey);
      renderMethodology(r[5].items); renderTraces(r[6]);
      return loadRebound();
    }).catch(function (e) { banner(e.message); });
  }
  function loadRegions() {
    return api("/v1/regions").then(function (doc) {
      var dl = clear($("regions"));
      doc.regions.forEach(function (r) { var o = html("option", { value: r.id }, dl); o.textContent = r.name; });
    }).catch(function (e) { banner("regions: " + e.message); });
  }

  function init() {
    var m = /(?:^|[#&])key=([^&]+)/.exec(window.location.hash);
    if (m) {
      sessionStorage.setItem("infercarbon.key", decodeURIComponent(m[1]));
      history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    state.key = sessionStorage.getItem("infercarbon.key");
    if (state.key) $("apikey").value = state.key;
    $("keyform").addEventListener("submit", function (ev) {
      ev.preventDefault();
      state.key = $("apikey").value.trim();
      sessionStorage.setItem("infercarbon.key", state.key);
      load(); loadRegions();
    });
    $("price").addEventListener("input", function () {
      if (state.summary) renderCards(state.summary);
      api("/v1/events?limit=200").then(function (d) { renderEvents(d.rows); }).catch(function (e) { banner(e.message); });
    });
    $("group").addEventListener("change", load);
    $("period").addEventListener("change", load);
    $("whatif").addEventListener("submit", runWhatif);
    $("whatif").addEventListener("input", function () {
      whatifError(null);
      if ($("whatif-table")) clearWhatif("inputs changed: press Recompute for their result");
    });
    document.body.setAttribute("data-ready", "0");
    Promise.all([load(), state.key ? loadRegions() : null]).then(function () {
      document.body.setAttribute("data-ready", "1");
    });
  }
  document.addEventListener("DOMContentLoaded", init);
})();
