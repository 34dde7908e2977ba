// Figure picker for the article editor: filter the figures. Inserting uses the source
// picker's ".insert-marker" buttons (source-picker.js). A file: the CSP forbids inline script.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var filter = document.getElementById("figure-filter");
    if (!filter) return;
    filter.addEventListener("input", function () {
      var needle = filter.value.trim().toLowerCase();
      document.querySelectorAll(".figure-picker-item").forEach(function (item) {
        item.hidden = needle !== "" && item.getAttribute("data-search").indexOf(needle) === -1;
      });
    });
  });
})();
