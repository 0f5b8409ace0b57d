"""The two pages the service serves: recent tasks at `/`, and the API description at `/docs`.

Plain HTML and a little JavaScript, nothing fetched from elsewhere (the service may run
with no internet). Text from tasks goes in through textContent, never as markup.
"""

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 960px; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; } code, .mono { font-family: ui-monospace, monospace; font-size: 0.9em; }
.task { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 0.8em; margin: 0.6em 0; list-style: none; }
.task .head { display: flex; gap: 1em; align-items: center; flex-wrap: wrap; }
.status { font-weight: 600; } .failed .status { color: #b00; } .completed .status { color: #070; }
.url { color: #555; overflow-wrap: anywhere; } .error { color: #b00; }
progress { width: 12em; } video { display: block; max-width: 100%; max-height: 360px; margin-top: 0.5em; }
form { display: flex; gap: 0.5em; margin: 1em 0; } form input[name=draft_url] { flex: 1; }
ul { padding: 0; } .method { display: inline-block; min-width: 4em; font-weight: 600; }
"""

INDEX_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>draftrender</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>""" + STYLE + """</style></head>
<body>
<h1>draftrender: recent tasks</h1>
<p><a href="/docs">API</a> · <span id="summary">loading…</span></p>
<form id="submit"><input name="draft_url" placeholder="https://…/draft_content.json" required>
<button>Render</button></form>
<form id="key"><input name="key" type="password" placeholder="API key (only if the service needs one)">
<button>Save key</button></form>
<ul id="tasks"></ul>
<h2>Generations</h2>
<p id="gen-summary"></p>
<ul id="generations"></ul>
<script>
"use strict";
const KEY = "draftrender.key";
const rows = new Map();

function api(path, init = {}) {
  const key = localStorage.getItem(KEY);
  const headers = Object.assign({}, init.headers || {}, key ? {Authorization: "Bearer " + key} : {});
  return fetch(path, Object.assign({}, init, {headers}));
}

function text(tag, cls) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  return el;
}

function rowFor(task) {
  let row = rows.get(task.task_id);
  if (row) return row;
  row = text("li", "task");
  row.dataset.taskId = task.task_id;
  const head = text("div", "head");
  for (const cls of ["status", "stage", "percent"]) head.appendChild(text("span", cls));
  head.insertBefore(text("progress"), head.children[2]);
  head.querySelector("progress").max = 100;
  row.append(head, text("div", "url mono"), text("div", "error"));
  rows.set(task.task_id, row);
  return row;
}

function show(task) {
  const row = rowFor(task);
  row.classList.remove("queued", "processing", "completed", "failed");
  row.classList.add(task.status);
  row.dataset.status = task.status;
  row.querySelector(".status").textContent = task.status;
  row.querySelector(".stage").textContent = task.stage || "";
  row.querySelector("progress").value = task.progress;
  row.querySelector(".percent").textContent = Math.round(task.progress) + " %";
  row.querySelector(".url").textContent = task.draft_url;
  row.querySelector(".error").textContent = task.error ? task.error.detail + ": " + task.error.message : "";
  if (task.status === "completed" && task.video_url && !row.querySelector("video")) {
    const video = text("video");
    video.controls = true;
    video.preload = "metadata";
    video.muted = true;
    const info = text("div", "duration");
    video.addEventListener("loadedmetadata", () => {
      video.dataset.duration = String(video.duration);
      info.textContent = `${video.videoWidth}×${video.videoHeight}, ${video.duration.toFixed(2)} s`;
    });
    video.addEventListener("error", () => { info.textContent = "this browser cannot play the video"; });
    video.src = task.video_url;
    row.append(video, info);
  }
  return row;
}

// A generation shows in a task's row: the model where a render shows its stage, the prompt
// where it shows its draft URL.
function asTask(g) {
  return {task_id: g.id, status: g.status, progress: g.progress, stage: g.api + " · " + g.model,
          draft_url: g.prompt || "", video_url: g.video_url,
          error: g.error ? {detail: "generation failed", message: g.error} : null};
}

async function refreshGenerations() {
  const res = await api("/v1/generations?limit=20");
  if (!res.ok) return;
  const page = await res.json();
  document.getElementById("gen-summary").textContent = `${page.total} generation(s)`;
  const list = document.getElementById("generations");
  page.generations.forEach((g, i) => {
    const row = show(asTask(g));
    row.dataset.generation = g.api;
    if (list.children[i] !== row) list.insertBefore(row, list.children[i] || null);
  });
}

async function refresh() {
  refreshGenerations();
  const summary = document.getElementById("summary");
  let res;
  try {
    res = await api("/v1/gen_video?limit=20");
  } catch (e) {
    summary.textContent = "the service is not answering";
    return;
  }
  if (res.status === 401) { summary.textContent = "this service needs an API key"; return; }
  const page = await res.json();
  summary.textContent = `${page.total} task(s)`;
  const list = document.getElementById("tasks");
  const seen = new Set();
  page.tasks.forEach((task, i) => {
    seen.add(task.task_id);
    const row = show(task);
    if (list.children[i] !== row) list.insertBefore(row, list.children[i] || null);
  });
  for (const [id, row] of rows) {
    if (!seen.has(id) && !row.dataset.generation) { row.remove(); rows.delete(id); }
  }
}

document.getElementById("submit").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const draft_url = ev.target.draft_url.value.trim();
  const res = await api("/v1/gen_video", {method: "POST", headers: {"Content-Type": "application/json"},
                                        body: JSON.stringify({draft_url, wait: 0})});
  const body = await res.json();
  if (res.status >= 400) alert(body.detail + ": " + body.message);
  refresh();
});
document.getElementById("key").addEventListener("submit", (ev) => {
  ev.preventDefault();
  localStorage.setItem(KEY, ev.target.key.value.trim());
  ev.target.key.value = "";
  refresh();
});
refresh();
setInterval(refresh, 1000);
</script>
</body></html>
"""

DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>draftrender API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>""" + STYLE + """</style></head>
<body>
<h1 id="title">draftrender API</h1>
<p>The machine-readable description: <a href="/openapi.json">/openapi.json</a> · <a href="/">tasks</a></p>
<ul id="routes"></ul>
<script>
"use strict";
function el(tag, cls, content) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (content !== undefined) e.textContent = content;
  return e;
}
function resolve(spec, schema) {
  while (schema && schema.$ref) schema = spec.components.schemas[schema.$ref.split("/").pop()];
  return schema || {};
}
function kind(s) {
  const type = s.enum ? s.enum.join(" | ") : (s.anyOf || [s]).map((a) => a.type).filter(Boolean).join(" or ");
  const range = (s.anyOf || [s]).map((a) => [a.minimum ?? a.exclusiveMinimum, a.maximum ?? a.exclusiveMaximum])
    .find(([lo, hi]) => lo !== undefined || hi !== undefined);
  let out = type || "object";
  if (range) out += ` ${range[0] ?? "…"}–${range[1] ?? "…"}`;
  if (s.default !== undefined && s.default !== null) out += `, default ${JSON.stringify(s.default)}`;
  return out;
}
// Every body field, nested objects (such as options) spelled out: name, type, range, default, help.
function fields(spec, schema, prefix) {
  const rows = [];
  const s = resolve(spec, schema);
  for (const [name, prop] of Object.entries(s.properties || {})) {
    const p = resolve(spec, prop);
    if (p.properties) { rows.push(...fields(spec, p, prefix + name + ".")); continue; }
    rows.push(`${prefix}${name} (${kind(p)})${p.description ? ": " + p.description : ""}`);
  }
  return rows;
}
fetch("/openapi.json").then((r) => r.json()).then((spec) => {
  document.getElementById("title").textContent = spec.info.title;
  const list = document.getElementById("routes");
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const item = el("li", "task");
      const head = el("div", "head");
      head.append(el("span", "method mono", method.toUpperCase()), el("code", "", path), el("span", "", op.summary));
      item.appendChild(head);
      const params = (op.parameters || []).map((p) => `${p.name} (${p.in}${p.required ? ", required" : ""})`);
      if (params.length) item.appendChild(el("div", "url", "parameters: " + params.join(", ")));
      const body = op.requestBody && op.requestBody.content["application/json"];
      if (body) {
        const list = el("ul", "fields");
        for (const row of fields(spec, body.schema, "")) list.appendChild(el("li", "url", row));
        item.appendChild(list);
      }
      const responses = Object.entries(op.responses).map(([code, r]) => `${code} ${r.description}`);
      item.appendChild(el("div", "url", responses.join(" · ")));
      list.appendChild(item);
    }
  }
});
</script>
</body></html>
"""
