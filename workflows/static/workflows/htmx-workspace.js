// What the workspace adds to htmx (a file: the Content-Security-Policy forbids inline script).
// - After the preview pane is redrawn, its heading takes the focus, so it is read out and in view.
// - An answer htmx does not swap (403, 404, 5xx, no connection) is said next to the control
//   instead of failing silently; the page itself still works by a full reload.
(function () {
  "use strict";

  function say(target, text) {
    var note = document.createElement("p");
    note.className = "form-errors htmx-failure";
    note.setAttribute("role", "alert");
    note.textContent = text;
    var old = target.parentNode && target.parentNode.querySelector(".htmx-failure");
    if (old) old.remove();
    target.parentNode.insertBefore(note, target);
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    var old = target.parentNode && target.parentNode.querySelector(".htmx-failure");
    if (old) old.remove();
    if (target.id === "preview-pane") {
      var heading = target.querySelector("#preview-heading");
      if (heading) {
        heading.focus({ preventScroll: true });
        heading.scrollIntoView({ block: "start" });
      }
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var why = status === 403 ? "you may not do this"
      : status === 404 ? "it no longer exists"
      : "the server answered " + status;
    say(event.detail.target, "This could not be updated (" + why + "). Reload the page to try again.");
  });

  document.addEventListener("htmx:sendError", function (event) {
    say(event.detail.target, "The server could not be reached. Check the connection and try again.");
  });
})();
