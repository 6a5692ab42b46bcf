/* MGD portal: small enhancements; every page works without them. */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // The GOV.UK error pattern: focus goes to the summary, and its links focus the field they name.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var target = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      event.preventDefault();
      var control = target.matches("fieldset") ? target.querySelector("input, select, textarea") || target : target;
      control.focus({ preventScroll: true });
      var legend = target.closest("fieldset") && target.closest("fieldset").querySelector("legend");
      var label = document.querySelector("label[for='" + control.id + "']");
      (legend || label || control).scrollIntoView();
    });
  }

  // The help panel closes with Escape, and focus returns to its button.
  var help = document.getElementById("help");
  if (help) {
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && help.open) {
        help.open = false;
        help.querySelector("summary").focus();
      }
    });
  }
});
