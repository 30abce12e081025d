// The chat simulator: act as a customer's LINE app. Everything the bot says comes from what the LINE emulator
// accepted (GET /simulator/api/users/<id>/chat); every tap and text goes to the webhook as LINE sends it.
// Plain DOM building with textContent only: nothing the bot or the customer wrote is parsed as HTML.
"use strict";

(() => {
  const L = JSON.parse(document.getElementById("labels").textContent);
  const $ = (id) => document.getElementById(id);
  const state = { user: null, customer: null, label: "", status: "none", signature: "" };
  const URL_PATTERN = /(https?:\/\/[^\s<>"]+)/g;
  const COLOR = /^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  async function api(method, path, body) {
    const options = { method, headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch("/simulator/api" + path, options);
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`);
    return response.json();
  }

  function showError(failed) {
    $("error").hidden = !failed;
  }

  // ── text with line breaks and links ───────────────────────────────────────────────────────────────
  function linkified(text, className) {
    const node = el("div", className);
    String(text || "").split(URL_PATTERN).forEach((part, i) => {
      if (i % 2 === 1) {
        const link = el("a", null, part);
        link.href = part;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        node.append(link);
      } else if (part) {
        node.append(document.createTextNode(part));
      }
    });
    return node;
  }

  function clock(at) {
    const date = typeof at === "number" ? new Date(at * 1000) : new Date(at);
    return isNaN(date) ? "" : date.toLocaleString(document.documentElement.lang, {
      month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
    });
  }

  // ── actions: postback, message, uri, datetimepicker ───────────────────────────────────────────────
  function runAction(action) {
    if (!action || !state.user) return;
    if (action.type === "postback") {
      act({ type: "postback", data: action.data, display: action.displayText || action.text || "" });
    } else if (action.type === "message") {
      act({ type: "text", text: action.text });
    } else if (action.type === "uri" && /^https?:\/\//.test(action.uri || "")) {
      window.open(action.uri, "_blank", "noopener");
    } else if (action.type === "datetimepicker") {
      pick(action);
    }
  }

  function pick(action) {
    const mode = action.mode || "datetime";
    const input = $("picker-input");
    input.type = { datetime: "datetime-local", date: "date", time: "time" }[mode] || "datetime-local";
    // LINE accepts "2024-06-10t14:30" as well as "…T14:30"; the input takes the upper case only
    const bound = (value) => (value || "").replace("t", "T");
    input.value = bound(action.initial);
    input.min = bound(action.min);
    input.max = bound(action.max);
    const dialog = $("picker");
    dialog.dataset.mode = mode;
    dialog.onclose = () => {
      if (dialog.returnValue === "ok" && input.value) {
        act({ type: "postback", data: action.data, params: { [mode]: input.value.slice(0, 16) } });
      }
    };
    dialog.returnValue = "";
    dialog.showModal();
  }

  function actionButton(action, className) {
    const button = el("button", className, (action && action.label) || "");
    button.type = "button";
    button.dataset.actionType = (action && action.type) || "";
    if (action && action.data) button.dataset.data = action.data;
    button.addEventListener("click", () => runAction(action));
    return button;
  }

  // ── Flex ──────────────────────────────────────────────────────────────────────────────────────────
  function flex(node) {
    if (!node || typeof node !== "object") return el("span");
    switch (node.type) {
      case "carousel": {
        const row = el("div", "flex-carousel");
        (node.contents || []).forEach((bubble) => row.append(flex(bubble)));
        return row;
      }
      case "bubble": {
        const card = el("div", "flex-bubble");
        ["header", "hero", "body", "footer"].forEach((part) => {
          if (node[part]) {
            const section = el("div", `flex-${part}`);
            section.append(flex(node[part]));
            card.append(section);
          }
        });
        return card;
      }
      case "box": {
        const box = el("div", `flex-box flex-${node.layout || "vertical"}`);
        if (node.spacing) box.classList.add(`flex-spacing-${node.spacing}`);
        (node.contents || []).forEach((child) => box.append(flex(child)));
        return box;
      }
      case "text": {
        const text = linkified(node.text || (node.contents || []).map((s) => s.text || "").join(""), "flex-text");
        text.classList.add(`flex-size-${node.size || "md"}`);
        if (node.weight === "bold") text.classList.add("flex-bold");
        if (COLOR.test(node.color || "")) text.style.color = node.color;
        return text;
      }
      case "button":
        return actionButton(node.action, `flex-button flex-button-${node.style || "link"}`);
      case "separator":
        return el("hr", "flex-separator");
      case "image":
        return el("div", "flex-image", "🖼");
      default:
        return el("span");
    }
  }

  // ── the chat ──────────────────────────────────────────────────────────────────────────────────────
  function botMessage(message) {
    switch (message.type) {
      case "text":
      case "textV2":
        return linkified(message.text, "bubble bot");
      case "flex": {
        const wrap = el("div", "flex-message");
        wrap.append(flex(message.contents));
        return wrap;
      }
      case "coupon": {
        const coupon = message.coupon || {};
        const card = el("div", "coupon");
        card.append(el("div", "coupon-label", L.coupon_label));
        card.append(el("div", "coupon-title", coupon.title || message.couponId));
        if (coupon.description) card.append(linkified(coupon.description, "coupon-text"));
        if (coupon.endTimestamp) {
          card.append(el("div", "coupon-until", `${L.coupon_until}: ${clock(coupon.endTimestamp)}`));
        }
        return card;
      }
      case "template": {
        const template = message.template || {};
        const card = el("div", "bubble bot template");
        if (template.title) card.append(el("strong", null, template.title));
        card.append(linkified(template.text || message.altText, "template-text"));
        (template.actions || []).forEach((action) => card.append(actionButton(action, "flex-button flex-button-link")));
        return card;
      }
      default:
        return el("div", "bubble bot unsupported", `${L.unsupported} ${message.altText || ""}`);
    }
  }

  function userEntry(entry) {
    if (entry.kind === "note") return el("div", "note", L[`note_${entry.note}`] || entry.note);
    const wrap = el("div", "bubble user");
    if (entry.text) wrap.append(linkified(entry.text, "user-text"));
    if (entry.params) {
      const picked = Object.values(entry.params).join(" ").replace("T", " ");
      wrap.append(el("div", "picked", `${L.picked}: ${picked}`));
    }
    return wrap;
  }

  function renderMessages(messages) {
    const list = $("messages");
    list.replaceChildren();
    messages.forEach((entry) => {
      const item = el("li", `entry from-${entry.from}`);
      item.append(entry.from === "bot" ? botMessage(entry.message) : userEntry(entry));
      item.append(el("time", "time", clock(entry.at)));
      if (entry.from === "bot") item.dataset.type = entry.message.type;
      list.append(item);
    });
    // LINE shows the quick replies of the latest message only, until the customer does something
    const last = messages[messages.length - 1];
    const chips = $("quick-replies");
    chips.replaceChildren();
    const items = last && last.from === "bot" && last.message.quickReply ? last.message.quickReply.items : [];
    items.forEach((item) => chips.append(actionButton(item.action, "chip")));
    list.scrollTop = list.scrollHeight;
  }

  // who the chat stands for: the customer picked, and the record the service holds for this LINE user
  // (a prospect until the ID link binds the LINE user to the customer)
  function who(customer) {
    const parts = state.label ? [state.label] : [];
    if (customer) {
      const record = customer.code ? `${customer.code} ${customer.name}` : `${L.prospect} #${customer.id}`;
      if (record !== state.label) parts.push(`${L.record}: ${record}`);
      parts.push(customer.linked ? L.linked : L.unlinked);
    }
    return parts.join(" · ");
  }

  function showStatus(status, customer) {
    state.status = status;
    $("status").textContent = L[`status_${status}`] || status;
    $("status").dataset.status = status;
    $("follow").hidden = status !== "none";
    $("block").hidden = status !== "friend";
    $("unblock").hidden = status !== "blocked";
    $("text").disabled = $("send").disabled = status === "blocked";
    $("hint").textContent = status === "none" ? L.not_friend_hint : "";
    $("hint").hidden = status !== "none";
    $("chat-who").textContent = who(customer);
  }

  async function refresh() {
    if (!state.user) return;
    try {
      const data = await api("GET", `/users/${state.user}/chat`);
      showError(false);
      showStatus(data.status, data.customer);
      const last = data.messages[data.messages.length - 1];
      const signature = `${data.messages.length}:${last ? last.at : ""}`;
      if (signature !== state.signature) {
        state.signature = signature;
        renderMessages(data.messages);
      }
    } catch (error) {
      showError(true);
    }
  }

  async function act(action) {
    try {
      await api("POST", `/users/${state.user}/events`, action);
      showError(false);
    } catch (error) {
      showError(true);
    }
    await refresh();
    refreshPanes();
    loadPeople(); // a new friend becomes a prospect on the list
  }

  // ── SMS and email panes ───────────────────────────────────────────────────────────────────────────
  function pane(list, items, empty, external, render) {
    list.replaceChildren();
    if (items === null) {
      list.append(el("li", "empty", external));
    } else if (!items.length) {
      list.append(el("li", "empty", empty));
    } else {
      items.forEach((item, i) => list.append(render(item, i === items.length - 1)));
    }
  }

  async function refreshPanes() {
    if (!state.user) return;
    const query = state.customer ? `?customer=${encodeURIComponent(state.customer)}` : "";
    try {
      const data = await api("GET", `/users/${state.user}/inbox${query}`);
      pane($("sms"), data.sms, L.no_sms, L.sms_external, (sms) => {
        const item = el("li", "sms");
        item.append(el("time", "time", clock(sms.at)), linkified(sms.text, "sms-text"));
        return item;
      });
      pane($("emails"), data.emails, L.no_email, L.mail_external, (mail, latest) => {
        const item = el("li", "email");
        const details = el("details");
        details.open = latest;
        const summary = el("summary");
        summary.append(el("strong", "subject", mail.subject), el("time", "time", clock(mail.at)));
        details.append(summary, linkified(mail.text, "email-text"));
        item.append(details);
        return item;
      });
    } catch (error) {
      showError(true);
    }
  }

  // ── people ────────────────────────────────────────────────────────────────────────────────────────
  function personLabel(person) {
    if (person.code) return `${person.code} ${person.name}`;
    if (person.line_user_id) return `${L.line_user} …${person.line_user_id.slice(-6)}`;
    return `${L.prospect} #${person.id}`;
  }

  async function loadPeople() {
    try {
      const data = await api("GET", `/people?q=${encodeURIComponent($("search").value)}`);
      const list = $("people-list");
      list.replaceChildren();
      if (!data.people.length) list.append(el("li", "empty", L.no_people));
      data.people.forEach((person) => {
        const item = el("li");
        const button = el("button", "person", personLabel(person));
        button.type = "button";
        button.dataset.customerId = person.id;
        if (person.code) button.dataset.code = person.code;
        button.addEventListener("click", () => openChat(person.id, person.code ? personLabel(person) : ""));
        item.append(button);
        list.append(item);
      });
    } catch (error) {
      showError(true);
    }
  }

  async function openChat(customerId, label) {
    try {
      // the LINE user's app speaks the page's language (?lang=en: an English-speaking user)
      const language = document.documentElement.lang;
      const body = customerId === null ? { language } : { customer_id: customerId, language };
      const data = await api("POST", "/chats", body);
      select(data.user_id, customerId, label || "");
    } catch (error) {
      showError(true);
    }
  }

  function select(user, customer, label) {
    state.user = user;
    state.customer = customer;
    state.label = label;
    state.signature = "";
    localStorage.setItem("simulator.chat", JSON.stringify({ user, customer, label }));
    const query = new URLSearchParams(window.location.search);
    query.set("user", user);
    if (customer === null) query.delete("customer");
    else query.set("customer", customer);
    history.replaceState(null, "", `${window.location.pathname}?${query}`);
    document.querySelectorAll("#people-list .person").forEach((button) => {
      button.classList.toggle("selected", Number(button.dataset.customerId) === customer);
    });
    $("text").disabled = $("send").disabled = false;
    refresh();
    refreshPanes();
  }

  function restore() {
    const query = new URLSearchParams(window.location.search);
    let saved = {};
    try {
      saved = JSON.parse(localStorage.getItem("simulator.chat") || "{}");
    } catch (error) {
      saved = {};
    }
    const user = query.get("user") || saved.user;
    if (!user || !/^U[0-9a-f]{32}$/.test(user)) return;
    const same = saved.user === user;
    const customer = query.get("customer") || (same ? saved.customer : null);
    select(user, customer === null || customer === undefined ? null : Number(customer), same ? saved.label : "");
  }

  $("new-user").addEventListener("click", () => openChat(null, ""));
  $("search").addEventListener("input", () => loadPeople());
  $("follow").addEventListener("click", () => act({ type: "follow" }));
  $("block").addEventListener("click", () => act({ type: "block" }));
  $("unblock").addEventListener("click", () => act({ type: "unblock" }));
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (!text || !state.user) return;
    $("text").value = "";
    act({ type: "text", text });
  });
  loadPeople();
  restore();
  setInterval(refresh, 1000);
  setInterval(refreshPanes, 3000);
  setInterval(loadPeople, 15000);
})();
