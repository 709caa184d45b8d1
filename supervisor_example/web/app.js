// Activity page: live changes from /events (Server-Sent Events).
// Plain JavaScript, no build step, no external assets.
"use strict";
(function () {
  var MAX_ROWS = 500;
  var $ = function (id) { return document.getElementById(id); };

  // /tables/{schema}/{table} watches that table's topic only.
  var m = location.pathname.match(/^\/tables\/([^/]+)\/([^/]+)\/?$/);
  var scope = m ? decodeURIComponent(m[1]) + "." + decodeURIComponent(m[2]) : "";

  var state = {
    entries: [],   // newest first: {kind: "change"|"resync", ...}
    pending: [],   // arrived while paused, newest first
    paused: false,
    filterTable: "",
    filterOp: "",
    enabled: null,
    lastResync: null,
    tables: [],
    seen: {},      // "schema.table" names seen in changes
    opened: false, // the stream has been open before (a reopen may have lost changes)
    history: false, // the latest changes before the page opened have been shown
    tableLoads: 0,  // answers of /api/tables applied
    tablesBusy: false, tablesAgain: false, // a load in flight; another one asked for meanwhile
  };

  // plural("change", n) is "1 change", "2 changes".
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
  function pad(n, w) { n = String(n); while (n.length < w) n = "0" + n; return n; }
  function hms(iso, ms) {
    var d = iso ? new Date(iso) : new Date();
    var s = pad(d.getHours(), 2) + ":" + pad(d.getMinutes(), 2) + ":" + pad(d.getSeconds(), 2);
    return ms ? s + "." + pad(d.getMilliseconds(), 3) : s;
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ---- the change list ----

  function visible(entry) {
    if (entry.kind !== "change") return true;
    if (state.filterTable && entry.name !== state.filterTable) return false;
    if (state.filterOp && entry.operation !== state.filterOp) return false;
    return true;
  }

  function rowFor(entry, fresh) {
    var tr = el("tr");
    if (entry.kind === "resync") {
      tr.className = "marker";
      tr.dataset.kind = "resync";
      var td = el("td", "", "↻ " + hms(entry.at) + " " + entry.text);
      td.colSpan = 5;
      tr.appendChild(td);
      return tr;
    }
    tr.className = "change" + (fresh ? " fresh" : "");
    if (entry.history) tr.dataset.history = "true";
    tr.dataset.table = entry.name;
    tr.dataset.op = entry.operation;
    tr.dataset.rowId = entry.row_id;
    tr.appendChild(el("td", "time", hms(entry.at, true)));
    tr.appendChild(el("td", "table", entry.name));
    var op = el("td");
    op.appendChild(el("span", "op " + entry.operation, entry.operation));
    tr.appendChild(op);
    if (entry.row_id) {
      tr.appendChild(el("td", "row-id", entry.row_id));
    } else {
      tr.appendChild(el("td", "row-id none", "no id (statement)"));
    }
    tr.appendChild(dataCell(entry));
    return tr;
  }

  // ---- row data (WAL mode: changes carry the row) ----

  function text(v) { return v === null ? "NULL" : typeof v === "object" ? JSON.stringify(v) : String(v); }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  // dataCell shows what a WAL change carries: for an UPDATE each changed
  // column as old → new (every new value when the old row is unknown, as
  // with the default replica identity), the new row of an INSERT, the old
  // row (or key) of a DELETE. NOTIFY changes carry ids only: empty.
  function dataCell(entry) {
    var td = el("td", "data");
    var nw = entry.new, old = entry.old;
    if (!nw && !old) return td;
    if (entry.operation === "UPDATE" && nw && old) {
      Object.keys(nw).forEach(function (k) {
        if (k in old && same(old[k], nw[k])) return;
        var d = el("span", "diff");
        d.dataset.col = k;
        d.appendChild(el("b", "", k));
        if (k in old) { d.appendChild(el("del", "", text(old[k]))); d.appendChild(document.createTextNode(" → ")); }
        d.appendChild(el("ins", "", text(nw[k])));
        td.appendChild(d);
      });
      if (!td.firstChild) td.appendChild(el("span", "none", "no column changed"));
      return td;
    }
    var row = nw || old;
    Object.keys(row).forEach(function (k) {
      var v = el("span", "val " + (nw ? "new" : "old"));
      v.dataset.col = k;
      v.appendChild(el("b", "", k));
      v.appendChild(document.createTextNode(text(row[k])));
      td.appendChild(v);
    });
    return td;
  }

  function trim(list) { if (list.length > MAX_ROWS) list.length = MAX_ROWS; }

  function renderAll() {
    var body = $("rows");
    var frag = document.createDocumentFragment();
    var n = 0;
    for (var i = 0; i < state.entries.length && n < MAX_ROWS; i++) {
      if (visible(state.entries[i])) { frag.appendChild(rowFor(state.entries[i], false)); n++; }
    }
    body.replaceChildren(frag);
    renderCounts();
  }

  function prepend(entry) {
    state.entries.unshift(entry);
    trim(state.entries);
    if (!visible(entry)) { renderCounts(); return; }
    var body = $("rows");
    body.insertBefore(rowFor(entry, true), body.firstChild);
    while (body.children.length > MAX_ROWS) body.removeChild(body.lastChild);
    renderCounts();
  }

  function add(entry) {
    if (state.paused) {
      state.pending.unshift(entry);
      trim(state.pending);
      renderCounts();
      return;
    }
    prepend(entry);
  }

  function renderCounts() {
    var shown = $("rows").querySelectorAll("tr.change").length;
    var total = state.entries.filter(function (e) { return e.kind === "change"; }).length;
    var text = shown === total ? plural(shown, "change") : shown + " of " + plural(total, "change");
    if (state.paused) text += " · paused, " + state.pending.length + " waiting";
    $("counts").textContent = text;
    $("empty").hidden = $("rows").children.length > 0;
    $("pause").textContent = state.paused ? "Resume" + (state.pending.length ? " (" + state.pending.length + ")" : "") : "Pause";
    $("pause").setAttribute("aria-pressed", state.paused ? "true" : "false");
  }

  // ---- tables ----

  function renderTables() {
    var ul = $("tables");
    var frag = document.createDocumentFragment();
    if (scope) {
      var all = el("li");
      var a = el("a", "", "← all tables");
      a.href = "/";
      all.appendChild(a);
      frag.appendChild(all);
    }
    state.tables.forEach(function (t) {
      var name = t.schema + "." + t.table;
      var li = el("li", name === scope ? "current" : "");
      li.dataset.table = name;
      var a = el("a", "", name);
      a.href = "/tables/" + encodeURIComponent(t.schema) + "/" + encodeURIComponent(t.table);
      a.title = "Watch " + name + " only";
      li.appendChild(a);
      var rows = t.rows < 0 ? "?" : t.rows + (t.more ? "+" : "");
      li.dataset.rows = rows;
      li.appendChild(el("span", "rows", rows + (t.rows === 1 ? " row" : " rows")));
      frag.appendChild(li);
    });
    ul.replaceChildren(frag);
    $("tables-note").textContent = state.tables.length ? "" : "No watched table yet (a change trigger; in WAL mode, a table in the publication).";
    renderTableFilter();
  }

  function renderTableFilter() {
    var sel = $("filter-table");
    var names = {};
    state.tables.forEach(function (t) { names[t.schema + "." + t.table] = true; });
    Object.keys(state.seen).forEach(function (n) { names[n] = true; });
    var keys = Object.keys(names).sort();
    var have = Array.prototype.map.call(sel.options, function (o) { return o.value; }).slice(1);
    if (have.join("\n") === keys.join("\n")) return;
    sel.replaceChildren(el("option", "", "All tables"));
    sel.options[0].value = "";
    keys.forEach(function (k) { var o = el("option", "", k); o.value = k; sel.appendChild(o); });
    sel.value = state.filterTable;
  }

  // loadTables reads the watched tables and their row counts. The page
  // calls it once its stream is open (subscribe first, then load), after
  // every change it is sent and on every Resync, so that the counts move
  // with the changes the page lists and the table view shows. One request
  // runs at a time; those asked for meanwhile become one more after it,
  // which reads the database after every change seen so far.
  function loadTables() {
    if (state.tablesBusy) { state.tablesAgain = true; return; }
    state.tablesBusy = true;
    fetch("/api/tables", { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (ts) {
        state.tables = ts || [];
        renderTables();
        state.tableLoads++;
        $("tables").dataset.loads = state.tableLoads;
      })
      .catch(function (err) { $("tables-note").textContent = "Could not load tables: " + err.message; })
      .finally(function () {
        state.tablesBusy = false;
        if (state.tablesAgain) { state.tablesAgain = false; loadTables(); }
      });
  }

  // ---- status ----

  function renderStatus(st) {
    var l = st.listener, s, text;
    var wal = st.source === "wal", name = wal ? "WAL source" : "Listener";
    state.enabled = st.enabled;
    if (!st.enabled) { s = "disabled"; text = "Module disabled: " + name + " stopped"; }
    else if (l.connected) { s = "connected"; text = wal ? "WAL source streaming" : "Listener connected"; }
    else if (l.running) { s = "reconnecting"; text = name + " reconnecting…"; }
    else { s = "connecting"; text = name + " starting…"; }
    var box = $("status");
    box.dataset.state = s;
    box.dataset.source = st.source || "notify";
    // NOTIFY changes carry ids only: the Row data column shows in WAL mode.
    $("changes").dataset.source = box.dataset.source;
    box.dataset.reconnects = l.reconnects;
    $("status-text").textContent = text;
    var d = ["reconnects " + l.reconnects, "received " + l.received];
    if (wal) {
      d.unshift("slot " + l.slot + " · publication " + l.publication);
      d.push("confirmed " + l.confirmed_lsn, "lag " + l.lag_bytes + " bytes");
    }
    if (l.state === "stopped") d.push("stopped");
    else if (l.connected && l.last_listen) d.push("listening since " + hms(l.last_listen));
    if (l.last_error && !l.connected) d.push("last error: " + l.last_error);
    if (state.lastResync) d.push("last Resync " + hms(state.lastResync.at) + " (" + state.lastResync.reason + ")");
    if (st.dropped) d.push(st.dropped + " dropped");
    $("status-detail").textContent = d.join(" · ");
    if (st.cluster) renderCluster(st.cluster, text);
    var b = $("module-toggle");
    b.disabled = false;
    b.dataset.enabled = st.enabled ? "true" : "false";
    b.textContent = st.enabled ? "Disable" : "Enable";
  }

  // ---- cluster (-cluster) ----

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function renderCluster(c, text) {
    $("cluster").hidden = false;
    // The module toggle acts on one instance: the table has a button per instance instead.
    document.querySelector(".admin").style.display = "none";
    var leader = c.leader ? "instance " + c.leader : "none (failover in progress)";
    $("status-text").textContent = text + " · leader: " + leader;
    $("status").dataset.leader = c.leader;
    $("cluster-summary").textContent = "stream " + c.stream + (c.embedded_nats ? " (embedded NATS)" : "") +
      " · last sequence " + c.stream_last + " · leader " + leader +
      (c.serving ? " · this page reads instance " + c.serving : "");
    $("stop-leader").disabled = !c.leader;
    // Rows are updated in place, not rebuilt: a status refresh must not
    // replace a button between the pointer going down and the click.
    var body = $("members");
    var seen = {};
    c.members.forEach(function (m) {
      seen[m.n] = true;
      var tr = memberRow(body, m.n);
      tr.dataset.role = !m.enabled ? "stopped" : m.leading ? "leader" : "follower";
      var td = tr.children;
      td[0].textContent = m.n + " · " + m.id.slice(0, 8);
      td[1].textContent = tr.dataset.role;
      td[2].textContent = !m.enabled ? "stopped" : m.connected ? "consuming" : "connecting…";
      td[3].textContent = String(m.position);
      td[4].textContent = String(m.lag);
      td[5].textContent = String(m.terms);
      td[6].textContent = String(m.published);
      var b = td[7].firstChild;
      b.dataset.enabled = m.enabled ? "true" : "false";
      b.textContent = m.enabled ? "Stop" : "Start";
      b.disabled = false;
    });
    Array.prototype.slice.call(body.children).forEach(function (tr) {
      if (!seen[tr.dataset.member]) body.removeChild(tr);
    });
  }

  // memberRow returns the Cluster panel's row of instance n, creating it
  // (cells and its Stop/Start button) the first time.
  function memberRow(body, n) {
    var tr = body.querySelector('tr[data-member="' + n + '"]');
    if (tr) return tr;
    tr = document.createElement("tr");
    tr.dataset.member = n;
    ["", "role", "", "position", "lag", "", "", ""].forEach(function (cls) { cell(tr, "", cls); });
    var b = document.createElement("button");
    b.type = "button";
    b.className = "quiet member-toggle";
    b.addEventListener("click", function () {
      b.disabled = true;
      fetch("/cluster/members/" + n + "/" + (b.dataset.enabled === "true" ? "disable" : "enable"), { method: "POST" })
        .then(function () { return refreshStatus(); });
    });
    tr.lastChild.appendChild(b);
    body.appendChild(tr);
    return tr;
  }

  $("stop-leader").addEventListener("click", function (e) {
    var b = e.target;
    b.disabled = true;
    b.textContent = "Stopping…";
    fetch("/cluster/stop-leader", { method: "POST" })
      .then(function () { return refreshStatus(); })
      .finally(function () { b.textContent = "Stop leader"; });
  });

  function offline(text) {
    $("status").dataset.state = "offline";
    $("status-text").textContent = text;
  }

  function refreshStatus() {
    return fetch("/api/status", { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(renderStatus)
      .catch(function () { offline("Server unreachable"); });
  }

  // ---- the stream ----

  // The table view (table.js) follows the stream through these events.
  function tell(name, detail) { document.dispatchEvent(new CustomEvent("pkdb:" + name, { detail: detail })); }

  function resync(reason, at) {
    state.lastResync = { reason: reason, at: at };
    tell("resync", { reason: reason, at: at });
    $("resync").hidden = false;
    $("resync-text").textContent = "Resync at " + hms(at) + " (" + reason + "): changes may have been missed, so the " +
      (scope ? "table's rows and the table list were" : "table list was") + " reloaded.";
    add({ kind: "resync", at: at, text: "Resync (" + reason + "): reloaded" });
    loadTables();
  }

  function connect() {
    var url = "/events" + (scope ? "?table=" + encodeURIComponent(scope) : "");
    var es = new EventSource(url);
    es.addEventListener("open", function () {
      // A reopened stream may have missed changes while it was down.
      if (state.opened) resync("stream reopened", new Date().toISOString());
      else { tell("open", {}); loadTables(); }
      state.opened = true;
    });
    es.addEventListener("change", function (e) {
      var c = JSON.parse(e.data);
      c.kind = "change";
      c.name = c.schema + "." + c.table;
      if (!state.seen[c.name]) { state.seen[c.name] = true; renderTableFilter(); }
      tell("change", c);
      add(c);
      loadTables();
    });
    // The latest changes before this page opened, oldest first: listed
    // once, under what arrives live (a reopened stream's are not: the
    // page kept its own list and reloads after the Resync it reports).
    es.addEventListener("history", function (e) {
      if (state.history) return;
      state.history = true;
      var h = JSON.parse(e.data);
      var older = h.changes.map(function (c) {
        c.kind = "change";
        c.history = true;
        c.name = c.schema + "." + c.table;
        state.seen[c.name] = true;
        return c;
      }).reverse();
      state.entries = state.entries.concat(older);
      trim(state.entries);
      renderTableFilter();
      renderAll();
    });
    es.addEventListener("resync", function (e) {
      var r = JSON.parse(e.data);
      resync(r.reason, r.at);
    });
    es.addEventListener("status", function (e) { renderStatus(JSON.parse(e.data)); });
    es.addEventListener("error", function () { offline("Stream disconnected; reconnecting…"); });
  }

  // ---- controls ----

  $("filter-table").addEventListener("change", function (e) { state.filterTable = e.target.value; renderAll(); });
  $("filter-op").addEventListener("change", function (e) { state.filterOp = e.target.value; renderAll(); });
  $("pause").addEventListener("click", function () {
    state.paused = !state.paused;
    if (!state.paused && state.pending.length) {
      state.entries = state.pending.concat(state.entries);
      state.pending = [];
      trim(state.entries);
      renderAll();
    }
    renderCounts();
  });
  $("clear").addEventListener("click", function () {
    state.entries = [];
    state.pending = [];
    renderAll();
  });
  $("module-toggle").addEventListener("click", function (e) {
    var b = e.target;
    b.disabled = true;
    var action = state.enabled ? "disable" : "enable";
    b.textContent = action === "disable" ? "Disabling…" : "Enabling…";
    fetch("/modules/db/" + action, { method: "POST" })
      .then(function () { return refreshStatus(); })
      .finally(function () { b.disabled = false; });
  });

  if (scope) {
    $("scope").textContent = scope;
    // This page is the table's: its rows, then its changes.
    document.querySelector(".top .page").textContent = "Table";
    document.title = scope + " · Table · phoenixkitdb";
    // The stream carries this table only: the filter shows it, fixed.
    state.filterTable = scope;
    $("filter-table").disabled = true;
  }
  renderCounts();
  // A table page's stream carries that table only: the other tables'
  // counts are read every 5 s (its own move with its changes too).
  if (scope) setInterval(function () { if (!document.hidden) loadTables(); }, 5000);
  connect();
})();
