// Employees area: filters that apply as soon as they change, and the progress bars of a CSV
// import and of an access-request export (each polls its job's JSON status; no inline
// script, see the CSP).
(function () {
  "use strict";

  // Selects marked data-autosubmit send their form when changed (back to page 1).
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) { el.form.submit(); }
  });

  function follow(job, bar) {
    if (!job || !bar || job.getAttribute("data-state") !== "running") { return; }
    var url = job.getAttribute("data-status-url");
    var delay = 500;

    function show(status) {
      bar.value = status.percent;
      bar.textContent = status.percent + " %";
      job.querySelectorAll("[data-field]").forEach(function (el) {
        var key = el.getAttribute("data-field");
        if (Object.prototype.hasOwnProperty.call(status, key)) { el.textContent = String(status[key]); }
      });
    }

    function poll() {
      fetch(url, {headers: {"X-Relais-Poll": "1", "Accept": "application/json"}, credentials: "same-origin"})
        .then(function (resp) {
          if (!resp.ok) { throw new Error(String(resp.status)); }
          return resp.json();
        })
        .then(function (status) {
          show(status);
          if (status.state === "running") {
            window.setTimeout(poll, delay);
          } else {
            window.location.reload(); // the server renders the final summary (and the link)
          }
        })
        .catch(function () {
          delay = Math.min(delay * 2, 10000);
          window.setTimeout(poll, delay);
        });
    }
    window.setTimeout(poll, delay);
  }

  follow(document.getElementById("import-job"), document.getElementById("import-progress"));
  follow(document.getElementById("export-job"), document.getElementById("export-progress"));
})();
