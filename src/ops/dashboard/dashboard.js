// The cutover dashboard: reads the admin API of the gateway that serves it
// (relative URLs, so the page works under any prefix and on admin.listen)
// every two seconds, and flips routes through it.  The admin token is asked
// for once, kept in this tab's sessionStorage and sent as a bearer header;
// it never goes into a URL.
"use strict";

const MODES = ["legacy", "dual-write", "shadow", "live", "rampdown", "mongodb", "passthrough"];
const MONGO_FIRST = new Set(["live", "rampdown", "mongodb"]);
const REFRESH_MS = 2000;
const $ = (id) => document.getElementById(id);

let token = sessionStorage.getItem("cutover-admin-token") || "";
let lastOk = 0;
let routes = {};

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

class Unauthorized extends Error {}

async function api(method, path, body) {
  const opts = { method, headers: { Authorization: "Bearer " + token }, cache: "no-store" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  if (r.status === 401) throw new Unauthorized();
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  return { status: r.status, json };
}

function say(text, kind) {
  const m = $("message");
  m.textContent = text;
  m.className = "banner " + (kind || "");
  m.hidden = !text;
}

function askToken() {
  $("main").hidden = true;
  $("login").hidden = false;
  $("token").focus();
}

function ms(v) { return v >= 1 ? v.toFixed(1) + " ms" : (v * 1000).toFixed(0) + " µs"; }
// The noise baseline's evidence beside its suggestion: for each path, the
// re-reads and distinct records it differed in, and why a rule is withheld.
function noiseEvidence(nb) {
  if (!nb || !nb.evidence || !Object.keys(nb.evidence).length) return "";
  const lines = Object.entries(nb.evidence).map(([p, e]) =>
    `${p}: ${e.reads} re-reads of ${e.records} records` + (e.noisy ? " (noise)" : " (not yet noise)") +
    (e.identity ? ", identifies a record: never ignored" : ""));
  lines.push(`${nb.reads} re-reads, ${nb.differed} differed, ${nb.raced} overlapped a write (not counted)`);
  if (nb.ignore_rule) lines.push("to ignore: " + JSON.stringify(nb.ignore_rule));
  if (nb.withheld) lines.push("no rule suggested: " + nb.withheld);
  return lines.join("\n");
}

function pct(n, d) { return d ? (100 * n / d).toFixed(1) + " %" : "–"; }

function modeOptions(select, current, withGlobal) {
  select.replaceChildren();
  if (withGlobal) select.append(el("option", { value: "global", text: "global" }));
  for (const m of MODES) select.append(el("option", { value: m, text: m }));
  select.value = current;
}

function renderRoutes(doc) {
  const tbody = $("routes").querySelector("tbody");
  const keep = {};
  for (const r of doc.routes) {
    keep[r.route] = true;
    routes[r.route] = r;
    let tr = tbody.querySelector(`tr[data-route="${CSS.escape(r.route)}"]`);
    if (!tr) {
      tr = el("tr", { "data-route": r.route });
      for (let i = 0; i < 11; i++) tr.append(el("td"));
      const sel = el("select", { "aria-label": "mode of " + r.route, class: "flip-mode" });
      modeOptions(sel, r.mode, true);
      const btn = el("button", { type: "button", class: "flip", text: "Flip" });
      btn.addEventListener("click", () => flip(r.route, sel.value));
      tr.cells[10].append(sel, " ", btn);
      tbody.append(tr);
    }
    const auth = MONGO_FIRST.has(r.mode) ? r.latency_ms.mongodb : r.latency_ms.legacy;
    const sec = MONGO_FIRST.has(r.mode) ? r.latency_ms.legacy : r.latency_ms.mongodb;
    const c = tr.cells;
    c[0].textContent = r.route;
    c[1].replaceChildren(el("span", { class: "mode " + r.mode, text: r.mode }),
      r.mode_source === "global" ? el("span", { class: "quiet", text: " (global)" }) : "",
      r.pending_mode ? el("span", { class: "quiet", text: " → " + r.pending_mode + " when writes are in" }) : "");
    c[2].textContent = r.compared; c[2].className = "num";
    c[3].textContent = pct(r.matched, r.compared); c[3].className = "num";
    c[4].textContent = r.mismatched; c[4].className = "num";
    c[5].textContent = `${r.raced} · ${r.noise} · ${r.ordering}`; c[5].className = "num";
    c[5].title = noiseEvidence(r.noise_baseline);
    c[6].textContent = `${r.secondary_errors} · ${r.secondary_timeouts} · ${r.dropped}`; c[6].className = "num";
    c[7].textContent = auth.calls ? `${ms(auth.p50)} / ${ms(auth.p99)}` : "–"; c[7].className = "num";
    c[8].textContent = sec.calls ? `${ms(sec.p50)} / ${ms(sec.p99)}` : "–"; c[8].className = "num";
    c[1].className = "wrap";
    c[9].textContent = r.readiness; c[9].className = "wrap " + (r.ready ? "ready" : "notready");
    c[9].title = (r.readiness_checks || []).map((k) => `${k.check}: ${k.ok ? "ok" : "NOT"} (${k.detail})`)
      .join("\n");
    if (r.fallback)
      c[1].append(el("div", { class: "fallback", text: `fell back to shadow by itself at ${r.fallback.at}: ` +
                              r.fallback.reason }));
  }
  for (const tr of [...tbody.rows]) if (!keep[tr.dataset.route]) tr.remove();
  const g = $("global-mode");
  if (document.activeElement !== g) modeOptions(g, doc.mode, false);
  g.dataset.current = doc.mode;
}

// A line diff of the two answers, pretty-printed (longest common subsequence).
function diffLines(a, b) {
  const n = a.length, m = b.length;
  if (n * m > 4e6) return [...a.map((l) => ["del", l]), ...b.map((l) => ["add", l])];
  const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      L[i][j] = a[i] === b[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { out.push(["same", a[i]]); i++; j++; }
    else if (L[i + 1][j] >= L[i][j + 1]) out.push(["del", a[i++]]);
    else out.push(["add", b[j++]]);
  }
  while (i < n) out.push(["del", a[i++]]);
  while (j < m) out.push(["add", b[j++]]);
  return out;
}

function pretty(body) {
  try { return JSON.stringify(JSON.parse(body), null, 2).split("\n"); } catch (e) { return String(body).split("\n"); }
}

function renderMismatches(list) {
  const box = $("mismatches");
  $("no-mismatches").hidden = list.length > 0;
  box.replaceChildren();
  for (const m of list) {
    const pre = el("pre", { class: "diff" });
    for (const [kind, line] of diffLines(pretty(m.authoritative.body), pretty(m.secondary.body)))
      pre.append(el("span", { class: kind, text: (kind === "add" ? "+ " : kind === "del" ? "- " : "  ") + line }));
    const patch = el("pre", { class: "patch", text: JSON.stringify(m.patch, null, 2) });
    box.append(el("div", { class: "mismatch", "data-route": m.route },
      el("h3", { text: `${m.time} · ${m.route} · ${m.method} ${m.url} · user ${m.principal} · ` +
                       `${m.authoritative.status} (authoritative, −) against ${m.secondary.status} (secondary, +)` }),
      el("div", { class: "body" }, pre, patch)));
  }
}

async function refresh() {
  if (!token) return askToken();
  try {
    const [rt, mm, jr, pt, rd] = await Promise.all([
      api("GET", "routes"), api("GET", "mismatches?limit=10"), api("GET", "journal?limit=5"),
      api("GET", "passthrough"), fetch("ready", { cache: "no-store" }).then(async (r) => ({ status: r.status, json: await r.json() })),
    ]);
    lastOk = Date.now();
    if (rt.status === 404) {
      $("main").hidden = true;
      $("login").hidden = true;
      $("status").textContent = "admin API off";
      return say("The admin API is off: start the gateway with CUTOVER_ADMIN_TOKEN set.", "bad");
    }
    $("unreachable").hidden = true;
    $("status").textContent = "live · updated " + new Date(lastOk).toLocaleTimeString();
    $("status").className = "status ok";
    $("login").hidden = true;
    $("main").hidden = false;
    renderRoutes(rt.json);
    renderMismatches(mm.json || []);
    const j = jr.json;
    $("journal-depth").textContent = j.depth;
    $("journal-detail").textContent = j.depth ? `oldest ${j.oldest_age_seconds.toFixed(1)} s; ` +
      `${j.drained} applied, ${j.failed_attempts} failed attempts since the start` : `${j.drained} applied since the start`;
    const p = pt.json;
    $("passthrough").textContent = `${p.requests} requests to the application; ${p.bad_gateway} answered 502, ` +
      `${p.gateway_timeout} 504`;
    $("probe").textContent = rd.status === 200 ? "ready" : "not ready: " + rd.json.reason;
    $("probe").className = rd.status === 200 ? "ready" : "notready";
  } catch (e) {
    if (e instanceof Unauthorized) {
      token = "";
      sessionStorage.removeItem("cutover-admin-token");
      say("The admin token was refused.", "bad");
      return askToken();
    }
    $("unreachable").hidden = false;
    $("unreachable-since").textContent = lastOk ? "Last answer at " + new Date(lastOk).toLocaleTimeString() + "." : "";
    $("status").textContent = "unreachable";
    $("status").className = "status bad";
  }
}

// Ask first, showing what readiness says; then flip and say what happened.
function confirmFlip(title, readiness) {
  const d = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-readiness").textContent = readiness;
  $("confirm-force").checked = false;
  return new Promise((resolve) => {
    d.addEventListener("close", () => resolve(d.returnValue === "ok" &&
      { force: $("confirm-force").checked }), { once: true });
    d.returnValue = "";
    d.showModal();
  });
}

async function flip(route, mode) {
  const r = routes[route];
  const readiness = r ? `Readiness of ${route}: ${r.readiness} (${r.readiness_detail}).` : "";
  const ok = await confirmFlip(`Flip ${route} from ${r ? r.mode : "?"} to ${mode}?`, readiness);
  if (!ok) return;
  await sendFlip("routes/" + encodeURIComponent(route),
    { mode: mode === "global" ? null : mode, force: ok.force, by: "dashboard" }, route);
}

async function flipGlobal() {
  const g = $("global-mode");
  const ok = await confirmFlip(`Flip the global mode from ${g.dataset.current} to ${g.value}?`,
    "Every route that follows the global mode changes with it; each must be ready for a flip to MongoDB.");
  if (!ok) return;
  await sendFlip("mode", { mode: g.value, force: ok.force, by: "dashboard" }, "the global mode");
}

// The API's advice is for API clients; on this page the way is the checkbox.
function forceHint(detail) {
  return detail.replace('Flip with "force": true to override.', "Tick Force in the confirmation to override.");
}

async function sendFlip(path, body, what) {
  try {
    const r = await api("PUT", path, body);
    if (r.status === 200) say(`Flipped ${what} to ${r.json.mode}.`, "good");
    else if (r.status === 202) say(`${what} flips once the writes in flight are in both stores.`, "good");
    else say(`Flip of ${what} refused: ${r.json && r.json.detail ? forceHint(r.json.detail) : "status " + r.status}`,
             "bad");
  } catch (e) {
    if (e instanceof Unauthorized) { token = ""; return askToken(); }
    say(`Flip of ${what} failed: the gateway does not answer.`, "bad");
  }
  refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    token = $("token").value.trim();
    if (!token) return;
    sessionStorage.setItem("cutover-admin-token", token);
    $("token").value = "";
    say("");
    refresh();
  });
  $("forget-token").addEventListener("click", () => {
    token = "";
    sessionStorage.removeItem("cutover-admin-token");
    askToken();
  });
  $("global-flip").addEventListener("click", flipGlobal);
  modeOptions($("global-mode"), "legacy", false);
  refresh();
  setInterval(refresh, REFRESH_MS);
});
