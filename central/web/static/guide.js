// 智能导办: take a ticket from the checklist (JSON to the public issuing
// endpoint) and print the checklist. Without JavaScript the form still posts.
"use strict";
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("g-take")) return;
  event.preventDefault();
  const out = form.querySelector(".g-take-result");
  const button = form.querySelector("button");
  const say = (html) => { if (out) out.innerHTML = html; };
  button.disabled = true;
  say("正在取号…");
  try {
    const response = await fetch(form.action, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ service: form.elements.service.value, matter: form.elements.matter.value }),
    });
    const data = await response.json().catch(() => ({}));
    if (response.ok && data.number) {
      const link = data.citizen_path || (data.token ? "/t/" + data.token : "");
      say('<div class="g-ticket">您的号码 <strong>' + String(data.number).replace(/[<>&"]/g, "") +
        "</strong></div>" + (link ? '<a class="g-btn" href="' + encodeURI(link) + '">查看排队进度</a>' : ""));
      return;
    }
    say(response.status === 404 ? "线上取号暂未开放，请到大厅取号机取号。"
      : (typeof data.detail === "string" ? data.detail : "取号未成功，请稍后再试或到取号机取号。"));
  } catch (_) {
    say("网络不畅，请稍后再试或到大厅取号机取号。");
  }
  button.disabled = false;
});
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) window.print();
});
