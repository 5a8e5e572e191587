// The simulator's phone pages work without this file; it only filters the
// member lists as you type and marks the button being sent.
(function () {
  'use strict';
  function filterLists(input) {
    var needle = input.value.trim().toLowerCase();
    var any = false;
    document.querySelectorAll('[data-group]').forEach(function (g) {
      var shown = 0;
      g.querySelectorAll('.member').forEach(function (m) {
        var hit = !needle || (m.getAttribute('data-search') || '').indexOf(needle) >= 0;
        m.hidden = !hit;
        if (hit) { shown++; }
      });
      g.hidden = shown === 0;
      if (shown) { any = true; }
    });
    var none = document.querySelector('[data-none]');
    if (none) { none.hidden = any; }
  }
  document.addEventListener('DOMContentLoaded', function () {
    var q = document.querySelector('input[data-filter]');
    if (q) {
      q.addEventListener('input', function () { filterLists(q); });
      q.form.addEventListener('submit', function (e) { e.preventDefault(); filterLists(q); });
    }
    document.querySelectorAll('form[data-card], form.composer').forEach(function (f) {
      f.addEventListener('submit', function (e) {
        if (e.submitter) { e.submitter.classList.add('sending'); }
        // A class, not disabled: a disabled button would drop its name and
        // value from the form data.
        f.classList.add('busy');
      });
    });
    document.addEventListener('click', function (e) {
      document.querySelectorAll('details.card-menu[open]').forEach(function (d) {
        if (!d.contains(e.target)) { d.open = false; }
      });
    });
  });
})();
