// The reviewer page's timeline. It polls the JSON API and redraws only when the answer changes.
// Captured data is hostile: it reaches the page through textContent only, never as markup.
"use strict";

(() => {
  const POLL_MS = 1500;
  const LIMIT = 200;

  const timeline = document.getElementById("timeline");
  const empty = document.getElementById("empty");
  const statusLine = document.getElementById("status");
  const mailProblem = document.getElementById("mail-problem");
  const search = document.getElementById("search");
  const kindBoxes = Array.from(document.querySelectorAll('input[name="kind"]'));
  const rulesText = document.getElementById("rules");
  const ruleCount = document.getElementById("rule-count");
  const mailhogLink = document.body.dataset.mailhogLink || "";

  const openEvents = new Set();
  let lastUrl = "";
  let lastTag = "";
  let timer = 0;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function eventsUrl() {
    const params = new URLSearchParams({ limit: String(LIMIT) });
    const text = search.value.trim();
    if (text) params.set("q", text);
    for (const box of kindBoxes) if (box.checked) params.append("kind", box.value);
    return "../api/events?" + params.toString();
  }

  function clock(iso) {
    const moment = new Date(iso);
    const sameDay = moment.toDateString() === new Date().toDateString();
    return sameDay ? moment.toLocaleTimeString() : moment.toLocaleString();
  }

  function sizeText(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " kB";
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function shorten(text, length) {
    const line = String(text || "").replace(/\s+/g, " ").trim();
    return line.length > length ? line.slice(0, length - 1) + "…" : line;
  }

  function prettyBody(body, contentType) {
    if (!body) return "";
    if ((contentType || "").includes("json") || /^\s*[[{]/.test(body)) {
      try {
        return JSON.stringify(JSON.parse(body), null, 2);
      } catch (_error) {
        return body;
      }
    }
    return body;
  }

  function fields(pairs) {
    const list = el("dl", "fields");
    for (const [name, value] of pairs) {
      if (value === undefined || value === null || value === "") continue;
      list.append(el("dt", "", name), el("dd", "", value));
    }
    return list;
  }

  function block(title, text) {
    const wrap = el("div", "block");
    wrap.append(el("h3", "", title), el("pre", "", text === "" ? "(empty)" : text));
    return wrap;
  }

  function webhookParts(event) {
    const rule = event.response.rule;
    const answered = event.response.status + (rule ? " (rule " + rule + ")" : "");
    const title = event.method + " " + event.path + (event.query ? "?" + event.query : "");
    const meta = "answered " + event.response.status + " · " + sizeText(event.size);
    const detail = [
      fields([
        ["Received", event.time],
        ["Method", event.method],
        ["Path", event.path],
        ["Query", event.query],
        ["From", event.client],
        ["Answered", answered],
        ["Size", sizeText(event.size) + (event.truncated ? " (truncated)" : "")],
      ]),
      block("Headers", event.headers.map(([name, value]) => name + ": " + value).join("\n")),
      block(
        event.body_encoding === "base64" ? "Body (binary, base64)" : "Body",
        prettyBody(event.body, event.content_type),
      ),
    ];
    return { title, meta, detail };
  }

  function smsParts(event) {
    const sms = event.sms;
    const refused = sms.status === "rejected";
    const text = refused && sms.error_message ? "refused: " + sms.error_message : sms.body;
    const title = (sms.to || "(no recipient)") + " · " + shorten(text, 80);
    const sender = sms.from || sms.messaging_service_sid || "?";
    const meta = refused ? "refused " + event.response.status : "from " + sender;
    const detail = [
      fields([
        ["Received", event.time],
        ["To", sms.to],
        ["From", sms.from],
        ["Messaging service", sms.messaging_service_sid],
        ["Status", sms.status],
        ["Error", sms.error_code ? sms.error_code + ": " + sms.error_message : ""],
        ["Segments", sms.num_segments],
        ["Media", sms.media_urls.join("\n")],
        ["SID", sms.sid],
        ["Account", sms.account_sid],
      ]),
      block("Message", sms.body),
    ];
    return { title, meta, detail, refused };
  }

  function emailParts(event) {
    const title = event.subject || "(no subject)";
    const meta = "to " + event.to.join(", ");
    const detail = [
      fields([
        ["Received", event.time],
        ["From", event.from],
        ["To", event.to.join(", ")],
        ["Subject", event.subject],
        ["Size", sizeText(event.size)],
      ]),
      block(event.body_type === "html" ? "Body (HTML source)" : "Body", event.body),
    ];
    if (mailhogLink) {
      const link = el("a", "open-mailhog", "Open in MailHog");
      link.href = mailhogLink;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      detail.push(link);
    }
    return { title, meta, detail };
  }

  const PARTS = { webhook: webhookParts, sms: smsParts, email: emailParts };

  function eventItem(event) {
    const key = event.kind + ":" + event.id;
    const parts = PARTS[event.kind](event);
    const item = el("li", "event kind-" + event.kind + (parts.refused ? " refused" : ""));
    item.dataset.key = key;
    const details = el("details");
    details.open = openEvents.has(key);
    details.addEventListener("toggle", () => {
      if (details.open) openEvents.add(key);
      else openEvents.delete(key);
    });
    const summary = el("summary");
    const time = el("time", "when", clock(event.time));
    time.dateTime = event.time;
    summary.append(
      time,
      el("span", "badge", event.kind),
      el("span", "title", parts.title),
      el("span", "meta", parts.meta),
    );
    const body = el("div", "detail");
    body.append(...parts.detail);
    details.append(summary, body);
    item.append(details);
    return item;
  }

  function render(data) {
    timeline.replaceChildren(...data.events.map(eventItem));
    empty.hidden = data.events.length > 0;
    if (data.mail.status === "error") {
      mailProblem.textContent = "Email is not shown: " + data.mail.error;
      mailProblem.hidden = false;
    } else {
      mailProblem.hidden = true;
    }
  }

  function setStatus(text, failing) {
    statusLine.textContent = text;
    statusLine.classList.toggle("failing", Boolean(failing));
  }

  async function refreshEvents() {
    if (!kindBoxes.some((box) => box.checked)) {
      render({ events: [], mail: { status: "ok" } });
      lastUrl = "";
      return;
    }
    const url = eventsUrl();
    const headers = url === lastUrl && lastTag ? { "If-None-Match": lastTag } : {};
    const response = await fetch(url, { headers, cache: "no-store", credentials: "same-origin" });
    if (response.status === 304) return;
    if (!response.ok) throw new Error("the inbox answered " + response.status);
    const data = await response.json();
    lastUrl = url;
    lastTag = response.headers.get("ETag") || "";
    render(data);
  }

  async function refreshRules() {
    const response = await fetch("../api/responses", { cache: "no-store", credentials: "same-origin" });
    if (!response.ok) throw new Error("the inbox answered " + response.status);
    const data = await response.json();
    ruleCount.textContent = String(data.rules.length);
    rulesText.textContent = data.rules.length
      ? JSON.stringify(data.rules, null, 2)
      : "None: every request gets the default answer.";
  }

  async function poll() {
    clearTimeout(timer);
    try {
      await Promise.all([refreshEvents(), refreshRules()]);
      setStatus("Live · checked " + new Date().toLocaleTimeString(), false);
    } catch (error) {
      setStatus("Cannot read the inbox: " + error.message, true);
    }
    timer = setTimeout(poll, POLL_MS);
  }

  let typing = 0;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(poll, 250);
  });
  for (const box of kindBoxes) box.addEventListener("change", poll);
  poll();
})();
