// The service hall's forms, progressive enhancement only: without it the
// forms still post and the server checks everything.
// - A date range shows its day count (inclusive, as the server counts).
// - A form is sent once: the submit buttons go busy on the first submit
//   (the server's form token makes a second post harmless anyway).
// - A form with data-confirm asks first (withdrawing an application).
(function () {
  function day(v) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v || "");
    return m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) : NaN;
  }
  document.querySelectorAll("[data-range]").forEach(function (r) {
    var inputs = r.querySelectorAll("input[type=date]");
    var out = r.querySelector("[data-testid=range-days]");
    if (inputs.length !== 2 || !out) return;
    var start = inputs[0], end = inputs[1];
    function update() {
      var s = day(start.value), e = day(end.value);
      end.min = start.value || "";
      if (isNaN(s) || isNaN(e)) { out.textContent = "–"; end.setCustomValidity(""); return; }
      var n = Math.round((e - s) / 86400000) + 1;
      if (n < 1) {
        out.textContent = "–";
        end.setCustomValidity("结束日期早于开始日期");
        return;
      }
      out.textContent = String(n);
      var max = r.dataset.max ? +r.dataset.max : 0, min = r.dataset.min ? +r.dataset.min : 0;
      if (max && n > max) end.setCustomValidity("不能超过 " + max + " 天");
      else if (min && n < min) end.setCustomValidity("至少 " + min + " 天");
      else end.setCustomValidity("");
    }
    start.addEventListener("input", update);
    start.addEventListener("change", update);
    end.addEventListener("input", update);
    end.addEventListener("change", update);
    update();
  });
  // An attachment field uploads each picked file to /hall/files and keeps
  // its token in a hidden input under the field's name; the form waits
  // while files are still going up.
  document.querySelectorAll("[data-attach]").forEach(function (box) {
    var key = box.dataset.key, list = box.querySelector("ul"), input = box.querySelector("input[type=file]");
    var status = box.querySelector("[data-testid=attach-status]"), form = box.closest("form");
    if (!list || !input || !window.fetch || !window.FormData) return;
    list.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-remove]");
      if (b) { b.closest("li").remove(); }
    });
    function add(a) {
      var li = document.createElement("li"), h = document.createElement("input"), link = document.createElement("a"), rm = document.createElement("button");
      li.className = "hattach__file"; li.dataset.testid = "attach-file";
      h.type = "hidden"; h.name = key; h.value = a.token;
      link.href = a.href; link.target = "_blank"; link.rel = "noopener"; link.textContent = a.filename;
      rm.type = "button"; rm.className = "linkish"; rm.dataset.remove = "1"; rm.textContent = "移除";
      li.appendChild(h); li.appendChild(link); li.appendChild(document.createTextNode(" ")); li.appendChild(rm);
      list.appendChild(li);
    }
    input.addEventListener("change", function () {
      var files = [].slice.call(input.files || []);
      if (!files.length) return;
      var pending = files.length, failed = [];
      if (form) form.dataset.uploading = String((+form.dataset.uploading || 0) + pending);
      status.textContent = "正在上传 " + pending + " 个文件…";
      files.forEach(function (f) {
        var fd = new FormData();
        fd.append("file", f);
        fetch("/hall/files", { method: "POST", body: fd, credentials: "same-origin" })
          .then(function (r) { return r.json().catch(function () { return { error: "上传失败（" + r.status + "）" }; }); })
          .then(function (j) { if (j && j.token) add(j); else failed.push(f.name + "：" + ((j && j.error) || "上传失败")); })
          .catch(function () { failed.push(f.name + "：网络错误，请重试"); })
          .then(function () {
            pending--;
            if (form) form.dataset.uploading = String(Math.max(0, (+form.dataset.uploading || 1) - 1));
            if (pending === 0) {
              status.textContent = failed.length ? failed.join("；") : "已上传。";
              input.value = "";
            }
          });
      });
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      if (!window.confirm(f.dataset.confirm)) ev.preventDefault();
    });
  });
  document.querySelectorAll("form[data-hall-form]").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      if (f.dataset.sent) { ev.preventDefault(); return; }
      if (+f.dataset.uploading > 0) { ev.preventDefault(); window.alert("附件还在上传，请稍候再提交。"); return; }
      f.dataset.sent = "1";
      // Disabled after this turn: the pressed button's name=value is
      // still part of what the form sends now.
      setTimeout(function () {
        f.querySelectorAll("button[type=submit]").forEach(function (x) { x.disabled = true; });
      }, 0);
    });
  });
  // Back to a page kept in the back-forward cache: its forms may be sent
  // again (the server's form token still guards against a second copy).
  window.addEventListener("pageshow", function (ev) {
    if (!ev.persisted) return;
    document.querySelectorAll("form[data-hall-form]").forEach(function (f) {
      delete f.dataset.sent;
      f.querySelectorAll("button[type=submit]").forEach(function (x) { x.disabled = false; });
    });
  });
})();
