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
})();
