/**
 * The gallery page served at `GET /` by the local API: one static HTML document with inline CSS
 * and JavaScript, no framework. It talks only to the same origin:
 *   POST /generate, POST /images, GET /images/{id}   (the runtime's routes, as deployed)
 *   GET /local/pictures, GET /local/queues, GET /local/object?key=…   (local-only helpers)
 * Pending cards come from the queue itself (GET /local/queues lists its waiting and in-flight
 * messages, however they were sent: the gallery, curl, aws sqs send-message) plus the jobs this
 * browser queued, until their picture or failure shows up. Pictures come one page at a time
 * (GET /local/pictures?page=N), with "Newer" / "Older" to move between pages.
 */

/** The gallery page; its prompt box takes at most the configured model's prompt length. */
export const galleryHtml = (maxPromptLength: number): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Couch Explorers — local gallery</title>
<style>
  :root { --bg:#f5f1ea; --ink:#1f2430; --muted:#6b7080; --card:#fffdf9; --accent:#e4572e; --accent2:#2e86ab; --line:#e3ddd2; }
  * { box-sizing: border-box; }
  [hidden] { display:none !important; }
  body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; background:var(--bg); color:var(--ink); }
  header { background:linear-gradient(120deg,#1f2430,#34405a); color:#fff; padding:22px 28px 18px; }
  header h1 { margin:0; font-size:24px; letter-spacing:.3px; }
  header h1 span { color:#ffb347; }
  header p { margin:4px 0 0; color:#c9cfdc; font-size:14px; }
  main { max-width:1180px; margin:0 auto; padding:22px 28px 40px; }
  .panel { display:flex; gap:18px; flex-wrap:wrap; align-items:stretch; margin-bottom:22px; }
  form { flex:1 1 520px; background:var(--card); border:1px solid var(--line); border-radius:14px; padding:16px; box-shadow:0 1px 3px rgba(0,0,0,.05); }
  textarea { width:100%; min-height:64px; resize:vertical; border:1px solid var(--line); border-radius:10px; padding:10px 12px; font:inherit; background:#fff; }
  textarea:focus { outline:2px solid var(--accent2); border-color:transparent; }
  .row { display:flex; gap:10px; align-items:center; margin-top:10px; flex-wrap:wrap; }
  button { border:0; border-radius:999px; padding:9px 18px; font:600 14px system-ui,sans-serif; cursor:pointer; color:#fff; background:var(--accent); }
  button.secondary { background:var(--accent2); }
  button:disabled { opacity:.55; cursor:progress; }
  #message { color:var(--muted); font-size:13px; min-height:18px; }
  #message.error { color:#b3261e; }
  .stats { flex:0 1 300px; display:grid; grid-template-columns:1fr 1fr; gap:10px; }
  .stat { background:var(--card); border:1px solid var(--line); border-radius:14px; padding:12px 14px; }
  .stat b { display:block; font-size:26px; line-height:1.1; }
  .stat small { color:var(--muted); }
  .stat.warn b { color:#b3261e; }
  h2 { font-size:16px; margin:26px 0 10px; color:var(--muted); font-weight:600; text-transform:uppercase; letter-spacing:.8px; }
  .grid { display:grid; grid-template-columns:repeat(auto-fill,minmax(220px,1fr)); gap:16px; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:14px; overflow:hidden; box-shadow:0 1px 3px rgba(0,0,0,.06); display:flex; flex-direction:column; }
  .card img, .card .placeholder { width:100%; aspect-ratio:1/1; object-fit:cover; display:block; background:#ece6da; }
  .placeholder { display:flex !important; align-items:center; justify-content:center; color:var(--muted); font-size:13px;
    background:linear-gradient(100deg,#ece6da 40%,#f7f2ea 50%,#ece6da 60%) !important; background-size:200% 100% !important; animation:shimmer 1.4s linear infinite; }
  .placeholder.failed { animation:none; background:#f6dcd8 !important; color:#b3261e; padding:12px; text-align:center; }
  @keyframes shimmer { to { background-position:-200% 0; } }
  .caption { padding:10px 12px 12px; }
  .caption p { margin:0 0 6px; font-size:14px; overflow-wrap:anywhere; }
  .meta { color:var(--muted); font-size:12px; display:flex; gap:8px; flex-wrap:wrap; align-items:center; }
  .badge { border-radius:999px; padding:1px 8px; font-size:11px; font-weight:600; background:#fde8e1; color:var(--accent); }
  .source { font-size:11px; color:var(--muted); }
  .pager { display:flex; gap:12px; align-items:center; justify-content:center; margin-top:18px; color:var(--muted); font-size:13px; }
  .empty { color:var(--muted); padding:30px; text-align:center; border:2px dashed var(--line); border-radius:14px; }
  details { margin-top:24px; }
  summary { cursor:pointer; color:var(--muted); }
  .failure { font-size:13px; padding:6px 0; border-bottom:1px solid var(--line); }
  footer { color:var(--muted); font-size:12px; text-align:center; padding:10px; }
  code { background:#ece6da; border-radius:4px; padding:0 4px; }
  header code { background:rgba(255,255,255,.14); color:#ffe2b8; }
</style>
</head>
<body>
<header>
  <h1>Couch Explorers <span>local gallery</span></h1>
  <p>Type where you want to travel from the sofa. Pictures land in <code id="where">…</code></p>
</header>
<main>
  <section class="panel">
    <form id="form">
      <label for="prompt"><b>Prompt</b></label>
      <textarea id="prompt" name="prompt" maxlength="${maxPromptLength}" placeholder="me at a Parisian café at sunset, old polaroid look"></textarea>
      <div class="row">
        <button type="submit" id="generate" data-mode="generate">Generate now</button>
        <button type="button" id="queue" class="secondary">Queue it</button>
        <span id="message" role="status"></span>
      </div>
    </form>
    <div class="stats">
      <div class="stat"><b id="pictures-count">–</b><small>pictures</small></div>
      <div class="stat"><b id="queue-depth">–</b><small>in queue <span id="queue-inflight"></span></small></div>
      <div class="stat" id="dlq-stat"><b id="dlq-depth">–</b><small>in dead-letter queue</small></div>
      <div class="stat"><b id="failed-count">–</b><small>failed jobs</small></div>
    </div>
  </section>
  <h2>Pictures, newest first</h2>
  <div class="grid" id="grid"><div class="empty">Loading…</div></div>
  <nav class="pager" id="pager" hidden>
    <button type="button" id="newer" class="secondary">‹ Newer</button>
    <span id="page-info"></span>
    <button type="button" id="older" class="secondary">Older ›</button>
  </nav>
  <details id="failures-box" hidden><summary id="failures-summary">Failed jobs</summary><div id="failures"></div></details>
</main>
<footer>Refreshes every 3 seconds · the same handlers as the deployed API and queue worker</footer>
<script>
(function () {
  "use strict";
  var PENDING_KEY = "couch-explorers-pending";
  var $ = function (id) { return document.getElementById(id); };
  var pending = load();
  var queued = [];
  var page = 1;

  function load() { try { return JSON.parse(localStorage.getItem(PENDING_KEY) || "[]"); } catch (e) { return []; } }
  function save() { try { localStorage.setItem(PENDING_KEY, JSON.stringify(pending)); } catch (e) {} }
  function say(text, isError) { var m = $("message"); m.textContent = text; m.className = isError ? "error" : ""; }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function ago(iso) {
    if (!iso) return "";
    var s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (s < 60) return s + " s ago"; if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago"; return new Date(iso).toLocaleDateString();
  }
  function api(method, path, body) {
    return fetch(path, { method: method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) { return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; }); });
  }

  function card(p) {
    var c = el("div", "card");
    c.dataset.key = p.key;
    var img = el("img"); img.src = p.url; img.alt = p.prompt || "picture"; img.loading = "lazy";
    c.appendChild(img);
    var cap = el("div", "caption");
    cap.appendChild(el("p", null, p.prompt || "(no prompt recorded)"));
    var meta = el("div", "meta");
    // Where the picture came from, in plain words: a badge would read like a status.
    var source = meta.appendChild(el("span", "source", p.source === "queue" ? "via queue" : "via Generate now"));
    source.title = p.source === "queue" ? "made by the queue worker (POST /images or a queue message)" : "made at once by POST /generate";
    if (p.width) meta.appendChild(el("span", null, p.width + "×" + p.height));
    meta.appendChild(el("span", "ago", ago(p.lastModified))).dataset.time = p.lastModified || "";
    cap.appendChild(meta);
    c.appendChild(cap);
    return c;
  }
  function pendingCard(job) {
    var c = el("div", "card pending");
    c.dataset.job = job.id;
    c.appendChild(el("div", "placeholder" + (job.failed ? " failed" : ""),
      job.failed ? "failed: " + job.failed : job.state === "in-flight" ? "being generated…" : job.state === "unknown" ? "queued…" : "waiting in the queue…"));
    var cap = el("div", "caption");
    cap.appendChild(el("p", null, job.prompt));
    var meta = el("div", "meta");
    meta.appendChild(el("span", "badge", job.failed ? "failed" : "pending"));
    meta.appendChild(el("span", null, "job " + job.id.slice(0, 8)));
    cap.appendChild(meta);
    c.appendChild(cap);
    return c;
  }

  function render(data) {
    $("where").textContent = "s3://" + data.bucket + "/" + data.prefix + "/";
    $("pictures-count").textContent = data.total;
    $("failed-count").textContent = data.failedTotal;
    page = data.page;
    $("pager").hidden = data.pages < 2;
    $("page-info").textContent = "page " + data.page + " of " + data.pages;
    $("newer").disabled = data.page <= 1;
    $("older").disabled = data.page >= data.pages;
    var grid = $("grid");
    var frag = document.createDocumentFragment();
    // On the first page: the queue's own list first (whoever sent the job), then this browser's jobs it does not hold.
    var inQueue = {};
    var shown = page > 1 ? [] : queued.map(function (j) { inQueue[j.id] = true; return { id: j.id, prompt: j.prompt, state: j.state }; });
    if (page === 1) pending.forEach(function (j) { if (!inQueue[j.id]) shown.push({ id: j.id, prompt: j.prompt, state: j.failed ? "failed" : "unknown", failed: j.failed }); });
    shown.forEach(function (job) { frag.appendChild(pendingCard(job)); });
    data.pictures.forEach(function (p) { frag.appendChild(card(p)); });
    var fresh = data.pictures.map(function (p) { return p.key; }).join("|") + "#" + shown.map(function (j) { return j.id + j.state + (j.failed || ""); }).join("|");
    if (grid.dataset.fresh !== fresh) {
      grid.textContent = "";
      if (!frag.childNodes.length) grid.appendChild(el("div", "empty", "No pictures yet. Type a prompt above, or send one to the queue."));
      grid.appendChild(frag);
      grid.dataset.fresh = fresh;
    } else {
      Array.prototype.forEach.call(grid.querySelectorAll(".ago"), function (s) { s.textContent = ago(s.dataset.time); });
    }
    var box = $("failures-box"), list = $("failures");
    box.hidden = !data.failures.length;
    $("failures-summary").textContent = "Failed jobs" + (data.failedTotal > data.failures.length ? " (the newest " + data.failures.length + " of " + data.failedTotal + ")" : "");
    list.textContent = "";
    data.failures.forEach(function (f) {
      var row = el("div", "failure");
      row.appendChild(el("b", null, (f.prompt || "(no prompt)") + " "));
      row.appendChild(el("span", null, "— " + (f.reason || "failed") + " (" + (f.code || f.kind || "") + ", " + ago(f.failedAt || f.lastModified) + ")"));
      list.appendChild(row);
    });
  }

  function refreshQueues() {
    return api("GET", "/local/queues").then(function (r) {
      if (r.status !== 200) return;
      queued = r.body.jobs || [];
      $("queue-depth").textContent = r.body.queue.visible + r.body.queue.delayed;
      $("queue-inflight").textContent = r.body.queue.inFlight ? "(" + r.body.queue.inFlight + " being worked on)" : "";
      $("dlq-depth").textContent = r.body.dlq.visible;
      $("dlq-stat").className = "stat" + (r.body.dlq.visible ? " warn" : "");
    });
  }
  function checkPending() {
    // A failed job stays on screen for a minute; the "failed jobs" list below keeps it after that.
    pending = pending.filter(function (j) { return !j.failedAt || Date.now() - j.failedAt < 60000; });
    return Promise.all(pending.filter(function (j) { return !j.failed; }).map(function (job) {
      return api("GET", "/images/" + encodeURIComponent(job.id)).then(function (r) {
        if (r.body.status === "done") pending = pending.filter(function (j) { return j.id !== job.id; });
        else if (r.body.status === "failed") { job.failed = r.body.reason || "failed"; job.failedAt = job.failedAt || Date.now(); }
      }).catch(function () {});
    })).then(save);
  }
  function refresh() {
    return checkPending()
      .then(function () { return Promise.all([api("GET", "/local/pictures?page=" + page), refreshQueues()]); })
      .then(function (res) { if (res[0].status === 200) render(res[0].body); })
      .catch(function () { say("The local API does not answer; is npm start still running?", true); });
  }

  function submit(mode) {
    var prompt = $("prompt").value.trim();
    if (!prompt) { say("Type a prompt first.", true); $("prompt").focus(); return; }
    page = 1; // the new picture or pending card shows on the first page
    var buttons = [$("generate"), $("queue")];
    buttons.forEach(function (b) { b.disabled = true; });
    say(mode === "generate" ? "Generating…" : "Queueing…");
    var done = function () { buttons.forEach(function (b) { b.disabled = false; }); };
    if (mode === "generate") {
      api("POST", "/generate", { prompt: prompt }).then(function (r) {
        if (r.status === 201 || r.status === 200) { say("Done: " + r.body.key); $("prompt").value = ""; }
        else say((r.body && r.body.error) || ("failed with HTTP " + r.status), true);
      }).catch(function (e) { say(String(e), true); }).then(refresh).then(done);
    } else {
      api("POST", "/images", { prompt: prompt }).then(function (r) {
        if (r.status === 202 && r.body.id) {
          pending.unshift({ id: r.body.id, prompt: prompt, at: Date.now() }); save();
          say("Queued as job " + r.body.id.slice(0, 8) + "; it appears here when the worker is done.");
          $("prompt").value = "";
        } else say((r.body && r.body.error) || ("failed with HTTP " + r.status), true);
      }).catch(function (e) { say(String(e), true); }).then(refresh).then(done);
    }
  }

  $("newer").addEventListener("click", function () { page = Math.max(1, page - 1); refresh(); });
  $("older").addEventListener("click", function () { page += 1; refresh(); });
  $("form").addEventListener("submit", function (e) { e.preventDefault(); submit("generate"); });
  $("queue").addEventListener("click", function () { submit("queue"); });
  $("prompt").addEventListener("keydown", function (e) { if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) submit("generate"); });
  refresh();
  // Each refresh lists the prefix; a tab in the background does not need it.
  setInterval(function () { if (!document.hidden) refresh(); }, 3000);
})();
</script>
</body>
</html>
`;
