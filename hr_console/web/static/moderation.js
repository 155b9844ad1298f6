// The live moderation queue: polls queue.json every few seconds (with X-Relais-Poll: 1 so the
// polling alone never keeps an idle session alive), drops what someone else decided and adds
// new held messages. Everything is built with DOM APIs and textContent: data never goes
// through innerHTML.
(function () {
  "use strict";
  var list = document.getElementById("queue");
  if (!list || !window.fetch) { return; }
  var POLL_MS = 5000;
  var since = parseInt(list.getAttribute("data-since") || "0", 10) || 0;
  var live = list.getAttribute("data-live") === "tail";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var news = document.getElementById("queue-news");
  var timer = null;

  function label(name) { return list.getAttribute("data-label-" + name) || ""; }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function shownIds() {
    return Array.prototype.map.call(list.querySelectorAll("li.moditem[data-id]"), function (li) {
      return li.getAttribute("data-id");
    });
  }

  function actionForm(action, cls, buttonText, withReason) {
    var form = el("form", { method: "post", action: action, "class": "inline" + (cls ? " " + cls : "") });
    form.appendChild(el("input", { type: "hidden", name: "csrf_token", value: csrf }));
    form.appendChild(el("input", { type: "hidden", name: "back", value: "queue" }));
    if (withReason) {
      form.appendChild(el("input", { type: "text", name: "reason", maxlength: "300", required: "required",
        placeholder: label("reason"), "aria-label": label("reason") }));
    }
    form.appendChild(el("button", { "class": withReason ? "danger" : "ok" }, buttonText));
    return form;
  }

  function buildItem(item) {
    var li = el("li", { "class": "moditem fresh", "data-id": String(item.id) });
    var head = el("div", { "class": "modhead" });
    head.appendChild(el("input", { type: "checkbox", name: "ids", value: String(item.id), form: "bulk" }));
    head.appendChild(el("strong", {}, item.sender));
    head.appendChild(document.createTextNode(" → "));
    head.appendChild(el("strong", {}, item.recipient));
    if (item.team) { head.appendChild(el("span", { "class": "badge" }, item.team)); }
    head.appendChild(el("span", { "class": "badge" }, item.kind_label));
    (item.keywords || []).forEach(function (word) { head.appendChild(el("span", { "class": "badge held" }, word)); });
    head.appendChild(el("span", { "class": "wait" }, label("waits") + " " + item.waiting));
    head.appendChild(el("span", { "class": "muted" }, item.created));
    li.appendChild(head);

    var text = el("div", { "class": "modtext" });
    (item.segments || []).forEach(function (seg) {
      text.appendChild(seg[1] ? el("mark", {}, seg[0]) : document.createTextNode(seg[0]));
    });
    li.appendChild(text);
    if (item.photo) { li.appendChild(el("img", { "class": "modmedia", src: item.photo, alt: label("photo") })); }
    if (item.drawing) { li.appendChild(el("img", { "class": "modmedia drawing", src: item.drawing, alt: label("drawing") })); }
    if (item.audio) {
      var voice = el("div", { "class": "modvoice" });
      voice.appendChild(el("audio", { "class": "modaudio", controls: "controls", preload: "none", src: item.audio, "aria-label": label("voice") }));
      voice.appendChild(el("span", { "class": "muted" }, item.length));
      li.appendChild(voice);
    }

    var actions = el("div", { "class": "modactions" });
    actions.appendChild(actionForm(item.approve, "", label("approve"), false));
    actions.appendChild(actionForm(item.reject, "rejectform", label("reject"), true));
    li.appendChild(actions);
    return li;
  }

  function stop(message) {
    if (timer) { window.clearInterval(timer); timer = null; }
    if (news && message) { news.textContent = message; news.hidden = false; }
  }

  function apply(data) {
    var count = document.getElementById("held-count");
    if (count) { count.textContent = String(data.count); }
    var oldest = document.getElementById("oldest-wait");
    if (oldest && data.oldest_wait) { oldest.textContent = data.oldest_wait; }
    (data.gone || []).forEach(function (id) {
      var li = list.querySelector('li.moditem[data-id="' + String(parseInt(id, 10)) + '"]');
      // Leave an item someone is typing a reason into; the server answers "already decided".
      if (li && !li.contains(document.activeElement)) { li.parentNode.removeChild(li); }
    });
    if (live) {
      (data.items || []).forEach(function (item) {
        if (!list.querySelector('li.moditem[data-id="' + String(item.id) + '"]')) { list.appendChild(buildItem(item)); }
      });
      since = data.latest || since;
      var empty = document.getElementById("queue-empty");
      if (empty) { empty.hidden = list.children.length > 0; }
    } else if ((data.items || []).length && news) {
      news.textContent = label("new");
      news.hidden = false;
    }
  }

  function poll() {
    if (document.hidden) { return; }
    var url = list.getAttribute("data-json") + "?since=" + encodeURIComponent(since) +
      "&ids=" + encodeURIComponent(shownIds().join(","));
    window.fetch(url, { credentials: "same-origin", headers: { "X-Relais-Poll": "1", "Accept": "application/json" } })
      .then(function (resp) {
        var type = resp.headers.get("Content-Type") || "";
        if (!resp.ok || type.indexOf("application/json") !== 0) { throw new Error("expired"); }
        return resp.json();
      })
      .then(apply)
      .catch(function () { stop(label("expired")); });
  }

  timer = window.setInterval(poll, POLL_MS);
})();
