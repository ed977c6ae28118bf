// The review page of `locate serve`: upload, job list with live progress, the
// sheet viewer (Leaflet over tiles the server renders at the zoom asked for),
// hits coloured by label and score, verdicts, missed tags, downloads, drift.
// Every text that came from a document or a catalog goes in through
// textContent (el() below) -- never innerHTML -- so a tag that is HTML or a
// <script> is shown as text.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { token: localStorage.getItem("locator_token") || "", job: null, hits: [],
  missing: [], missed: [], verdicts: {}, file: 0, page: 1, pages: [], map: null,
  layer: null, boxes: new Map(), selected: null, streams: new Map(), drawing: false };

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

async function api(path, opts = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + state.token }, opts.headers || {});
  const r = await fetch(path, Object.assign({}, opts, { headers }));
  if (r.status === 401) { signOut(); throw new Error("sign in again"); }
  if (!r.ok) {
    let msg = r.statusText;
    try { msg = (await r.json()).error.message; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return r.status === 204 ? null : r.json();
}

// ---- sign in: the token is kept in this browser; the cookie lets tiles,
// downloads and the event stream (which cannot send headers) carry it too.
function setCookie(v) {
  document.cookie = "locator_token=" + encodeURIComponent(v) + "; path=/; SameSite=Strict" +
    (v ? "" : "; max-age=0");
}
function signOut() {
  state.token = ""; localStorage.removeItem("locator_token"); setCookie("");
  $("app").hidden = true; $("login").hidden = false; $("logout").hidden = true;
  $("who").textContent = "";
}
async function signIn() {
  setCookie(state.token);
  const me = await api("/api/me");
  localStorage.setItem("locator_token", state.token);
  $("who").textContent = "signed in as " + me.name + (me.admin ? " (admin)" : "");
  $("login").hidden = true; $("app").hidden = false; $("logout").hidden = false;
  refreshJobs(); refreshDrift();
}
$("login").addEventListener("submit", (ev) => {
  ev.preventDefault(); state.token = $("token").value.trim();
  signIn().catch((e) => { $("who").textContent = e.message; });
});
$("logout").addEventListener("click", signOut);

// ---- upload by drag and drop (or the file inputs)
const picked = { documents: [], catalog: null };
function classify(files) {
  for (const f of files) {
    if (/\.(ya?ml|csv|xlsx|txt)$/i.test(f.name)) picked.catalog = f;
    else picked.documents.push(f);
  }
  showPicked();
}
function showPicked() {
  const ul = $("chosen"); ul.replaceChildren();
  for (const f of picked.documents) ul.append(el("li", { text: "document: " + f.name }));
  if (picked.catalog) ul.append(el("li", { text: "catalog: " + picked.catalog.name }));
}
const drop = $("drop");
drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (ev) => {
  ev.preventDefault(); drop.classList.remove("over"); classify(ev.dataTransfer.files);
});
$("documents").addEventListener("change", (ev) => {
  picked.documents = []; classify(ev.target.files);
});
$("catalog").addEventListener("change", (ev) => { picked.catalog = ev.target.files[0]; showPicked(); });
$("send").addEventListener("click", async () => {
  const msg = $("send-msg");
  if (!picked.documents.length || !picked.catalog) {
    msg.textContent = "choose documents and a catalog first"; return;
  }
  const form = new FormData();
  for (const f of picked.documents) form.append("documents", f, f.name);
  form.append("catalog", picked.catalog, picked.catalog.name);
  if ($("column").value.trim()) form.append("column", $("column").value.trim());
  form.append("settings", JSON.stringify({ dpi: Number($("dpi").value) || 300 }));
  msg.textContent = "sending...";
  try {
    const job = await api("/api/jobs", { method: "POST", body: form });
    msg.textContent = "sent: job queued";
    picked.documents = []; picked.catalog = null; showPicked();
    await refreshJobs(); openJob(job.id);
  } catch (e) { msg.textContent = "refused: " + e.message; }
});

// ---- the job list, with a progress stream per live job
async function refreshJobs() {
  const jobs = await api("/api/jobs");
  const ul = $("jobs"); ul.replaceChildren();
  for (const j of jobs) ul.append(jobItem(j));
}
function jobItem(j) {
  const li = el("li", { "data-job": j.id, onclick: () => openJob(j.id) });
  if (state.job && state.job.id === j.id) li.classList.add("current");
  fillJob(li, j);
  if ((j.state === "queued" || j.state === "running") && !state.streams.has(j.id)) follow(j.id);
  return li;
}
function fillJob(li, j) {
  const name = j.files.map((f) => f.name).join(", ");
  const bar = el("progress", { max: String(j.pages_total || 1), value: String(j.pages_done) });
  li.replaceChildren(el("div", { class: "name", text: name }),
    el("div", { class: "state-" + j.state, text: j.state + " - " + j.pages_done + "/" +
      j.pages_total + " pages, " + j.tiles_done + " tiles" +
      (j.hits != null ? ", " + j.hits + " hits" : "") + (j.error ? ": " + j.error : "") }),
    bar);
  li.dataset.state = j.state;
}
function follow(id) {
  const es = new EventSource("/api/jobs/" + id + "/events");
  state.streams.set(id, es);
  es.addEventListener("progress", (ev) => {
    const j = JSON.parse(ev.data);
    const li = document.querySelector('#jobs li[data-job="' + CSS.escape(id) + '"]');
    if (li) fillJob(li, j);
  });
  es.addEventListener("end", () => {
    es.close(); state.streams.delete(id); refreshJobs();
    if (state.job && state.job.id === id) openJob(id);
  });
  es.onerror = () => { es.close(); state.streams.delete(id); };
}

// ---- the viewer
async function openJob(id) {
  const job = await api("/api/jobs/" + id);
  state.job = job; state.file = 0; state.page = 1;
  document.querySelectorAll("#jobs li").forEach((li) =>
    li.classList.toggle("current", li.dataset.job === id));
  $("job-title").textContent = job.files.map((f) => f.name).join(", ") + " - " + job.state;
  const fsel = $("file"); fsel.replaceChildren();
  job.files.forEach((f, i) => fsel.append(el("option", { value: String(i), text: f.name })));
  if (job.state !== "done") { clearReview(); return; }
  [state.hits, state.missing] = await Promise.all([api("/api/jobs/" + id + "/hits"),
    api("/api/jobs/" + id + "/missing")]);
  await loadVerdicts();
  showDownloads();
  $("add-missed").disabled = false;
  await showFile(0);
}
function clearReview() {
  state.hits = []; state.missing = []; state.missed = []; state.verdicts = {};
  renderLists(); $("downloads").replaceChildren(); $("add-missed").disabled = true;
}
async function loadVerdicts() {
  const v = await api("/api/jobs/" + state.job.id + "/verdicts");
  state.verdicts = {}; for (const r of v.verdicts) state.verdicts[r.hit] = r.verdict;
  state.missed = v.missed;
}
function showDownloads() {
  const d = $("downloads"); d.replaceChildren();
  const base = "/api/jobs/" + state.job.id + "/download/";
  const links = [["CSV", "hits.csv"], ["JSON", "hits.json"], ["Workbook", "hits.xlsx"],
    ["Parquet", "hits.parquet"], ["Marked-up PDF", "hits.pdf?file=" + state.file],
    ["Missing", "missing.csv"], ["Truth", "truth.csv"], ["Warnings", "warnings.csv"]];
  for (const [label, path] of links) d.append(el("a", { href: base + path, text: label, download: "" }));
}
async function showFile(i) {
  state.file = i; $("file").value = String(i);
  state.pages = await api("/api/jobs/" + state.job.id + "/files/" + i + "/pages");
  const psel = $("page"); psel.replaceChildren();
  for (const p of state.pages) psel.append(el("option", { value: String(p.page), text: String(p.page) }));
  showDownloads();
  showPage(1);
}
$("file").addEventListener("change", (ev) => showFile(Number(ev.target.value)));
$("page").addEventListener("change", (ev) => showPage(Number(ev.target.value)));

function showPage(n) {
  state.page = n; $("page").value = String(n);
  const p = state.pages[n - 1];
  if (state.map) { state.map.remove(); state.map = null; }
  const s0 = p.tile / Math.max(p.width, p.height);
  // One unit of the map is one point of the page's view, y down.
  const crs = L.extend({}, L.CRS.Simple, { transformation: new L.Transformation(s0, 0, s0, 0) });
  const bounds = L.latLngBounds([0, 0], [p.height, p.width]);
  // whole zoom steps: at a fractional zoom the browser scales each tile on its
  // own and a hairline of the background shows between them
  const map = L.map("map", { crs, minZoom: 0, maxZoom: p.max_zoom + 2, zoomSnap: 1,
    maxBounds: bounds.pad(0.5), attributionControl: false });
  state.map = map;
  L.tileLayer("/api/jobs/" + state.job.id + "/files/" + state.file + "/pages/" + n +
    "/tiles/{z}/{x}/{y}.png", { tileSize: p.tile, minZoom: 0, maxZoom: p.max_zoom + 2,
    maxNativeZoom: p.max_zoom, bounds, noWrap: true }).addTo(map);
  map.fitBounds(bounds);
  state.layer = L.layerGroup().addTo(map);
  drawBoxes(); renderLists(); setupDrawing(map);
}

function hue(label) {
  let h = 0; for (const c of String(label)) h = (h * 31 + c.codePointAt(0)) % 360;
  return h;
}
function colour(h) {
  // hue by label; a low score is paler
  const light = h.score >= 95 ? 40 : h.score >= 85 ? 50 : 62;
  return "hsl(" + hue(h.label) + ",85%," + light + "%)";
}
function drawBoxes() {
  state.layer.clearLayers(); state.boxes.clear();
  for (const h of state.hits) {
    if (h.file_index !== state.file || h.page !== state.page) continue;
    const [x0, y0, x1, y1] = h.view;
    const v = state.verdicts[h.index];
    const r = L.rectangle([[y0, x0], [y1, x1]], { color: v === "wrong" ? "#777" : colour(h),
      weight: h.index === state.selected ? 4 : 2, dashArray: v === "wrong" ? "4 3" : null,
      fillOpacity: 0.08, className: "hit-box" });
    // a DOM node, not a string: Leaflet would read a string as HTML
    r.bindTooltip(el("span", { text: h.pattern_id + " (" + h.score + ")" }));
    r.on("click", () => select(h.index));
    r.addTo(state.layer); state.boxes.set(h.index, r);
  }
  for (const m of state.missed) {
    if (m.file !== state.file || m.page !== state.page) continue;
    L.rectangle([[m.y0, m.x0], [m.y1, m.x1]], { color: "#e000e0", weight: 2,
      dashArray: "2 2", className: "missed-box" }).addTo(state.layer);
  }
}
function select(i) {
  state.selected = i;
  const h = state.hits[i];
  if (h.file_index !== state.file) { showFile(h.file_index).then(() => select(i)); return; }
  if (h.page !== state.page) showPage(h.page);
  const [x0, y0, x1, y1] = h.view;
  state.map.fitBounds([[y0, x0], [y1, x1]], { maxZoom: state.pages[h.page - 1].max_zoom, padding: [80, 80] });
  drawBoxes(); renderLists();
}

function matches(q, ...texts) {
  return !q || texts.some((t) => String(t || "").toLowerCase().includes(q));
}
function renderLists() {
  const q = $("search").value.trim().toLowerCase();
  const ul = $("hits"); ul.replaceChildren();
  let shown = 0;
  for (const h of state.hits) {
    if (!matches(q, h.pattern_id, h.text, h.label, h.file)) continue;
    shown++;
    const v = state.verdicts[h.index];
    const li = el("li", { "data-hit": String(h.index) },
      el("span", { class: "swatch", style: "background:" + colour(h) }),
      el("span", { class: "code", text: h.pattern_id + "  p" + h.page + "  " + h.score,
        title: "read: " + h.text, onclick: () => select(h.index) }),
      el("button", { type: "button", class: "ok", title: "correct", text: "\u2713",
        onclick: () => verdict(h.index, v === "correct" ? null : "correct") }),
      el("button", { type: "button", class: "bad", title: "wrong", text: "\u2717",
        onclick: () => verdict(h.index, v === "wrong" ? null : "wrong") }));
    if (v) li.classList.add("v-" + v);
    if (h.index === state.selected) li.classList.add("selected");
    ul.append(li);
  }
  $("hit-count").textContent = "(" + shown + "/" + state.hits.length + ")";
  const mu = $("missing"); mu.replaceChildren();
  for (const m of state.missing) {
    if (!matches(q, m.pattern_id, m.text, m.label)) continue;
    mu.append(el("li", { text: m.pattern_id + (m.label ? "  [" + m.label + "]" : "") }));
  }
  $("missing-count").textContent = "(" + state.missing.length + ")";
  const dd = $("missed"); dd.replaceChildren();
  for (const m of state.missed) {
    dd.append(el("li", {}, el("span", { class: "code", text: m.code + "  p" + m.page }),
      el("button", { type: "button", text: "remove", onclick: () => removeMissed(m.id) })));
  }
}
$("search").addEventListener("input", renderLists);

async function verdict(i, v) {
  await api("/api/jobs/" + state.job.id + "/verdicts/" + i, { method: "PUT",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ verdict: v }) });
  if (v) state.verdicts[i] = v; else delete state.verdicts[i];
  drawBoxes(); renderLists(); refreshDrift();
}

// ---- "add a missed tag": draw a box on the sheet, type the code
let drawn = null;
function setupDrawing(map) {
  let start = null, rect = null;
  map.on("mousedown", (ev) => {
    if (!state.drawing) return;
    start = ev.latlng; rect = L.rectangle([start, start], { color: "#e000e0", weight: 2 }).addTo(map);
  });
  map.on("mousemove", (ev) => { if (start && rect) rect.setBounds([start, ev.latlng]); });
  map.on("mouseup", (ev) => {
    if (!start) return;
    const b = L.latLngBounds(start, ev.latlng); start = null;
    state.drawing = false; map.dragging.enable(); $("map").classList.remove("drawing");
    drawn = { rect, x0: b.getWest(), y0: b.getSouth(), x1: b.getEast(), y1: b.getNorth() };
    $("missed-form").hidden = false; $("missed-code").focus();
  });
}
$("add-missed").addEventListener("click", () => {
  state.drawing = true; state.map.dragging.disable(); $("map").classList.add("drawing");
});
$("missed-cancel").addEventListener("click", () => {
  if (drawn) drawn.rect.remove(); drawn = null; $("missed-form").hidden = true;
});
$("missed-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (!drawn) return;
  const y0 = Math.min(drawn.y0, drawn.y1), y1 = Math.max(drawn.y0, drawn.y1);
  const body = { file: state.file, page: state.page, code: $("missed-code").value.trim(),
    label: $("missed-label").value.trim() || null, x0: drawn.x0, y0, x1: drawn.x1, y1,
    space: "view" };
  await api("/api/jobs/" + state.job.id + "/missed", { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  drawn.rect.remove(); drawn = null; $("missed-form").hidden = true;
  $("missed-code").value = ""; $("missed-label").value = "";
  await loadVerdicts(); drawBoxes(); renderLists(); refreshDrift();
});
async function removeMissed(id) {
  await api("/api/jobs/" + state.job.id + "/missed/" + id, { method: "DELETE" });
  await loadVerdicts(); drawBoxes(); renderLists(); refreshDrift();
}

// ---- the drift watch
async function refreshDrift() {
  const rows = await api("/api/drift");
  const tb = document.querySelector("#drift tbody"); tb.replaceChildren();
  const pct = (v) => (v == null ? "-" : Math.round(v * 100) + "%");
  for (const r of rows) {
    tb.append(el("tr", {}, el("td", { text: r.week }), el("td", { text: r.label }),
      el("td", { text: String(r.reviewed) }), el("td", { text: pct(r.wrong_share) }),
      el("td", { text: pct(r.missed_share) })));
  }
}

setInterval(() => { if (state.token && !$("app").hidden) refreshJobs().catch(() => {}); }, 5000);
if (state.token) signIn().catch(() => signOut()); else signOut();
