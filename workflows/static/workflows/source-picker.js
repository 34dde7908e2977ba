// Source picker for the article editor: filter the list, insert a marker at the cursor.
// A separate file because the Content-Security-Policy forbids inline script.
(function () {
  "use strict";

  function body() {
    return document.getElementById("id_body");
  }

  function insertAtCursor(textarea, text) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
    textarea.selectionStart = textarea.selectionEnd = start + text.length;
    textarea.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var textarea = body();
    if (!textarea) return;
    document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
    document.querySelectorAll(".insert-marker").forEach(function (button) {
      button.addEventListener("click", function () {
        insertAtCursor(textarea, button.getAttribute("data-marker"));
      });
    });
    var filter = document.getElementById("source-filter");
    if (filter) {
      filter.addEventListener("input", function () {
        var needle = filter.value.trim().toLowerCase();
        document.querySelectorAll(".picker-item").forEach(function (item) {
          item.hidden = needle !== "" && item.getAttribute("data-search").indexOf(needle) === -1;
        });
      });
    }
  });
})();
