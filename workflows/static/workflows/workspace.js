// Workspace behaviour that needs script (a file: the Content-Security-Policy forbids inline script).
// - An error summary is focused when the page loads, so it is read out and in view.
// - The editor opened from a marker problem (?line=N) selects that line of the body.
// - A background import's progress (data-poll-seconds) is re-read in place until it ends,
//   not by reloading the page, so focus and the reading position stay where they are.
(function () {
  "use strict";

  function pollProgress(section) {
    var seconds = parseFloat(section.getAttribute("data-poll-seconds")) || 2;
    window.setTimeout(function () {
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.text();
        })
        .then(function (text) {
          var fresh = new DOMParser().parseFromString(text, "text/html");
          var progress = fresh.querySelector(".import-progress");
          var report = fresh.querySelector(".import-job-report");
          if (!progress) return;
          section.innerHTML = progress.innerHTML;
          var here = document.querySelector(".import-job-report");
          if (report && here) here.innerHTML = report.innerHTML;
          if (progress.hasAttribute("data-poll-seconds")) pollProgress(section);
          else section.removeAttribute("data-poll-seconds");
        })
        .catch(function () {
          // Keep trying: the worker may be restarting; the page says it can be left.
          pollProgress(section);
        });
    }, seconds * 1000);
  }

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
    var progress = document.querySelector(".import-progress[data-poll-seconds]");
    if (progress) pollProgress(progress);
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
