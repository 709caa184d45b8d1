// Table view: the rows of one watched table (/tables/{schema}/{table}),
// kept current from the change stream that app.js opens. It follows the
// order a live view needs: subscribe first, then load. The server
// subscribes before it answers /events, so the rows are loaded once the
// stream is open ("pkdb:open"); every later change and every Resync goes
// through one queue behind that load, so a change that arrives while the
// rows load is applied after them, and answers never overtake each other.
// In WAL mode (-source=wal) a change carries the row itself: the view
// applies it without asking the server (data-row-fetches counts the rows
// it did ask for); a Resync still reloads everything.
//
// The filter box (?where=... in the URL) switches the view to a live
// shape: an SSE stream of its own (/api/tables/{s}/{t}/shape) sends the
// matching rows, then each row moving in (insert), changing (update) or
// moving out (delete), and the number of live shapes; the page's change
// stream then only feeds the Activity list. An empty filter goes back to
// the newest rows.
"use strict";
(function () {
  var m = location.pathname.match(/^\/tables\/([^/]+)\/([^/]+)\/?$/);
  if (!m) return;
  var schema = decodeURIComponent(m[1]), table = decodeURIComponent(m[2]);
  var api = "/api/tables/" + encodeURIComponent(schema) + "/" + encodeURIComponent(table) + "/rows";
  var $ = function (id) { return document.getElementById(id); };
  var view = $("table-view"), body = $("tv-rows");
  var st = { key: "", columns: [], limit: 50, loads: 0, loaded: "", fetches: 0, objs: {} };
  var queue = Promise.resolve();
  var shapeStream = null; // the filter's EventSource, when a filter is on

  // enqueue runs fn after what is queued, unless a filter is on by then:
  // the filter's shape owns the rows.
  function enqueue(fn) {
    queue = queue.then(function () { if (!view.dataset.filter) return fn(); }).catch(function (err) { note("Could not read the table: " + err.message); });
  }
  function note(text) { $("tv-note").textContent = text; }
  // hms writes d as 24-hour HH:MM:SS, as the Activity list does.
  function hms(d) {
    return [d.getHours(), d.getMinutes(), d.getSeconds()].map(function (n) { return (n < 10 ? "0" : "") + n; }).join(":");
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function getJSON(url) {
    return fetch(url, { cache: "no-store" }).then(function (r) {
      if (r.status === 404) return null;
      if (!r.ok) return r.json().then(function (j) { throw new Error(j.error || "HTTP " + r.status); });
      return r.json();
    });
  }

  function cell(col, v) {
    var td = el("td");
    td.dataset.col = col;
    if (v === null || v === undefined) { td.className = "null"; td.textContent = "NULL"; }
    else if (typeof v === "object") td.textContent = JSON.stringify(v);
    else td.textContent = String(v);
    td.title = td.textContent;
    return td;
  }
  function rowEl(obj) {
    var tr = el("tr");
    if (st.key) { tr.dataset.key = String(obj[st.key]); st.objs[tr.dataset.key] = obj; }
    st.columns.forEach(function (c) { tr.appendChild(cell(c, obj[c])); });
    return tr;
  }
  function find(id) {
    for (var i = 0; i < body.children.length; i++) {
      if (body.children[i].dataset.key === id) return body.children[i];
    }
    return null;
  }
  function flash(tr) {
    tr.classList.remove("flash");
    void tr.offsetWidth; // restart the animation
    tr.classList.add("flash");
  }
  function counted() {
    var n = body.children.length;
    $("tv-empty").hidden = n > 0;
    view.dataset.rows = n;
    note(n + (n === 1 ? " row" : " rows") + (n >= st.limit ? " (the newest " + st.limit + ")" : "") + " · " + st.loaded);
  }

  function load(reason) {
    return getJSON(api).then(function (d) {
      if (view.dataset.filter) return; // a filter came on meanwhile
      if (!d) throw new Error("the table is no longer watched");
      st.key = d.key; st.columns = d.columns; st.limit = d.limit;
      header();
      var frag = document.createDocumentFragment();
      st.objs = {};
      d.rows.forEach(function (r) { frag.appendChild(rowEl(r)); });
      body.replaceChildren(frag);
      st.loads++;
      view.dataset.loads = st.loads;
      st.loaded = "loaded " + hms(new Date()) + " (" + reason + ")" +
        (st.key ? "" : " · no id column: every change reloads");
      counted();
    });
  }

  // fromEvent returns the row a WAL change carries, or null when the view
  // must read it: a NOTIFY change (ids only), or an UPDATE whose unchanged
  // TOASTed values were left out and are not on the page either.
  function fromEvent(c) {
    if (!c.new || (c.operation !== "INSERT" && c.operation !== "UPDATE")) return null;
    var have = st.objs[c.row_id] || {}, row = {};
    for (var i = 0; i < st.columns.length; i++) {
      var col = st.columns[i];
      if (col in c.new) row[col] = c.new[col];
      else if (col in have) row[col] = have[col];
      else return null;
    }
    return row;
  }

  // drop removes the row an UPDATE moved away from (its key changed) or a
  // DELETE removed.
  function drop(id) {
    var tr = find(id);
    if (tr) { tr.remove(); delete st.objs[id]; }
  }

  // refresh applies one change: the affected row is taken from the event
  // (WAL mode) or read again, then replaced, added on top (a new row) or
  // removed (gone); a change without a row id reloads the page.
  function refresh(c) {
    if (!st.key || !c.row_id || c.operation === "TRUNCATE") return load(c.operation + " without row id");
    if (c.old && c.old[st.key] !== undefined && String(c.old[st.key]) !== c.row_id) drop(String(c.old[st.key]));
    if (c.lsn && c.operation === "DELETE") { drop(c.row_id); counted(); return Promise.resolve(); }
    var known = fromEvent(c);
    var got = known ? Promise.resolve({ row: known }) : fetchRow(c.row_id);
    return got.then(function (d) {
      if (view.dataset.filter) return; // a filter came on meanwhile
      var tr = find(c.row_id);
      if (!d) {
        if (tr) drop(c.row_id);
        counted();
        return;
      }
      if (!tr && c.operation !== "INSERT") return; // not on this page
      var fresh = rowEl(d.row);
      if (tr) tr.replaceWith(fresh);
      else {
        body.insertBefore(fresh, body.firstChild);
        while (body.children.length > st.limit) {
          delete st.objs[body.lastChild.dataset.key];
          body.removeChild(body.lastChild);
        }
      }
      fresh.dataset.op = c.operation;
      flash(fresh);
      counted();
    });
  }

  function fetchRow(id) {
    st.fetches++;
    view.dataset.rowFetches = st.fetches;
    return getJSON(api + "/" + encodeURIComponent(id));
  }

  // header writes the column names, the key column marked.
  function header() {
    var head = document.createDocumentFragment();
    st.columns.forEach(function (c) { head.appendChild(el("th", c === st.key ? "key" : "", c)); });
    $("tv-head").replaceChildren(head);
  }

  // shapeRow applies one row frame of the filter's shape by its key.
  function shapeRow(f) {
    var tr = find(f.key);
    if (f.kind === "delete") { drop(f.key); counted(); return; }
    var obj = f.row;
    if (f.kind === "update") { // keep what an update left out (unchanged TOASTed values)
      obj = Object.assign({}, st.objs[f.key] || {}, f.row);
    }
    var fresh = rowEl(obj);
    fresh.dataset.key = f.key;
    st.objs[f.key] = obj;
    if (tr) tr.replaceWith(fresh);
    else body.insertBefore(fresh, body.firstChild);
    if (st.upToDate) { fresh.dataset.op = f.kind; flash(fresh); }
    counted();
  }

  // filter shows the rows matching where (live), or the newest rows when
  // where is empty.
  function filter(where) {
    if (shapeStream) { shapeStream.close(); shapeStream = null; }
    var err = $("tv-filter-error");
    err.hidden = true; err.textContent = "";
    delete view.dataset.filterError;
    $("tv-where").value = where;
    var u = new URL(location.href);
    if (where) u.searchParams.set("where", where); else u.searchParams.delete("where");
    history.replaceState(null, "", u.pathname + u.search);
    view.dataset.filter = where;
    view.dataset.upToDate = "0";
    if (!where) {
      $("tv-shapes").textContent = "";
      enqueue(function () { return load("filter cleared"); });
      return;
    }
    st.upToDate = false;
    var es = new EventSource(api.replace(/\/rows$/, "/shape") + "?where=" + encodeURIComponent(where));
    shapeStream = es;
    function on(name, fn) {
      es.addEventListener(name, function (e) { if (shapeStream === es) fn(JSON.parse(e.data)); });
    }
    on("shape", function (d) {
      st.key = d.key; st.columns = d.columns; st.limit = Infinity; st.objs = {}; st.upToDate = false;
      header();
      body.replaceChildren();
      st.loaded = "live where " + d.where;
      view.dataset.upToDate = "0";
      counted();
    });
    on("row", shapeRow);
    on("reset", function () { body.replaceChildren(); st.objs = {}; st.upToDate = false; view.dataset.upToDate = "0"; counted(); });
    on("up-to-date", function () { st.upToDate = true; view.dataset.upToDate = "1"; counted(); });
    on("stats", function (d) {
      view.dataset.shapes = d.shapes;
      $("tv-shapes").textContent = d.shapes + (d.shapes === 1 ? " live shape" : " live shapes") +
        " · " + d.subscriptions + (d.subscriptions === 1 ? " subscriber" : " subscribers");
    });
    es.addEventListener("error", function () {
      // A refused request (not 200) ends the EventSource for good.
      if (shapeStream === es && es.readyState === EventSource.CLOSED) note("The filter's stream was refused (see the log).");
    });
    on("refused", function (d) {
      es.close(); shapeStream = null;
      err.textContent = d.error; err.hidden = false;
      view.dataset.filterError = d.error;
    });
  }

  var initial = new URLSearchParams(location.search).get("where") || "";
  $("tv-filter").addEventListener("submit", function (e) {
    e.preventDefault();
    filter($("tv-where").value.trim());
  });
  document.addEventListener("pkdb:open", function () {
    if (!shapeStream && !view.dataset.filter) enqueue(function () { return load("page opened"); });
  });
  document.addEventListener("pkdb:change", function (e) {
    if (view.dataset.filter) return;
    var c = e.detail; enqueue(function () { return refresh(c); });
  });
  document.addEventListener("pkdb:resync", function (e) {
    if (view.dataset.filter) return;
    var r = e.detail;
    enqueue(function () { return load("Resync: " + r.reason); });
  });

  $("tv-title").textContent = schema + "." + table;
  view.dataset.loads = 0;
  view.dataset.rowFetches = 0;
  view.dataset.filter = "";
  view.hidden = false;
  if (initial) filter(initial);
})();
