// Progressive enhancement of the console's compose form: the recipient
// count follows the choices as they change. Without it the 计算人数 button
// re-renders the page with the count.
(function () {
  var form = document.querySelector("[data-testid=compose]");
  var live = document.querySelector("[data-testid=live-count]");
  if (!form || !live || !window.fetch || !window.URLSearchParams) return;
  var n = live.querySelector("[data-testid=live-count-n]");
  var warn = live.querySelector("[data-testid=live-approval]");
  var timer = null, seq = 0;
  var names = { all: 1, tag: 1, dept: 1, children: 1, role: 1, userids: 1 };
  function count() {
    var mine = ++seq;
    fetch("/admin/messages/count", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
      body: new URLSearchParams(new FormData(form)).toString()
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (j) {
      if (mine !== seq) return; // an older answer after a newer question
      if (!j) { live.hidden = true; return; }
      n.textContent = String(j.members);
      warn.hidden = !j.approval;
      live.hidden = false;
    }).catch(function () { live.hidden = true; });
  }
  function changed(e) {
    if (!e.target || !names[e.target.name]) return;
    clearTimeout(timer);
    timer = setTimeout(count, 250);
  }
  form.addEventListener("change", changed);
  form.addEventListener("input", changed);
})();
