// Source and figure pickers of the article editor: "Insert" puts a marker at the cursor.
// The search itself is htmx (the server answers the matching items), so the buttons are
// handled by delegation and shown again in every redrawn list.
// A separate file because the Content-Security-Policy forbids inline script.
(function () {
  "use strict";

  function insertAtCursor(textarea, text) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
    textarea.selectionStart = textarea.selectionEnd = start + text.length;
    textarea.focus();
    // Let listeners (the line-number gutter) know the text changed.
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function showScripted(root) {
    root.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var textarea = document.getElementById("id_body");
    if (!textarea) return;
    showScripted(document);
    document.addEventListener("click", function (event) {
      var button = event.target.closest(".insert-marker");
      if (button) insertAtCursor(textarea, button.getAttribute("data-marker"));
    });
    document.addEventListener("htmx:afterSwap", function (event) {
      showScripted(event.detail.target);
    });
  });
})();
