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
  // above it that narrows it to the options containing what is typed, accents and case
  // aside; the first option left is chosen, so the form sends what was asked for.
  var FILTER_FROM = 40;
  var label = document.querySelector("meta[name=select-filter]");
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  document.querySelectorAll("select:not([multiple])").forEach(function (select) {
    if (select.options.length < FILTER_FROM) { return; }
    var box = document.createElement("input");
    box.type = "search";
    box.className = "select-filter";
    box.autocomplete = "off";
    if (label) {
      box.placeholder = label.getAttribute("content");
      box.setAttribute("aria-label", label.getAttribute("content"));
    }
    if (select.id) {
      box.id = select.id + "-filter";
      box.setAttribute("aria-controls", select.id);
    }
    var texts = Array.prototype.map.call(select.options, function (o) { return fold(o.text); });
    box.addEventListener("input", function () {
      var words = fold(box.value).split(/\s+/).filter(Boolean);
      var first = null;
      Array.prototype.forEach.call(select.options, function (o, i) {
        var shown = words.every(function (w) { return texts[i].indexOf(w) >= 0; });
        o.hidden = !shown;
        if (shown && first === null) { first = o; }
      });
      select.querySelectorAll("optgroup").forEach(function (g) {
        g.hidden = !Array.prototype.some.call(g.children, function (o) { return !o.hidden; });
      });
      var current = select.options[select.selectedIndex];
      if (first && (!current || current.hidden)) { first.selected = true; }
    });
    box.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); }  // narrowing never sends the form
    });
    select.parentNode.insertBefore(box, select);
  });
})();
