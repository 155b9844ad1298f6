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
  document.querySelectorAll("select:not([multiple])").forEach(function (select, k) {
    if (select.options.length < FILTER_FROM) { return; }
    var auto = !select.hasAttribute("data-autosubmit");
    var initial = select.selectedIndex;
    var box = document.createElement("input");
    box.type = "search";
    box.className = "select-filter";
    box.autocomplete = "off";
    box.placeholder = filterLabel;
    box.setAttribute("aria-label", filterLabel);
    box.id = (select.id || "select-" + k) + "-filter";
    var left = document.createElement("span");
    left.className = "select-filter-left muted";
    left.id = box.id + "-left";
    left.setAttribute("aria-live", "polite");
    box.setAttribute("aria-describedby", left.id);
    var texts = Array.prototype.map.call(select.options, function (o) {
      var group = o.parentNode.tagName === "OPTGROUP" ? o.parentNode.label + " " : "";
      return fold(group + o.text);
    });
    var timer = null;
    function narrow() {
      var words = fold(box.value).split(/\s+/).filter(Boolean);
      var shown = [];
      Array.prototype.forEach.call(select.options, function (o, i) {
        var keep = words.every(function (w) { return texts[i].indexOf(w) >= 0; });
        o.hidden = !keep;
        if (keep) { shown.push(o); }
      });
      select.querySelectorAll("optgroup").forEach(function (g) {
        g.hidden = !Array.prototype.some.call(g.children, function (o) { return !o.hidden; });
      });
      left.textContent = words.length ? leftLabel.replace("{n}", shown.length) : "";
      if (!auto) { return; }
      if (!words.length) {
        if (select.selectedIndex < 0) { select.selectedIndex = initial; }
      } else if (shown.length === 1) {
        shown[0].selected = true;
      } else {
        var current = select.options[select.selectedIndex];
        if (current && current.hidden) { select.selectedIndex = -1; }
      }
    }
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(narrow, select.options.length > 2000 ? 150 : 0);
    });
    box.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); }  // narrowing never sends the form
    });
    select.parentNode.insertBefore(box, select);
    select.parentNode.insertBefore(left, select);
  });
})();
