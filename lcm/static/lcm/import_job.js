// The import job's page: its progress, polled from the job's JSON status
// once a second while it is queued or running (no framework; CSP 'self').
// When the state changes, the page reloads for its buttons and summary.
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  var state = box.getAttribute("data-state");
  var active = { queued: true, running: true, cancelling: true };
  if (!active[state]) return;
  function text(id, value) {
    var node = document.getElementById(id);
    if (node) node.textContent = value;
  }
  function duration(seconds) {
    if (seconds < 60) return seconds + " s";
    var minutes = Math.round(seconds / 60);
    return minutes < 60 ? minutes + " min" : Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        document.getElementById("import-bar").value = status.percent;
        text("import-through", status.through.toLocaleString());
        text("import-total", status.total.toLocaleString());
        text("import-rows", status.rows.toLocaleString());
        text("import-rejected-count", status.rejected.toLocaleString());
        text("import-state-text", status.state_text.charAt(0).toUpperCase() + status.state_text.slice(1));
        text("import-speed", status.rows_per_second
          ? ", " + Math.round(status.rows_per_second).toLocaleString() + " rows a second, about " +
            duration(status.seconds_left) + " left"
          : "");
        if (status.state !== state) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
