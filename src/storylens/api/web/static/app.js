// storylens: a little JavaScript.  Everything works without it.
// 1. Live updates: when the store gains articles (storylens watch, POST /api/articles), say so and offer a reload.
// 2. Keyboard: "/" focuses the search box.
(function () {
  "use strict";
  var body = document.body;
  var known = parseInt(body.getAttribute("data-articles") || "0", 10);
  var live = document.getElementById("live");
  function check() {
    if (document.hidden) { return; }
    fetch("/api/health", { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (h) {
        if (!h || typeof h.articles !== "number" || h.articles <= known || !live) { return; }
        var n = h.articles - known;
        live.textContent = n + " new article" + (n === 1 ? "" : "s") + " since this page was loaded.";
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = "Reload";
        b.addEventListener("click", function () { window.location.reload(); });
        live.appendChild(b);
        live.hidden = false;
        known = h.articles;
      })
      .catch(function () { /* offline or stopped: try again later */ });
  }
  window.setInterval(check, 30000);
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key === "/" && !(t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement)) {
      var q = document.getElementById("top-q");
      if (q) { e.preventDefault(); q.focus(); }
    }
  });
}());
