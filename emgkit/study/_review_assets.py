"""The style and script of the ``emgkit review`` page (inlined into its HTML).

Plain JavaScript, no framework and no network: the traces are drawn on small ``<canvas>``
elements (720 for 240 trials × 3 muscles draw in well under a second), and the selected
trial's signal excerpt on a few larger ones with µV and time axes.

Why a canvas renderer rather than Vega-Lite or Bokeh (measured with
``benchmarks/review_renderers.py`` on one participant of ``benchmarks/review_speed.py``:
240 trials × 3 muscles = 720 plots of 99 points, headless Chromium, a 2-core machine under
heavy shared load): Vega-Lite 5 through vega-embed, canvas renderer, took 2.5 s to paint as
one faceted chart (a 5.4 MB page for one participant: the data are JSON rows) and 4.8 s as
720 charts; a Bokeh 3.8 gridplot painted 60 figures in 5.3 s, 240 in 32 s, and 720 had
not finished after 100 s. This page paints the same participant in 0.5-0.7 s, and 40 such
participants fit in 9.5 MB. Each library is ~1 MB of script to inline (nothing may be
fetched), and the goals are ≤ 1 s per page and ≤ 10 MB per study; so the plots are plain
lines on ``<canvas>`` (no layout engine, no axes framework), about 150 lines of script.

``applyMark`` mirrors :func:`emgkit.study.review_page.apply_mark`; ``tsvOf`` mirrors
:func:`emgkit.study.review_page.overrides_text`.
"""

CSS = """
body{font:13px/1.35 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:6px 10px;
 z-index:2;display:flex;flex-wrap:wrap;gap:8px;align-items:center}
header a,header button{font:inherit}
main{padding:8px 12px}
table{border-collapse:collapse;background:#fff}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left}
th{cursor:pointer;background:#eee;user-select:none}
.flag{color:#b00;font-weight:600}
h3{margin:14px 0 4px}
.cards{display:flex;flex-wrap:wrap;gap:6px}
.card{background:#fff;border:2px solid #ccc;border-radius:4px;padding:2px 3px;width:150px}
.card.sel{border-color:#06c;box-shadow:0 0 0 2px #9cf}
.card .t{display:flex;justify-content:space-between;font-size:11px;cursor:pointer}
.cell{position:relative;border:1px solid transparent;margin:1px 0}
.cell canvas{display:block;width:144px;height:26px}
.cell.sel{border-color:#06c}
.cell.auto,.legend .auto{background:#fde8c8}
.cell.excl,.legend .excl{background:#f6c6c6}
.legend .incl{background:#cdeccd}
.cell.excl::after{content:"✕";position:absolute;right:2px;top:0;color:#a00;font-weight:700}
.cell.incl{background:#cdeccd}
.cell .why{position:absolute;left:2px;bottom:0;font-size:9px;color:#733;pointer-events:none;
 background:rgba(255,255,255,.6)}
.stale{background:#ffe;border:1px solid #cc8;padding:4px;margin:6px 0}
#help{position:fixed;right:10px;top:50px;background:#fff;border:1px solid #999;padding:8px;
 display:none;z-index:3;max-width:330px}
.status{color:#555}
.legend span{padding:0 4px;margin-right:4px}
body.withex main{margin-right:420px}
#excerpt{position:fixed;right:0;top:44px;bottom:0;width:404px;overflow-y:auto;background:#fff;
 border-left:1px solid #ccc;padding:4px 6px;z-index:1;font-size:11px}
#excerpt canvas{display:block;width:392px}
#excerpt .m{margin-top:4px;font-weight:600}
#excerpt .m.sel{color:#06c}
"""

JS = r"""
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const M = D.muscles;
let rows = D.rows.map(r => Object.assign({}, r));
const history = [];
const S = {pid: null, i: 0, m: -1, reviewer: "", reason: D.reasons[0], status: ""};
const byId = {};
D.participants.forEach(p => { byId[p.id] = p; });

function clean(t) { return String(t).split(/\s+/).filter(x => x).join(" "); }
function cellsOf(r, p) {
  const ts = r.trial === "*" ? p.trials.map(String) : [r.trial];
  const ms = r.muscle === "*" ? M : [r.muscle];
  const out = [];
  ts.forEach(t => ms.forEach(m => out.push(t + "\t" + m)));
  return out;
}
// mirrors emgkit.study.review_page.apply_mark
function applyMark(rows, p, trial, muscle, action, reason, reviewer) {
  const marked = new Set((muscle === "*" ? M : [muscle]).map(m => String(trial) + "\t" + m));
  const out = [];
  for (const r of rows) {
    if (r.participant_id !== p.id) { out.push(r); continue; }
    const cells = cellsOf(r, p);
    if (cells.every(c => marked.has(c))) continue;
    if (r.action !== action && cells.some(c => marked.has(c))) {
      const rest = cells.filter(c => !marked.has(c)).map(c => c.split("\t"));
      rest.sort((a, b) => (+a[0] - +b[0]) || (M.indexOf(a[1]) - M.indexOf(b[1])));
      rest.forEach(c => out.push(Object.assign({}, r, {trial: c[0], muscle: c[1]})));
      continue;
    }
    out.push(r);
  }
  out.push({participant_id: p.id, trial: String(trial), muscle: muscle, action: action,
            reason: clean(reason), reviewer: clean(reviewer)});
  return out;
}
const COLS = ["participant_id", "trial", "muscle", "action", "reason", "reviewer"];
// mirrors emgkit.study.review_page.overrides_text
function tsvOf(rows) {
  return [COLS.join("\t")].concat(rows.map(r => COLS.map(c => clean(r[c] || "")).join("\t")))
    .join("\n") + "\n";
}
function manual(p, trial, m) {
  let a = null;
  for (const r of rows) {
    if (r.participant_id === p.id && (r.trial === "*" || r.trial === String(trial)) &&
        (r.muscle === "*" || r.muscle === m)) a = r;
  }
  return a;
}
function stale(p) {
  const have = new Set((p.trials || []).map(String));
  return rows.filter(r => r.participant_id === p.id && r.trial !== "*" && !have.has(r.trial));
}
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), attrs[k]);
    else if (k === "className") e.className = attrs[k];
    else e.setAttribute(k, attrs[k]);
  }
  kids.forEach(k => e.append(k));
  return e;
}
function int8s(b64) {
  const bin = atob(b64), buf = new ArrayBuffer(bin.length), u8 = new Uint8Array(buf);
  for (let k = 0; k < bin.length; k++) u8[k] = bin.charCodeAt(k);
  return new Int8Array(buf);
}
function traces(p) {
  if (p._v || !p.data) return p._v;
  const codes = int8s(p.data), n = p.times.length, v = new Float32Array(codes.length);
  for (let k = 0; k < codes.length; k++) {
    v[k] = codes[k] === -128 ? NaN : codes[k] * p.scale[Math.floor(k / n)];
  }
  p._v = v;
  p._lim = M.map((m, j) => {
    const vals = [];
    // the range of the trials the rules kept: one saturated trial must not flatten the rest
    const kept = p.trials.map((t, i) => i).filter(i => !(p.auto && p.auto[i][j]));
    (kept.length ? kept : p.trials.map((t, i) => i)).forEach(i => {
      for (let t = 0; t < n; t++) { const x = v[(i * M.length + j) * n + t]; if (!isNaN(x)) vals.push(x); }
    });
    vals.sort((a, b) => a - b);
    if (!vals.length) return [0, 1];
    const lo = vals[Math.floor(vals.length * 0.01)], hi = vals[Math.floor(vals.length * 0.99)];
    return [lo, hi > lo ? hi : lo + 1];
  });
  return v;
}
function draw(cv, p, i, j) {
  const W = 144, H = 26, r = window.devicePixelRatio || 1;
  cv.width = W * r; cv.height = H * r;
  const g = cv.getContext("2d"); g.scale(r, r);
  const v = traces(p); if (!v) return;
  const n = p.times.length, t0 = D.tmin, t1 = D.tmax, [lo, hi] = p._lim[j];
  const X = t => (t - t0) / (t1 - t0) * W, Y = y => H - 1 - (y - lo) / (hi - lo) * (H - 2);
  if (D.response) { g.fillStyle = "rgba(80,120,220,0.15)";
    g.fillRect(X(D.response[0]), 0, X(D.response[1]) - X(D.response[0]), H); }
  g.strokeStyle = "#bbb"; g.beginPath(); g.moveTo(X(0), 0); g.lineTo(X(0), H); g.stroke();
  g.strokeStyle = "#124"; g.lineWidth = 1; g.beginPath();
  let pen = false;
  for (let t = 0; t < n; t++) {
    const y = v[(i * M.length + j) * n + t];
    if (isNaN(y)) { pen = false; continue; }
    const yy = Math.max(0, Math.min(H, Y(y)));
    if (pen) g.lineTo(X(p.times[t]), yy); else g.moveTo(X(p.times[t]), yy);
    pen = true;
  }
  g.stroke();
}
// the excerpt of the selected trial: per muscle [low, high, raw] × bins (µV), NaN missing
function excerpts(p) {
  if (p._ex || !p.ex) return p._ex;
  const codes = int8s(p.ex), k = p.ex_times.length, v = new Float32Array(codes.length);
  for (let q = 0; q < codes.length; q++) {
    const part = Math.floor(q / k) % 3, trace = Math.floor(q / (3 * k));
    v[q] = codes[q] === -128 ? NaN : codes[q] * p.ex_scale[2 * trace + (part === 2 ? 1 : 0)];
  }
  p._ex = v;
  return v;
}
const fmt = x => Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toPrecision(2);
// a plot with a µV axis on the left and, when asked, the time axis (s) below
function panel(H, peak, label, timeAxis) {
  const W = 392, L = 46, B = timeAxis ? 16 : 3, r = window.devicePixelRatio || 1;
  const cv = el("canvas", {}); cv.style.height = H + "px";
  cv.width = W * r; cv.height = H * r;
  const g = cv.getContext("2d"); g.scale(r, r);
  const t0 = D.tmin, t1 = D.tmax, lo = -peak, hi = peak;
  const X = t => L + (t - t0) / (t1 - t0) * (W - L - 16);
  const Y = y => 2 + (hi - y) / (hi - lo) * (H - B - 4);
  if (D.response) { g.fillStyle = "rgba(80,120,220,0.13)";
    g.fillRect(X(D.response[0]), 0, X(D.response[1]) - X(D.response[0]), H - B); }
  g.strokeStyle = "#bbb"; g.beginPath(); g.moveTo(X(0), 0); g.lineTo(X(0), H - B);
  g.moveTo(L, Y(0)); g.lineTo(X(t1), Y(0)); g.stroke();
  g.strokeStyle = "#888"; g.beginPath(); g.moveTo(L, 0); g.lineTo(L, H - B); g.stroke();
  g.fillStyle = "#333"; g.font = "10px system-ui,sans-serif"; g.textAlign = "right";
  g.fillText(fmt(hi), L - 3, Y(hi) + 8); g.fillText(fmt(lo), L - 3, Y(lo));
  g.fillText(label, L - 3, Y(0) + 3);
  if (timeAxis) {
    g.textAlign = "center"; g.beginPath();
    for (let t = Math.ceil(t0); t <= t1; t++) {
      g.moveTo(X(t), H - B); g.lineTo(X(t), H - B + 3); g.fillText(String(t), X(t), H - 3);
    }
    g.stroke(); g.textAlign = "left"; g.fillText("s", W - 8, H - 3);
  }
  return {cv, g, X, Y};
}
function drawExcerpt(p) {
  const box = document.getElementById("excerpt"); if (!box) return;
  box.innerHTML = "";
  const i = S.i, trial = p.trials[i];
  if (trial === undefined) return;
  box.append(el("b", {id: "excerpt-title"}, "trial " + trial + " (" + p.conditions[i] + ")"),
    el("div", {}, "filtered signal: minimum–maximum per bin (band, µV); raw: bin means, " +
      "the epoch's mean removed (line, µV); time from stimulus onset (s)"));
  if (!p.ex) { box.append(el("p", {className: "flag"}, "No signal excerpt in these results " +
    "(written by an older emgkit); rerun emgkit run to see it.")); return; }
  const v = excerpts(p), k = p.ex_times.length, tt = p.ex_times;
  M.forEach((m, j) => {
    const base = (i * M.length + j) * 3 * k;
    let pf = 0, pr = 0;
    for (let q = 0; q < k; q++) {
      const a = Math.abs(v[base + q]), b = Math.abs(v[base + k + q]), c = Math.abs(v[base + 2 * k + q]);
      if (a > pf) pf = a; if (b > pf) pf = b; if (c > pr) pr = c;
    }
    box.append(el("div", {className: "m" + (S.m === j ? " sel" : "")}, m +
      (S.m === j ? " (selected)" : "")));
    const f = panel(64, pf || 1, "µV", false), g = f.g;
    g.fillStyle = "rgba(30,70,150,0.55)"; g.beginPath();
    let open = false;
    const close = q => { for (let b = q - 1; b >= 0 && !isNaN(v[base + b]); b--)
      g.lineTo(f.X(tt[b]), f.Y(v[base + k + b])); g.closePath(); };
    for (let q = 0; q < k; q++) {  // a polygon per stretch of bins: minima forward, maxima back
      const y = v[base + q];
      if (isNaN(y)) { if (open) { close(q); open = false; } continue; }
      if (open) g.lineTo(f.X(tt[q]), f.Y(y)); else { g.moveTo(f.X(tt[q]), f.Y(y)); open = true; }
    }
    if (open) close(k);
    g.fill();
    const r = panel(j === M.length - 1 ? 50 : 36, pr || 1, "raw µV", j === M.length - 1), h = r.g;
    h.strokeStyle = "#a33"; h.lineWidth = 1.2; h.beginPath();
    let pen = false;
    for (let q = 0; q < k; q++) {
      const y = v[base + 2 * k + q];
      if (isNaN(y)) { pen = false; continue; }
      if (pen) h.lineTo(r.X(tt[q]), r.Y(y)); else h.moveTo(r.X(tt[q]), r.Y(y));
      pen = true;
    }
    h.stroke();
    f.cv.id = "ex-" + m; box.append(f.cv, r.cv);
  });
}
// one post at a time, the latest rows last: a slow earlier post never overwrites a later one
let saving = false, again = false;
function save() {
  if (!D.token) return;
  if (saving) { again = true; return; }
  saving = true; again = false;
  S.status = "saving…"; status();
  fetch("/overrides?token=" + encodeURIComponent(D.token), {method: "POST",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({rows: rows})})
    .then(r => r.text().then(t => { S.status = r.ok ? "saved to " + D.overrides : "NOT saved: " + t; }))
    .catch(e => { S.status = "NOT saved: " + e; })
    .finally(() => { saving = false; if (again) save(); else status(); });
}
function place() {  // the excerpt panel starts below the header, whose height varies
  const ex = document.getElementById("excerpt"), hd = document.querySelector("header");
  if (ex && hd) ex.style.top = hd.offsetHeight + "px";
}
window.addEventListener("resize", place);
function status() {
  const s = document.getElementById("status"); if (s) s.textContent = S.status;
  const c = document.getElementById("count");
  if (c && S.pid) {
    const p = byId[S.pid];
    const mine = rows.filter(r => r.participant_id === p.id);
    c.textContent = mine.filter(r => r.action === "exclude").length + " exclude / " +
      mine.filter(r => r.action === "include").length + " include rows; " +
      rows.length + " rows in all";
  }
  place();
}
function mark(action) {
  const p = byId[S.pid]; if (!p || !p.trials.length) return;
  const trial = p.trials[S.i], muscle = S.m < 0 ? "*" : M[S.m];
  const reason = document.getElementById("reason").value || S.reason;
  history.push(rows);
  rows = applyMark(rows, p, trial, muscle, action, reason, S.reviewer);
  refresh(); save();
}
function undo() { if (history.length) { rows = history.pop(); refresh(); save(); } }
function download() {
  const a = el("a", {href: URL.createObjectURL(new Blob([tsvOf(rows)],
    {type: "text/tab-separated-values"})), download: "overrides.tsv"});
  document.body.append(a); a.click(); a.remove();
}
function headerBar(extra) {
  const reviewer = el("input", {id: "reviewer", size: 4, placeholder: "initials",
    oninput: e => { S.reviewer = e.target.value; }});
  reviewer.value = S.reviewer;
  const reason = el("input", {id: "reason", list: "reasons", size: 14});
  reason.value = S.reason;
  reason.addEventListener("change", e => { S.reason = e.target.value; });
  const dl = el("datalist", {id: "reasons"}); D.reasons.forEach(r => dl.append(el("option", {value: r})));
  return el("header", {}, el("a", {href: "#"}, "Overview"), ...extra, "Reviewer", reviewer,
    "Reason", reason, dl, el("button", {id: "download", onclick: download}, "download overrides.tsv"),
    el("button", {onclick: () => help()}, "? help"), el("span", {id: "count", className: "status"}),
    el("span", {id: "status", className: "status"}));
}
function help(show) {
  const h = document.getElementById("help");
  h.style.display = (show === undefined ? h.style.display !== "block" : show) ? "block" : "none";
}
function overview() {
  S.pid = null;
  document.body.classList.remove("withex");
  const app = document.getElementById("app"); app.innerHTML = "";
  const cols = [["id", "participant"], ["status", "status"]];
  M.forEach(m => cols.push(["k:" + m, m + " kept"], ["r:" + m, m + " rejected"]));
  cols.push(["flags", "quality flags"], ["marks", "override rows"]);
  const val = (p, c) => c === "id" ? p.id : c === "status" ? p.status :
    c === "flags" ? (p.quality || []).map(q => q.flags.map(f => q.muscle + ": " + f)).flat().join(", ") :
    c === "marks" ? rows.filter(r => r.participant_id === p.id).length :
    c.startsWith("k:") ? (p.kept || {})[c.slice(2)] : (p.rejected || {})[c.slice(2)];
  const list = D.participants.slice();
  if (S.sort) list.sort((a, b) => { const x = val(a, S.sort), y = val(b, S.sort);
    return (x > y ? 1 : x < y ? -1 : 0) * S.dir; });
  const tb = el("table", {id: "overview"});
  tb.append(el("tr", {}, ...cols.map(([c, label]) => el("th", {onclick: () => {
    S.dir = S.sort === c ? -S.dir : 1; S.sort = c; overview(); }}, label))));
  list.forEach(p => tb.append(el("tr", {}, ...cols.map(([c]) => {
    const v = val(p, c);
    if (c === "id") return el("td", {}, el("a", {href: "#" + p.id}, p.id));
    return el("td", c === "flags" && v ? {className: "flag"} : {}, v === undefined ? "" : String(v));
  }))));
  const staleAll = D.participants.map(p => stale(p)).flat()
    .concat(rows.filter(r => !byId[r.participant_id]));
  app.append(headerBar([el("b", {}, "emgkit review: " + D.participants.length + " participants")]),
    el("main", {}, staleNote(staleAll), tb, el("p", {className: "status"}, "Overrides table: " +
      (D.overrides || "none in the config ([study] overrides); use the download button"))));
  status();
}
function staleNote(list) {
  if (!list.length) return "";
  return el("div", {className: "stale", id: "stale"}, "Stale marks (no such trial in the results): " +
    list.map(r => r.participant_id + " trial " + r.trial + " " + r.muscle + " " + r.action).join("; "));
}
function participant(pid) {
  const p = byId[pid]; if (!p) return overview();
  const fresh = S.pid !== pid;
  if (fresh) { S.pid = pid; S.m = -1; }
  const k = D.participants.indexOf(p);
  const prev = D.participants[k - 1], next = D.participants[k + 1];
  const app = document.getElementById("app"); app.innerHTML = "";
  const main = el("main", {});
  main.append(el("div", {className: "legend"}, el("span", {className: "auto"}, "auto-rejected"),
    el("span", {className: "excl"}, "excluded ✕"), el("span", {className: "incl"}, "included"),
    "shaded: response window; envelope (" + (p.unit || "") + ") per trial, muscles top to bottom: " +
    M.join(", ") + "; the selected trial's signal is on the right"), staleNote(stale(p)));
  if (!p.data) main.append(el("p", {className: "flag"}, p.status + ": no envelopes to show " +
    (p.message || []).join(" ") + " (rerun emgkit run to write envelopes.npz)"));
  const idx = {};
  p.trials.forEach((t, i) => { (idx[p.conditions[i]] = idx[p.conditions[i]] || []).push(i); });
  p._cards = [];
  p._order = D.conditions.filter(c => idx[c]).map(c => idx[c]).flat();
  D.conditions.filter(c => idx[c]).forEach(c => {
    const box = el("div", {className: "cards"});
    idx[c].forEach(i => {
      const card = el("div", {className: "card", id: "trial-" + p.trials[i]});
      card.append(el("div", {className: "t", onclick: () => select(i, -1)},
        el("b", {}, "trial " + p.trials[i]), el("span", {className: "st"}, "")));
      M.forEach((m, j) => {
        const cv = el("canvas", {title: m});
        const cell = el("div", {className: "cell", id: "c-" + p.trials[i] + "-" + m,
          onclick: () => select(i, j)}, cv, el("span", {className: "why"}, ""));
        card.append(cell); draw(cv, p, i, j);
      });
      p._cards[i] = card; box.append(card);
    });
    main.append(el("h3", {}, c + " (" + idx[c].length + " trials)"), box);
  });
  if (fresh) S.i = p._order.length ? p._order[0] : 0;
  app.append(headerBar([prev ? el("a", {href: "#" + prev.id}, "◀ " + prev.id) : "",
    el("b", {}, p.id + " (" + p.status + ")"), next ? el("a", {href: "#" + next.id}, next.id + " ▶") : "",
    el("button", {id: "exclude", title: "key x", onclick: () => mark("exclude")}, "exclude"),
    el("button", {id: "include", title: "key i", onclick: () => mark("include")}, "include"),
    el("button", {id: "undo", title: "key u", onclick: undo}, "undo")]), main,
    el("aside", {id: "excerpt"}));
  document.body.classList.add("withex");
  refresh();
}
function select(i, j) { S.i = i; S.m = j; refresh(true); }
function refresh(scroll) {
  if (!S.pid) { overview(); return; }
  const p = byId[S.pid];
  (p._cards || []).forEach((card, i) => {
    card.classList.toggle("sel", i === S.i && S.m < 0);
    const trial = p.trials[i]; let n = 0;
    M.forEach((m, j) => {
      const cell = card.children[j + 1], r = manual(p, trial, m), auto = p.auto && p.auto[i][j];
      cell.className = "cell" + (auto ? " auto" : "") + (r ? (r.action === "exclude" ? " excl" : " incl") : "") +
        (i === S.i && j === S.m ? " sel" : "");
      cell.lastChild.textContent = r ? r.action + (r.reason ? ": " + r.reason : "") : (auto || "");
      if (r ? r.action === "exclude" : auto) n++;
    });
    card.querySelector(".st").textContent = n ? n + "/" + M.length + " out" : "";
  });
  const note = document.getElementById("stale");
  if (note) note.replaceWith(staleNote(stale(p)) || el("span"));
  if (scroll && p._cards[S.i]) p._cards[S.i].scrollIntoView({block: "nearest"});
  if (S.shown !== S.i + ":" + S.m + ":" + S.pid) { S.shown = S.i + ":" + S.m + ":" + S.pid; drawExcerpt(p); }
  status();
}
document.addEventListener("keydown", e => {
  if (e.target.tagName === "INPUT") { if (e.key === "Escape") e.target.blur(); return; }
  if (e.key === "?") { help(); return; }
  if (e.key === "Escape") { help(false); return; }
  if (!S.pid) return;
  const p = byId[S.pid], n = p.trials.length;
  const order = p._order || [], at = Math.max(0, order.indexOf(S.i));
  const go = d => { S.i = order[Math.max(0, Math.min(order.length - 1, at + d))]; refresh(true); };
  if (e.key === "x") mark("exclude");
  else if (e.key === "i") mark("include");
  else if (e.key === "u") undo();
  else if (e.key === "ArrowRight" || e.key === "j") go(1);
  else if (e.key === "ArrowLeft" || e.key === "k") go(-1);
  else if (e.key === "ArrowDown") { S.m = S.m + 1 >= M.length ? -1 : S.m + 1; refresh(); }
  else if (e.key === "ArrowUp") { S.m = S.m - 1 < -1 ? M.length - 1 : S.m - 1; refresh(); }
  else if (e.key === "n" && D.participants[D.participants.indexOf(p) + 1]) {
    location.hash = D.participants[D.participants.indexOf(p) + 1].id; }
  else if (e.key === "p" && D.participants.indexOf(p) > 0) {
    location.hash = D.participants[D.participants.indexOf(p) - 1].id; }
  else return;
  e.preventDefault();
});
function route() {
  const h = decodeURIComponent(location.hash.slice(1)).split("&")[0];
  if (h && byId[h]) participant(h); else overview();
}
document.body.append(el("div", {id: "help"}, el("b", {}, "Keys"), el("pre", {},
  "x  exclude the selection\ni  include the selection\nu  undo the last mark\n" +
  "→ / j  next trial     ← / k  previous trial\n↓ / ↑  muscle (top: whole trial)\n" +
  "n / p  next / previous participant\n?  this help   Esc  close\n\n" +
  "Click a trace: that trial × muscle; click a trial title: the whole trial;\n" +
  "then a key or the exclude / include / undo buttons.\n" +
  "Marks use the reason and initials in the bar. With emgkit review --serve each mark is\n" +
  "saved at once; otherwise use 'download overrides.tsv'.")));
// the page's own timings (benchmarks/review_speed.py): ms to draw a view (routeMs: after a
// click; renderMs: from navigation start) and until the frame after it has been painted
// (routePaintMs, paintMs)
const stamp = document.documentElement.dataset;
function painted(key, t0) {
  requestAnimationFrame(() => setTimeout(() => { stamp[key] = (performance.now() - t0).toFixed(1); }, 0));
}
window.addEventListener("hashchange", () => { const t = performance.now(); route();
  stamp.routeMs = (performance.now() - t).toFixed(1); painted("routePaintMs", t); });
route();
stamp.renderMs = performance.now().toFixed(1);
painted("paintMs", 0);
// test hook: #sub-01&keys=x,j,x,click:3:corrugator,u then writes the table into a pre (id tsv)
(function () {
  const m = /[&]keys=([^&]*)/.exec(decodeURIComponent(location.hash));
  if (!m) return;
  const rv = /[&]reviewer=([^&]*)/.exec(decodeURIComponent(location.hash));
  if (rv) S.reviewer = rv[1];
  m[1].split(",").forEach(k => {
    if (k.startsWith("click:")) {
      const [, t, mu] = k.split(":");
      (mu === "*" ? document.getElementById("trial-" + t).firstChild
        : document.getElementById("c-" + t + "-" + mu)).click();
    } else {
      document.dispatchEvent(new KeyboardEvent("keydown", {key: k, bubbles: true}));
    }
  });
  document.body.append(el("pre", {id: "tsv"}, tsvOf(rows)));
})();
"""
