// Small behaviours shared by every console page. No inline scripts anywhere (see the CSP).
(function () {
  "use strict";
  // Buttons that need a confirmation carry data-confirm="question".
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); }
  });
  // Checkboxes with data-check-all="name" tick every box of that name.
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("[data-check-all]")) {
      document.querySelectorAll('input[type=checkbox][name="' + el.getAttribute("data-check-all") + '"]')
        .forEach(function (box) { box.checked = el.checked; });
    }
  });
  // A list too long to scroll (the teams of a large organisation: thousands) gets a box
  // above it that narrows it to the options containing every word typed (their group's
  // name included), accents and case aside, and says how many are left. It never chooses
  // for HR among several: an option that no longer shows is unselected (the form is then
  // refused, never sent with something else), and only the one option left is chosen.
  // A list that sends its form when changed (data-autosubmit) is only narrowed.
  var FILTER_FROM = 40;
  function meta(name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute("content") : "";
  }
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  var filterLabel = meta("select-filter"), leftLabel = meta("select-filter-left");
  function words(box) { return fold(box.value).split(/\s+/).filter(Boolean); }
  // The box and its "n left" line, put just above ``list``; ``narrow`` runs as HR types
  // (a moment after, on a list of thousands), and Enter in the box never sends the form.
  function filterBox(list, id, size, narrow) {
    var box = document.createElement("input");
    box.type = "search";
    box.className = "select-filter";
    box.autocomplete = "off";
    box.placeholder = filterLabel;
    box.setAttribute("aria-label", filterLabel);
    box.id = id + "-filter";
    var left = document.createElement("span");
    left.className = "select-filter-left muted";
    left.id = box.id + "-left";
    left.setAttribute("aria-live", "polite");
    box.setAttribute("aria-describedby", left.id);
    var timer = null;
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var w = words(box), n = narrow(w);
        left.textContent = w.length ? leftLabel.replace("{n}", n) : "";
      }, size > 2000 ? 150 : 0);
    });
    box.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); }  // narrowing never sends the form
    });
    list.parentNode.insertBefore(box, list);
    list.parentNode.insertBefore(left, list);
  }
  function matches(text, w) { return w.every(function (x) { return text.indexOf(x) >= 0; }); }
  document.querySelectorAll("select:not([multiple])").forEach(function (select, k) {
    if (select.options.length < FILTER_FROM) { return; }
    var auto = !select.hasAttribute("data-autosubmit");
    var initial = select.selectedIndex;
    var texts = Array.prototype.map.call(select.options, function (o) {
      var group = o.parentNode.tagName === "OPTGROUP" ? o.parentNode.label + " " : "";
      return fold(group + o.text);
    });
    filterBox(select, select.id || "select-" + k, select.options.length, function (w) {
      var shown = [];
      Array.prototype.forEach.call(select.options, function (o, i) {
        var keep = matches(texts[i], w);
        o.hidden = !keep;
        if (keep) { shown.push(o); }
      });
      select.querySelectorAll("optgroup").forEach(function (g) {
        g.hidden = !Array.prototype.some.call(g.children, function (o) { return !o.hidden; });
      });
      if (auto) {
        if (!w.length) {
          if (select.selectedIndex < 0) { select.selectedIndex = initial; }
        } else if (shown.length === 1) {
          shown[0].selected = true;
        } else {
          var current = select.options[select.selectedIndex];
          if (current && current.hidden) { select.selectedIndex = -1; }
        }
      }
      return shown.length;
    });
  });
  // Long lists of checkboxes (a workgroup's teams and shifts: 1,250 of each at 50,000
  // employees) get the same box, and scroll within the page; a box ticked stays in view
  // whatever is typed, so that HR always sees what the form will send.
  document.querySelectorAll("ul").forEach(function (list, k) {
    var items = Array.prototype.filter.call(list.children, function (li) {
      return li.querySelector("input[type=checkbox]");
    });
    if (items.length < FILTER_FROM) { return; }
    list.classList.add("long-list");
    var texts = items.map(function (li) { return fold(li.textContent); });
    filterBox(list, list.id || "list-" + k, items.length, function (w) {
      var n = 0;
      items.forEach(function (li, i) {
        var keep = matches(texts[i], w);
        if (keep) { n += 1; }
        li.hidden = !keep && !li.querySelector("input[type=checkbox]").checked;
      });
      return n;
    });
  });
})();
