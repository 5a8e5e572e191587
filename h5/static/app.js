// Progressive enhancement only: filters the workbench's tiles as the person
// types. Without it the search form still submits to /app/search.
(function () {
  var q = document.getElementById("q");
  var home = document.querySelector("[data-testid=home]");
  if (!q || !home) return;
  var none = document.getElementById("nomatch");
  q.addEventListener("input", function () {
    var s = q.value.trim().toLowerCase(), any = false;
    home.querySelectorAll("section").forEach(function (sec) {
      var shown = 0;
      sec.querySelectorAll("[data-testid=tile]").forEach(function (t) {
        var hit = !s || (t.textContent + " " + (t.title || "") + " " + (t.dataset.cat || "")).toLowerCase().indexOf(s) >= 0;
        t.hidden = !hit;
        if (hit) shown++;
      });
      sec.hidden = s !== "" && shown === 0;
      if (shown) any = true;
    });
    if (none) none.hidden = !s || any;
  });
})();
