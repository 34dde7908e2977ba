// Line numbers beside the article body, so "line 27, column 7" in an error is findable.
// - One number per line of the text (a long paragraph that wraps keeps one number: its
//   rows are measured in a hidden copy of the textarea with the same width and font).
// - "Line 27, column 7" under the textarea follows the cursor.
// - Links with data-line="27" (the error summary, the preview's marker problems) put the
//   cursor on that line and scroll it into view instead of leaving the page.
// A file: the Content-Security-Policy forbids inline script (styles are set through CSSOM).
(function () {
  "use strict";

  var COPIED = ["fontFamily", "fontSize", "fontWeight", "lineHeight", "letterSpacing",
    "paddingLeft", "paddingRight", "tabSize", "wordSpacing"];

  function lineOf(text, offset) {
    return text.slice(0, offset).split("\n").length;
  }

  function setup(textarea) {
    var wrap = document.createElement("div");
    wrap.className = "editor-gutter-wrap";
    var gutter = document.createElement("div");
    gutter.className = "editor-gutter";
    gutter.setAttribute("aria-hidden", "true");
    var mirror = document.createElement("div");
    mirror.className = "editor-mirror";
    mirror.setAttribute("aria-hidden", "true");
    var caret = document.createElement("p");
    caret.className = "editor-caret";
    caret.id = textarea.id + "_caret";
    textarea.parentNode.insertBefore(wrap, textarea);
    wrap.appendChild(gutter);
    wrap.appendChild(textarea);
    wrap.parentNode.insertBefore(caret, wrap.nextSibling);
    document.body.appendChild(mirror);
    var described = textarea.getAttribute("aria-describedby");
    textarea.setAttribute("aria-describedby", (described ? described + " " : "") + caret.id);

    var style = getComputedStyle(textarea);
    COPIED.forEach(function (name) { gutter.style[name] = mirror.style[name] = style[name]; });
    gutter.style.paddingLeft = "0.4em";
    gutter.style.paddingRight = "0.75em"; // clear of the textarea's focus outline
    // Same top and bottom as the textarea's text, so each number sits beside its line.
    ["paddingTop", "paddingBottom", "borderTopWidth", "borderBottomWidth"].forEach(function (name) {
      gutter.style[name] = style[name];
    });

    var rows = [];
    var current = null;
    var pending = false;

    function measure() {
      pending = false;
      var lines = textarea.value.split("\n");
      mirror.style.width = textarea.clientWidth + "px";
      // The gutter is as tall as the textarea, never taller: its rows scroll with the text.
      gutter.style.height = textarea.offsetHeight + "px";
      mirror.textContent = "";
      var probes = lines.map(function (line) {
        var probe = document.createElement("div");
        probe.textContent = line || "\u200b";
        mirror.appendChild(probe);
        return probe;
      });
      while (rows.length < lines.length) {
        var row = document.createElement("div");
        row.className = "editor-gutter__line";
        row.textContent = String(rows.length + 1);
        gutter.appendChild(row);
        rows.push(row);
      }
      while (rows.length > lines.length) gutter.removeChild(rows.pop());
      // Fractional heights (a 24.32 px line), or the numbers drift from long texts' lines.
      probes.forEach(function (probe, i) {
        rows[i].style.height = probe.getBoundingClientRect().height + "px";
      });
      mirror.textContent = "";
      follow();
    }

    function schedule() {
      if (!pending) {
        pending = true;
        window.requestAnimationFrame(measure);
      }
    }

    function follow() {
      var value = textarea.value, at = textarea.selectionStart;
      var line = lineOf(value, at);
      var column = at - value.lastIndexOf("\n", at - 1);
      caret.textContent = "Line " + line + ", column " + column;
      var row = rows[line - 1] || null;
      if (row !== current) {
        if (current) current.classList.remove("is-current");
        if (row) row.classList.add("is-current");
        current = row;
      }
      gutter.scrollTop = textarea.scrollTop;
    }

    function goTo(line) {
      var lines = textarea.value.split("\n");
      if (!(line >= 1 && line <= lines.length)) return;
      var start = 0;
      for (var i = 0; i < line - 1; i++) start += lines[i].length + 1;
      textarea.focus({ preventScroll: true });
      textarea.setSelectionRange(start, start + lines[line - 1].length);
      textarea.scrollIntoView({ block: "nearest" });
      var row = rows[line - 1];
      // The gutter is the rows' offsetParent (position: relative), so this is the line's
      // top within the text, as the textarea scrolls it.
      if (row) textarea.scrollTop = Math.max(0, row.offsetTop - textarea.clientHeight / 3);
      follow();
    }

    textarea.addEventListener("input", schedule);
    textarea.addEventListener("scroll", function () { gutter.scrollTop = textarea.scrollTop; });
    ["keyup", "click", "select", "focus"].forEach(function (name) {
      textarea.addEventListener(name, follow);
    });
    if (window.ResizeObserver) new ResizeObserver(schedule).observe(textarea);
    window.addEventListener("resize", schedule);

    document.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-line]");
      if (!link) return;
      event.preventDefault();
      goTo(parseInt(link.getAttribute("data-line"), 10));
    });

    measure();
    var line = parseInt(new URLSearchParams(window.location.search).get("line"), 10);
    if (line && !document.querySelector("[data-focus-on-load]")) goTo(line);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var textarea = document.getElementById("id_body");
    if (textarea) setup(textarea);
  });
})();
