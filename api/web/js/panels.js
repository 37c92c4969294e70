// The side panels (goals, transactions, notifications) and the toasts.

import { dollars } from "./cards.js";

const $ = (id) => document.getElementById(id);
// Older ones stay in the notifications panel; a phone shows only the newest.
const maxToasts = () => (window.matchMedia("(max-width: 600px)").matches ? 1 : 3);
const TOAST_MS = 8000;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "never";
}

export function openPanel(id, opener) {
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== id;
  const panel = $(id);
  panel.dataset.opener = opener?.id || "";
  panel.querySelector(".close").focus();
}

export function closePanel(panel) {
  panel.hidden = true;
  if (panel.dataset.opener) $(panel.dataset.opener)?.focus();
}

const GOAL_ACTIONS = {
  active: [["Pause", "paused"], ["Cancel", "cancelled"]],
  paused: [["Resume", "active"], ["Cancel", "cancelled"]],
  error: [["Resume", "active"], ["Cancel", "cancelled"]],
};

export function renderGoals(goals, change) {
  const list = $("goal-list");
  list.replaceChildren();
  if (!goals.length) list.append(el("li", "empty", "No goals yet. Ask for a deal and I'll keep watching it."));
  for (const goal of goals) {
    const item = el("li", "goal");
    const head = el("div", "goal-head");
    head.append(el("h3", "goal-title", goal.title), el("span", `status status-${goal.status}`, goal.status));
    item.append(head);
    const facts = el("dl", "goal-facts");
    for (const [label, value] of [
      ["Budget", goal.max_budget ? dollars(goal.max_budget) : "none"],
      ["Target", goal.target_price ? dollars(goal.target_price) : "none"],
      ["Matches", String(goal.total_matches_found)],
      ["Tokens spent", Number(goal.total_tokens_spent).toFixed(2)],
      ["Last checked", when(goal.last_checked_at)],
    ]) facts.append(el("dt", null, label), el("dd", null, value));
    item.append(facts);
    const actions = el("div", "goal-actions");
    for (const [label, status] of GOAL_ACTIONS[goal.status] || []) {
      const button = el("button", status === "cancelled" ? "danger" : null, label);
      button.type = "button";
      button.setAttribute("aria-label", `${label} goal ${goal.title}`);
      button.addEventListener("click", () => change(goal, status, button));
      actions.append(button);
    }
    item.append(actions);
    list.append(item);
  }
}

export function renderTransactions(items) {
  const list = $("transaction-list");
  list.replaceChildren();
  if (!items.length) list.append(el("li", "empty", "No transactions yet."));
  for (const t of items) {
    const item = el("li", `transaction status-${t.status}`);
    const sign = t.type === "deduction" ? "−" : "+";
    item.append(
      el("span", "transaction-amount", `${sign}${Number(t.amount).toFixed(2)}`),
      el("span", "transaction-what", t.description || t.type),
      el("time", "transaction-when", when(t.created_at)),
    );
    if (t.status !== "completed") item.append(el("span", "transaction-status", t.status));
    list.append(item);
  }
}

export function renderNotifications(items, open) {
  const list = $("notification-list");
  list.replaceChildren();
  if (!items.length) list.append(el("li", "empty", "Nothing yet. Price drops and new matches show up here."));
  for (const n of items) {
    const item = el("li", n.status === "read" ? "notification" : "notification unread");
    const button = el("button", "notification-open");
    button.type = "button";
    button.append(el("strong", null, n.title), el("span", null, n.message), el("time", null, when(n.created_at)));
    button.addEventListener("click", () => open(n));
    item.append(button);
    list.append(item);
  }
}

export function setUnread(count) {
  const badge = $("unread");
  badge.hidden = count <= 0;
  badge.textContent = count > 99 ? "99+" : String(count);
  $("open-notifications").setAttribute("aria-label", count > 0 ? `Notifications, ${count} unread` : "Notifications");
}

export function toast(title, message, onOpen) {
  const box = el("div", "toast");
  box.setAttribute("role", "status");
  const open = el("button", "toast-open");
  open.type = "button";
  open.append(el("strong", null, title), el("span", null, message));
  open.addEventListener("click", () => { box.remove(); onOpen?.(); });
  const close = el("button", "toast-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", "Dismiss");
  close.addEventListener("click", () => box.remove());
  box.append(open, close);
  const shelf = $("toasts");
  shelf.append(box);
  while (shelf.children.length > maxToasts()) shelf.firstElementChild.remove();
  setTimeout(() => box.remove(), TOAST_MS);
}
