// app.js: the console's only script, served as a file so the
// Content-Security-Policy can forbid inline script. Everything it inserts
// was HTML-escaped by the server.
"use strict";

// The overview refreshes itself from /api/overview every 5 seconds.
function refreshLive(live) {
  fetch(live.dataset.src, {credentials: "same-origin", cache: "no-store"})
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (j) {
      if (j && typeof j.html === "string") {
        live.innerHTML = j.html;
        live.dataset.taken = String(j.taken);
      }
    })
    .catch(function () { /* keep the last view; try again next time */ });
}

document.addEventListener("DOMContentLoaded", function () {
  var live = document.getElementById("live");
  if (live) {
    setInterval(function () { refreshLive(live); }, 5000);
  }
  // Failed jobs: one box selects every row.
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("#failed-table input[name=id]").forEach(function (b) {
        b.checked = all.checked;
      });
    });
  }
  // Job page: typing in the payload means "use the payload below".
  var edit = document.getElementById("payload-edit");
  var mode = document.getElementById("mode-edit");
  if (edit && mode) {
    edit.addEventListener("input", function () { mode.checked = true; });
  }
});
