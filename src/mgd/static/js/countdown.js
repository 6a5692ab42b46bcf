/* Counts down the wait before a new code may be asked for: every element with data-countdown="<seconds>" has its
   text rewritten each second from data-one / data-many ("{n}" is the number) and data-done at zero. The page
   works without it: the server's text stays and an early request is answered with the wait. */
(function () {
  "use strict";
  function start(element) {
    var left = parseInt(element.getAttribute("data-countdown"), 10);
    if (!(left > 0)) { return; }
    var shown = left;
    var end = Date.now() + left * 1000;
    var timer = window.setInterval(function () {
      left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      if (left === shown) { return; }
      shown = left;
      if (left === 0) {
        element.textContent = element.getAttribute("data-done");
        window.clearInterval(timer);
        return;
      }
      /* Announce only every 10 seconds to screen readers: the live region is quiet otherwise. */
      element.setAttribute("aria-live", left % 10 === 0 ? "polite" : "off");
      var text = element.getAttribute(left === 1 ? "data-one" : "data-many");
      element.textContent = text.replace("{n}", String(left));
    }, 250);
  }
  function init() {
    var elements = document.querySelectorAll("[data-countdown]");
    for (var i = 0; i < elements.length; i += 1) { start(elements[i]); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
