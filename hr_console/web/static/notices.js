// Notices compose form: an urgent notice always asks for confirmation, so tick and lock
// the box while "urgent" is chosen (the server applies the same rule). Reminders repeat
// until each person confirms: the interval is offered only while a confirmation is asked,
// and an urgent notice proposes every 5 minutes until the user picks an interval themselves
// (a disabled select is not posted; the server then applies the same defaults).
(function () {
  "use strict";
  var box = document.getElementById("ack_required");
  if (!box) { return; }
  var every = document.getElementById("remind_every");
  function isUrgent() {
    var urgent = document.querySelector('input[name="priority"][value="urgent"]');
    return !!(urgent && urgent.checked);
  }
  // A form sent back with an error keeps what the user had picked.
  var chosen = !!every && every.value !== (isUrgent() ? "5" : "none");
  function sync() {
    var urgentNow = isUrgent();
    if (urgentNow) { box.checked = true; box.disabled = true; }
    else { box.disabled = false; }
    if (every) {
      every.disabled = !box.checked;
      if (!chosen) { every.value = urgentNow ? "5" : "none"; }
    }
  }
  document.addEventListener("change", function (ev) {
    if (!ev.target) { return; }
    if (ev.target === every) { chosen = true; return; }
    if (ev.target.name === "priority" || ev.target === box) { sync(); }
  });
  sync();
})();
