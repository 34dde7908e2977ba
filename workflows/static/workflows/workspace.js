// Workspace behaviour that needs script (a file: the Content-Security-Policy forbids inline script).
// - An error summary is focused when the page loads, so it is read out and in view.
// - The editor opened from a marker problem (?line=N) selects that line of the body.
(function () {
  "use strict";

  function selectLine(textarea, line) {
    var lines = textarea.value.split("\n");
    if (line < 1 || line > lines.length) return;
    var start = 0;
    for (var i = 0; i < line - 1; i++) start += lines[i].length + 1;
    textarea.focus();
    textarea.setSelectionRange(start, start + lines[line - 1].length);
    // Bring the selected line into view: rows are about one line-height each.
    var lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
    textarea.scrollTop = Math.max(0, (line - 3) * lineHeight);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-focus-on-load]");
    if (summary) {
      summary.focus();
      summary.scrollIntoView({ block: "start" });
      return;
    }
    var line = parseInt(new URLSearchParams(window.location.search).get("line"), 10);
    var body = document.getElementById("id_body");
    if (body && line) selectLine(body, line);
  });
})();
