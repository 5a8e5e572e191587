// The service hall's process designer: a form over the definition's JSON.
// The server is the authority: 校验 and 发布 post the whole definition
// (the textarea the designer writes on submit), and the problems it finds
// come back in the page's list, which the designer also puts next to the
// field, step, approver or branch each names. Without this script the
// JSON box is edited directly.
(function () {
  "use strict";
  var form = document.getElementById("designer-form");
  var root = document.getElementById("designer");
  if (!form || !root || !window.JSON) return;
  var box = form.querySelector("textarea[name=definition]");
  var model;
  try {
    model = JSON.parse(box.value || "{}");
  } catch (e) {
    return; // not JSON: the box stays, the server says what is wrong
  }
  if (!model || typeof model !== "object") return;
  model.fields = model.fields || [];
  model.steps = model.steps || [];
  var fixedKey = root.getAttribute("data-key") || "";

  var FIELD_TYPES = [["text", "单行文本"], ["textarea", "多行文本"], ["number", "数字"], ["date", "日期"], ["daterange", "日期范围"],
    ["choice", "选择"], ["person", "人员"], ["department", "部门"], ["attachment", "附件"], ["phone", "手机号码"], ["idnumber", "身份证号"]];
  var KINDS = [["counselor", "辅导员"], ["college_head", "学院负责人"], ["college_post", "学院中的职务"], ["dept_leader", "部门负责人"],
    ["post", "某部门的职务"], ["tag", "标签成员"], ["users", "指定人员"], ["applicant", "申请人本人"]];
  var MODES = [["any", "一人审批即可"], ["all", "全部同意"], ["sequential", "依次审批"]];
  var AUDIENCES = [["students", "学生"], ["faculty", "教职工"], ["members", "全体成员"], ["offcampus", "校外人员"]];

  // The problems the server found, by where (fields[1], steps.deputy.next[0]).
  var problems = [];
  document.querySelectorAll("[data-testid=problem]").forEach(function (li) {
    var t = li.querySelector(".problem__text");
    problems.push({ where: li.getAttribute("data-where") || "", text: t ? t.textContent : li.textContent });
  });

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "checked" || k === "disabled" || k === "readOnly" || k === "value") e[k] = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) { if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function select(options, value, onchange, testid) {
    var s = el("select", testid ? { "data-testid": testid } : {});
    options.forEach(function (o) { s.appendChild(el("option", { value: o[0], text: o[1] })); });
    s.value = value == null ? "" : value;
    s.addEventListener("change", function () { onchange(s.value); });
    return s;
  }
  function input(value, onchange, attrs) {
    attrs = attrs || {};
    attrs.type = attrs.type || "text";
    attrs.value = value == null ? "" : String(value);
    var i = el("input", attrs);
    i.addEventListener("input", function () { onchange(i.value); });
    i.addEventListener("change", function () { onchange(i.value); });
    return i;
  }
  function check(value, onchange, testid) {
    var c = el("input", { type: "checkbox", checked: !!value });
    if (testid) c.setAttribute("data-testid", testid);
    c.addEventListener("change", function () { onchange(c.checked); });
    return c;
  }
  function labelled(text, control) { return el("label", {}, [text + " ", control]); }
  function button(text, fn, cls, testid) {
    var b = el("button", { type: "button", "class": "mini" + (cls ? " " + cls : ""), text: text });
    if (testid) b.setAttribute("data-testid", testid);
    b.addEventListener("click", function () { fn(); render(); box.value = serialize(); });
    return b;
  }
  function move(list, i, d) {
    var j = i + d;
    if (j < 0 || j >= list.length) return;
    var x = list[i]; list[i] = list[j]; list[j] = x;
  }
  function num(v) {
    if (v === "" || v == null) return undefined;
    var n = Number(v);
    return isNaN(n) ? v : n; // kept as typed: the server says it is not a number
  }
  function set(obj, k, v) {
    if (v === "" || v === undefined || v === false || (Array.isArray(v) && v.length === 0)) delete obj[k];
    else obj[k] = v;
  }
  // list splits what was typed on commas (an option may hold spaces);
  // ids splits userids on spaces too.
  function list(v) { return v.split(/[,，、\n]+/).map(function (s) { return s.trim(); }).filter(function (s) { return s !== ""; }); }
  function ids(v) { return v.split(/[,，、\s]+/).filter(function (s) { return s !== ""; }); }
  function stepWhere(i) {
    var id = model.steps[i].id || "";
    var first = -1;
    for (var k = 0; k < model.steps.length; k++) if (model.steps[k].id === id) { first = k; break; }
    return /^[a-z][a-z0-9_]{0,31}$/.test(id) && first === i ? "steps." + id : "steps[" + i + "]";
  }
  // problemsAt lists the problems exactly at where (and marks them shown).
  function problemsAt(where) {
    var out = el("ul", { "class": "problems-at" });
    problems.forEach(function (p) {
      if (p.where === where) {
        p.shown = true;
        out.appendChild(el("li", { "class": "problem", "data-testid": "problem-at", "data-where": where, text: p.text }));
      }
    });
    return out.childNodes.length ? out : null;
  }

  function renderMeta() {
    var fs = el("fieldset", { "data-testid": "d-process" }, [el("legend", { text: "流程" })]);
    var key = input(model.key, function (v) { model.key = v; }, { "class": "w-m", "data-testid": "d-key", "aria-label": "流程标识" });
    if (fixedKey) key.readOnly = true;
    fs.appendChild(el("div", { "class": "line" }, [labelled("标识", key), problemsAt("key"),
      labelled("名称", input(model.name, function (v) { model.name = v; }, { "class": "w-m", "data-testid": "d-name" })), problemsAt("name"),
      labelled("主管部门代码", input(model.owner, function (v) { model.owner = v; }, { "class": "w-s", "data-testid": "d-owner" })), problemsAt("owner"),
      labelled("申请对象", select(AUDIENCES, model.audience, function (v) { model.audience = v; }, "d-audience")), problemsAt("audience"),
      labelled("审批通过后申请人确认返校", check(model.confirm_return, function (v) { set(model, "confirm_return", v); }))]));
    var desc = el("textarea", { rows: "2", cols: "80", "data-testid": "d-description" });
    desc.value = model.description || "";
    desc.addEventListener("input", function () { set(model, "description", desc.value); });
    fs.appendChild(el("div", { "class": "line" }, [labelled("说明", desc), problemsAt("description")]));
    return fs;
  }

  function renderField(f, i) {
    var where = "fields[" + i + "]";
    var row = el("div", { "class": "item", "data-testid": "d-field", "data-where": where });
    row.appendChild(el("div", { "class": "line" }, [el("span", { "class": "stepno", text: String(i + 1) + "." }),
      labelled("名称", input(f.label, function (v) { f.label = v; }, { "class": "w-m", "data-testid": "d-field-label" })),
      labelled("标识", input(f.key, function (v) { f.key = v; }, { "class": "w-m", "data-testid": "d-field-key" })),
      labelled("类型", select(FIELD_TYPES, f.type, function (v) { f.type = v; render(); }, "d-field-type")),
      labelled("必填", check(f.required, function (v) { set(f, "required", v); }, "d-field-required")),
      labelled("卡片摘要", check(f.summary, function (v) { set(f, "summary", v); })),
      button("↑", function () { move(model.fields, i, -1); }, "", "d-field-up"), button("↓", function () { move(model.fields, i, 1); }, "", "d-field-down"),
      button("删除", function () { model.fields.splice(i, 1); }, "danger", "d-field-remove")]));
    var extra = el("div", { "class": "line" });
    if (f.type === "choice") {
      extra.appendChild(labelled("选项（逗号分隔）", input((f.options || []).join("，"), function (v) { set(f, "options", list(v)); }, { "class": "w-l", "data-testid": "d-field-options" })));
      extra.appendChild(labelled("可多选", check(f.multiple, function (v) { set(f, "multiple", v); })));
    }
    if (f.type === "number" || f.type === "daterange") {
      var what = f.type === "daterange" ? "天数" : "";
      extra.appendChild(labelled("最小" + what, input(f.min, function (v) { set(f, "min", num(v)); }, { type: "number", "class": "w-s", step: "any" })));
      extra.appendChild(labelled("最大" + what, input(f.max, function (v) { set(f, "max", num(v)); }, { type: "number", "class": "w-s", step: "any" })));
    }
    if (f.type === "number") extra.appendChild(labelled("整数", check(f.integer, function (v) { set(f, "integer", v); })));
    if (f.type === "text" || f.type === "textarea") {
      extra.appendChild(labelled("长度上限", input(f.max_length, function (v) { set(f, "max_length", num(v)); }, { type: "number", "class": "w-s", min: "0" })));
    }
    extra.appendChild(labelled("填写说明", input(f.help, function (v) { set(f, "help", v); }, { "class": "w-l" })));
    row.appendChild(extra);
    var p = problemsAt(where);
    if (p) { row.appendChild(p); row.className += " item_bad"; }
    return row;
  }

  function renderSource(srcs, k, where, testid) {
    var s = srcs[k];
    var line = el("div", { "class": "line src", "data-testid": testid, "data-where": where });
    line.appendChild(select(KINDS, s.kind, function (v) { s.kind = v; render(); }, testid + "-kind"));
    if (s.kind === "college_post" || s.kind === "post") {
      line.appendChild(labelled("职务", input(s.post, function (v) { set(s, "post", v); }, { "class": "w-m", "data-testid": testid + "-post" })));
    }
    if (s.kind === "post") {
      line.appendChild(labelled("部门代码", input(s.dept, function (v) { set(s, "dept", v); }, { "class": "w-s", "data-testid": testid + "-dept" })));
    }
    if (s.kind === "tag") {
      line.appendChild(labelled("标签名称", input(s.tag, function (v) { set(s, "tag", v); }, { "class": "w-m", "data-testid": testid + "-tag" })));
    }
    if (s.kind === "users") {
      line.appendChild(labelled("账号（逗号分隔）", input((s.users || []).join("，"), function (v) { set(s, "users", ids(v)); }, { "class": "w-l", "data-testid": testid + "-users" })));
    }
    line.appendChild(button("删除", function () { srcs.splice(k, 1); }, "danger"));
    var p = problemsAt(where);
    if (p) line.appendChild(p);
    return line;
  }

  function renderSources(st, prop, title, sw, testid) {
    var box = el("div", {}, [el("div", { "class": "sub", text: title })]);
    var srcs = st[prop] || [];
    srcs.forEach(function (s, k) { box.appendChild(renderSource(srcs, k, sw + "." + prop + "[" + k + "]", testid)); });
    box.appendChild(button("＋ " + title, function () { st[prop] = srcs; srcs.push({ kind: "counselor" }); }, "", "d-add-" + testid));
    return box;
  }

  function renderStep(st, i) {
    var sw = stepWhere(i);
    var row = el("div", { "class": "item", "data-testid": "d-step", "data-where": sw, "data-step": st.id || "" });
    row.appendChild(el("div", { "class": "line" }, [el("span", { "class": "stepno", text: "第 " + (i + 1) + " 步" }),
      labelled("名称", input(st.name, function (v) { st.name = v; }, { "class": "w-m", "data-testid": "d-step-name" })),
      labelled("标识", input(st.id, function (v) { st.id = v; }, { "class": "w-m", "data-testid": "d-step-id" })),
      labelled("审批方式", select(MODES, st.mode, function (v) { st.mode = v; }, "d-step-mode")),
      labelled("时限（工作日）", input(st.limit_days, function (v) { set(st, "limit_days", num(v)); }, { type: "number", "class": "w-s", min: "0" })),
      labelled("催办间隔（小时）", input(st.remind_hours, function (v) { set(st, "remind_hours", num(v)); }, { type: "number", "class": "w-s", min: "0" })),
      button("↑", function () { move(model.steps, i, -1); }, "", "d-step-up"), button("↓", function () { move(model.steps, i, 1); }, "", "d-step-down"),
      button("删除", function () { model.steps.splice(i, 1); }, "danger", "d-step-remove")]));
    var p = problemsAt(sw);
    if (p) { row.appendChild(p); row.className += " item_bad"; }
    row.appendChild(renderSources(st, "approvers", "审批人", sw, "d-approver"));
    row.appendChild(renderSources(st, "cc", "抄送", sw, "d-cc"));
    row.appendChild(renderSources(st, "escalate_to", "超时上报给", sw, "d-escalate"));
    // Branches: the first whose condition holds is taken; none: the flow ends.
    var edges = el("div", {}, [el("div", { "class": "sub", text: "分支（按顺序取第一条条件成立的；都不成立或没有分支时流程结束）" })]);
    var next = st.next || [];
    var targets = [["", "结束（申请通过）"]];
    model.steps.forEach(function (o, j) { if (j !== i && o.id) targets.push([o.id, "转到 " + (o.name || o.id) + "（" + o.id + "）"]); });
    next.forEach(function (e, k) {
      var ew = sw + ".next[" + k + "]";
      // A branch to a step that is not there keeps its target (and 校验
      // says so) rather than silently becoming "end".
      if (e.to && !targets.some(function (o) { return o[0] === e.to; })) targets = targets.concat([[e.to, "转到不存在的步骤 " + e.to]]);
      var line = el("div", { "class": "line edge", "data-testid": "d-edge", "data-where": ew }, [
        labelled("条件", input(e.when, function (v) { set(e, "when", v); }, { "class": "w-l", "data-testid": "d-edge-when", placeholder: "如 leave.days > 3；留空表示总是" })),
        select(targets, e.to, function (v) { e.to = v; }, "d-edge-to"),
        button("↑", function () { move(next, k, -1); }), button("↓", function () { move(next, k, 1); }),
        button("删除", function () { next.splice(k, 1); }, "danger")]);
      var ep = problemsAt(ew);
      if (ep) line.appendChild(ep);
      edges.appendChild(line);
    });
    edges.appendChild(button("＋ 分支", function () { st.next = next; next.push({ when: "", to: "" }); }, "", "d-add-edge"));
    row.appendChild(edges);
    return row;
  }

  function render() {
    problems.forEach(function (p) { p.shown = false; });
    root.textContent = "";
    root.appendChild(renderMeta());
    var fields = el("fieldset", { "data-testid": "d-fields" }, [el("legend", { text: "表单字段" })]);
    var fp = problemsAt("fields");
    if (fp) fields.appendChild(fp);
    model.fields.forEach(function (f, i) { fields.appendChild(renderField(f, i)); });
    fields.appendChild(button("＋ 添加字段", function () { model.fields.push({ key: "", label: "", type: "text" }); }, "", "d-add-field"));
    root.appendChild(fields);
    var steps = el("fieldset", { "data-testid": "d-steps" }, [el("legend", { text: "审批步骤（从第一步开始）" })]);
    var sp = problemsAt("steps");
    if (sp) steps.appendChild(sp);
    model.steps.forEach(function (st, i) { steps.appendChild(renderStep(st, i)); });
    steps.appendChild(button("＋ 添加步骤", function () {
      model.steps.push({ id: "", name: "", mode: "any", approvers: [{ kind: "counselor" }] });
    }, "", "d-add-step"));
    root.appendChild(steps);
    // Problems the designer has no place for stay only in the list above.
  }

  function serialize() {
    var out = { key: model.key || "", name: model.name || "", owner: model.owner || "" };
    if (model.description) out.description = model.description;
    out.audience = model.audience || "";
    out.fields = model.fields;
    out.steps = model.steps.map(function (st) {
      var s = {};
      Object.keys(st).forEach(function (k) { s[k] = st[k]; });
      s.approvers = st.approvers || [];
      ["cc", "escalate_to", "next"].forEach(function (k) { if (s[k] && s[k].length === 0) delete s[k]; });
      if (s.next) s.next = s.next.map(function (e) { var x = { to: e.to || "" }; if (e.when) x.when = e.when; return x; });
      return s;
    });
    if (model.confirm_return) out.confirm_return = true;
    return JSON.stringify(out, null, 2);
  }

  form.addEventListener("submit", function () { box.value = serialize(); });
  var details = form.querySelector("details.json");
  if (details) details.open = false; // the designer edits; the JSON stays at hand
  // Edits in the JSON box (an admin pasting a definition) replace the model.
  box.addEventListener("change", function () {
    try { var m = JSON.parse(box.value); model = m; model.fields = model.fields || []; model.steps = model.steps || []; render(); } catch (e) { /* the server will say */ }
  });
  root.addEventListener("input", function () { box.value = serialize(); });
  root.addEventListener("change", function () { box.value = serialize(); });
  root.hidden = false;
  render();
})();
