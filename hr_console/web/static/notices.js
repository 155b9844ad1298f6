// Notices compose form: an urgent notice always asks for confirmation, so tick and lock
// the box while "urgent" is chosen (the server applies the same rule).
(function () {
  "use strict";
  var box = document.getElementById("ack_required");
  if (!box) { return; }
  function sync() {
    var urgent = document.querySelector('input[name="priority"][value="urgent"]');
    if (urgent && urgent.checked) { box.checked = true; box.disabled = true; }
    else { box.disabled = false; }
  }
  document.addEventListener("change", function (ev) {
    if (ev.target && ev.target.name === "priority") { sync(); }
  });
  sync();
})();
