// The dashboard's open safety alerts (hr_console/web/safety): a sound when there are any,
// and a reload every minute while nobody is typing, so a new one shows by itself. A browser that
// blocks sound before the first click on the page stays silent; the red card still shows.
(function () {
  "use strict";
  var card = document.getElementById("safety-alerts");
  if (card && card.dataset.sound) {
    var audio = new Audio(card.dataset.sound);
    var played = audio.play();
    if (played && played.catch) { played.catch(function () {}); }
  }
  window.setInterval(function () {
    var busy = document.activeElement && document.activeElement !== document.body;
    if (!busy) { window.location.reload(); }
  }, 60000);
})();
