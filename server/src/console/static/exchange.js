// The exchange desks. 名册导入: the chosen file goes to the roster dry run, whose report
// is shown row by row; only a report with no refused row enables 导入, which sends the
// same file, with its name, to the all-or-nothing import; the page then reloads to list
// it among the past imports. 报送导出: the form records an export through
// the API and the page reloads to list it. Nothing changes except through the API.
"use strict";
(function () {
  const api = window.hourmark.api;

  const roster = document.getElementById("roster-form");
  if (roster) {
    const base = "/api/v1/organisations/" + roster.dataset.organisationId + "/roster-imports";
    const file = document.getElementById("roster-file");
    const encoding = document.getElementById("roster-encoding");
    const dryRun = document.getElementById("dry-run");
    const importButton = document.getElementById("import");
    const status = document.getElementById("roster-status");
    const report = document.getElementById("report");
    const refusedTable = document.getElementById("refused-rows");
    const say = (text, failed) => {
      status.textContent = text;
      status.classList.toggle("error", Boolean(failed));
    };
    const set = (id, value) => { document.getElementById(id).textContent = String(value); };
    // The file the last clean dry run passed: only that one may be imported.
    let checked = null;
    const reset = () => {
      checked = null;
      importButton.disabled = true;
      importButton.classList.remove("primary");
      report.hidden = true;
      say("");
    };
    // What the last import said survives the reload that lists it.
    const kept = sessionStorage.getItem("hourmark.roster.status");
    if (kept) {
      sessionStorage.removeItem("hourmark.roster.status");
      say(kept);
      const made = sessionStorage.getItem("hourmark.roster.made");
      sessionStorage.removeItem("hourmark.roster.made");
      const row = made && document.querySelector('#past-imports tr[data-import-id="' + made + '"]');
      if (row) {
        row.classList.add("just-recorded");
        row.scrollIntoView({ block: "nearest" });
      }
    }
    file.addEventListener("change", reset);
    encoding.addEventListener("change", reset);
    const query = () => (encoding.value === "auto" ? "" : "?encoding=" + encodeURIComponent(encoding.value));
    const chosen = () => {
      const f = file.files && file.files[0];
      if (!f) { say("请先选择花名册文件。", true); return null; }
      // A type the browser could not name is told by the file's name: the server reads both.
      if (f.type) return f;
      const xlsx = /\.xlsx$/i.test(f.name);
      return new Blob([f], { type: xlsx ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" : "text/csv" });
    };

    dryRun.addEventListener("click", async () => {
      reset();
      const body = chosen();
      if (!body) return;
      dryRun.disabled = true;
      say("正在逐行校验……");
      try {
        const r = await api("POST", base + "/dry-run" + query(), body);
        set("fact-rows", r.rows);
        set("fact-new", r.new_volunteers);
        set("fact-known", r.already_registered);
        set("fact-refused", r.refused.length);
        const rows = r.refused.map(x => {
          const tr = document.createElement("tr");
          const row = document.createElement("td");
          row.className = "nowrap";
          row.textContent = "第 " + x.row + " 行";
          const why = document.createElement("td");
          why.textContent = x.detail;
          tr.dataset.problem = x.problem;
          tr.append(row, why);
          return tr;
        });
        refusedTable.tBodies[0].replaceChildren(...rows);
        refusedTable.hidden = rows.length === 0;
        report.hidden = false;
        if (r.refused.length > 0) {
          say("有 " + r.refused.length + " 行不合格，请在原表中改正后重新试运行。未写入任何数据。", true);
          refusedTable.scrollIntoView({ block: "nearest" });
        } else if (r.rows === 0) {
          say("文件中没有数据行。", true);
        } else {
          checked = body;
          importButton.disabled = false;
          importButton.classList.add("primary");
          say("全部 " + r.rows + " 行合格，可以导入。");
        }
      } catch (e) {
        say("未能试运行：" + e.message, true);
      } finally {
        dryRun.disabled = false;
      }
    });

    importButton.addEventListener("click", async () => {
      if (!checked) return;
      importButton.disabled = true;
      dryRun.disabled = true;
      say("正在导入……");
      try {
        const named = (query() ? query() + "&" : "?") + "file_name=" + encodeURIComponent(file.files[0].name);
        const r = await api("POST", base + named, checked);
        checked = null;
        sessionStorage.setItem("hourmark.roster.status",
          "导入完成（导入编号 " + r.id + "）：新登记 " + r.registered + " 人，关联已登记 " + r.linked + " 人。");
        sessionStorage.setItem("hourmark.roster.made", String(r.id));
        location.reload();
      } catch (e) {
        importButton.disabled = false;
        say("未导入（未写入任何数据）：" + e.message, true);
      } finally {
        dryRun.disabled = false;
      }
    });
  }

  const exportForm = document.getElementById("export-form");
  if (exportForm) {
    const status = document.getElementById("export-status");
    const say = (text, failed) => {
      status.textContent = text;
      status.classList.toggle("error", Boolean(failed));
    };
    // What the last export said survives the reload that lists it.
    const kept = sessionStorage.getItem("hourmark.export.status");
    if (kept) {
      sessionStorage.removeItem("hourmark.export.status");
      say(kept);
      const made = sessionStorage.getItem("hourmark.export.made");
      sessionStorage.removeItem("hourmark.export.made");
      const row = made && document.querySelector('#exports tr[data-export-id="' + made + '"]');
      if (row) row.classList.add("just-recorded");
    }
    exportForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const f = exportForm.elements;
      const body = { kind: f.kind.value };
      if (f.batch_id.value.trim()) body.batch_id = Number(f.batch_id.value);
      if (f.organisation_code.value.trim()) body.organisation_code = f.organisation_code.value.trim().toUpperCase();
      const button = document.getElementById("create-export");
      button.disabled = true;
      try {
        const e = await api("POST", "/api/v1/organisations/" + exportForm.dataset.organisationId + "/exchange-exports", body);
        const held = e.held_for_consent > 0 ? "，" + e.held_for_consent + " 项因同意范围暂缓" : "";
        sessionStorage.setItem("hourmark.export.status", "已生成导出 " + e.id + "：" + e.items + " 条" + held + "。");
        sessionStorage.setItem("hourmark.export.made", String(e.id));
        location.reload();
      } catch (e) {
        button.disabled = false;
        say("未生成导出：" + e.message, true);
      }
    });
  }
})();
