// The chat app: signs in (or resumes from the refresh cookie), opens the chat socket and
// wires the conversation, the balance, the goals, transactions and notifications.

import { Api } from "./api.js";
import { Conversation } from "./chat.js";
import { friendly } from "./errors.js";
import {
  closePanel, openPanel, renderGoals, renderNotifications, renderTransactions, setUnread, toast,
} from "./panels.js";
import { ChatSocket } from "./socket.js";

const $ = (id) => document.getElementById(id);
const HISTORY_PAGE = 50;
const api = new Api();
let socket = null;
let conversation = null;
let olderRequested = false;
let unread = 0;

function showSignedIn(signedIn) {
  $("auth").hidden = signedIn;
  $("chat").hidden = !signedIn;
  $("account").hidden = !signedIn;
  document.body.classList.toggle("signed-in", signedIn);
  if (!signedIn) for (const panel of document.querySelectorAll(".panel")) panel.hidden = true;
}

function connection(text, kind) {
  const bar = $("connection");
  bar.hidden = !text;
  bar.textContent = text || "";
  bar.className = `connection ${kind || ""}`;
}

function setBalance(balance, charged) {
  $("balance-value").textContent = Number(balance).toFixed(2);
  const change = $("balance-change");
  change.textContent = charged && Number(charged) > 0 ? `−${Number(charged).toFixed(2)}` : "";
}

function onSocketState(state, wait) {
  if (state === "open") connection("");
  else if (state === "connecting") connection("Connecting…", "busy");
  else if (state === "reconnecting") connection("Reconnecting…", "busy");
  else if (state === "dropped") connection(`Connection lost. Reconnecting in ${wait} s…`, "warn");
  else if (state === "unauthorized") {
    connection("Your session ended; signing in again…", "warn");
    api.resume().then((ok) => {
      if (ok) socket.reconnectWith(api.token);
      else api.signedOut("Your session ended. Log in again.");
    }, () => api.signedOut("Your session ended. Log in again."));
  }
}

function onFrame(frame) {
  if (frame.type === "ready") {
    setBalance(frame.token_balance);
    conversation.reset();
    olderRequested = false;
    socket.send({ type: "history", limit: HISTORY_PAGE });
    return;
  }
  if (frame.type === "history") {
    conversation.history(frame.messages, olderRequested);
    $("earlier").hidden = frame.messages.length < HISTORY_PAGE;
    if (!olderRequested) resendPending();
    olderRequested = false;
    return;
  }
  if (frame.type === "notification") return notified(frame);
  if (frame.type === "error" && frame.code === "session_ended") {
    conversation.notice(friendly(frame.code, frame.message), "error");
    return;
  }
  conversation.onFrame(frame, setBalance);
  if (frame.type === "error" && frame.code === "insufficient_balance") refreshBalance();
  if (frame.type === "assistant_message") refreshGoals();
}

// Messages typed but not answered when the socket dropped: sent again under the same id,
// so the server answers each once (it replays a turn it already ran).
function resendPending() {
  for (const [id, pending] of conversation.pending) {
    socket.send({ type: "user_message", id, content: pending.content });
  }
}

function send(event) {
  event.preventDefault();
  const box = $("message");
  const content = box.value.trim();
  if (!content) return;
  const id = crypto.randomUUID();
  conversation.sent(id, content);
  box.value = "";
  if (!socket.send({ type: "user_message", id, content })) {
    conversation.notice("Not connected right now: your message goes out as soon as the connection is back.", "warn");
  }
}

async function startChat() {
  showSignedIn(true);
  conversation = new Conversation($("conversation"), {
    loadPrices: async (dealId) => (await api.get(`/deals/${dealId}/prices`)).prices,
    loadGoalDeals: async (goalId) => (await api.get(`/deals?goal_id=${encodeURIComponent(goalId)}&limit=100`)).deals,
  });
  socket = new ChatSocket({ token: api.token, onFrame, onState: onSocketState });
  socket.connect();
  refreshGoals();
  refreshNotifications();
  $("message").focus();
}

async function refreshBalance() {
  try {
    setBalance((await api.get("/tokens/balance")).token_balance);
  } catch { /* the next answer brings it */ }
}

async function refreshGoals() {
  try {
    const page = await api.get("/goals?limit=100");
    renderGoals(page.items, changeGoal);
  } catch { /* shown next time the panel opens */ }
}

async function changeGoal(goal, status, button) {
  button.disabled = true;
  try {
    await api.patch(`/goals/${goal.id}`, { status });
    await refreshGoals();
  } catch (error) {
    button.disabled = false;
    toast("Couldn't change the goal", error.message);
  }
}

async function refreshNotifications() {
  try {
    const page = await api.get("/notifications?limit=50");
    unread = page.items.filter((n) => n.status !== "read").length;
    setUnread(unread);
    renderNotifications(page.items, readNotification);
  } catch { /* the badge stays as it was */ }
}

// Opening a notification marks it read (over REST, to know when it is done).
async function readNotification(notification) {
  if (notification.status === "read") return;
  try {
    await api.post(`/notifications/${notification.id}/read`);
  } catch (error) {
    toast("Couldn't mark it read", error.message);
  }
  await refreshNotifications();
}

function notified(frame) {
  socket.send({ type: "ack", notification_id: frame.id });
  unread += 1;
  setUnread(unread);
  toast(frame.title, frame.message, async () => {
    openPanel("notifications-panel", $("open-notifications"));
    await readNotification({ id: frame.id, status: "unread" });
  });
  refreshNotifications();
  refreshGoals();
}

function fieldErrors(error) {
  $("email-error").textContent = error?.field === "email" ? error.message : "";
  $("password-error").textContent = error?.field === "password" ? error.message : "";
  $("auth-error").textContent = error && !error.field ? error.message : "";
  $("email").setAttribute("aria-invalid", String(error?.field === "email"));
  $("password").setAttribute("aria-invalid", String(error?.field === "password"));
  if (error?.field) $(error.field).focus();
}

async function authenticate(action) {
  const email = $("email").value.trim();
  const password = $("password").value;
  if (!email) return fieldErrors({ field: "email", message: "Enter your email." });
  if (!password) return fieldErrors({ field: "password", message: "Enter your password." });
  fieldErrors(null);
  for (const button of [$("login"), $("signup")]) button.disabled = true;
  try {
    await (action === "signup" ? api.signUp(email, password) : api.logIn(email, password));
    $("password").value = "";
    await startChat();
  } catch (error) {
    fieldErrors(error);
  } finally {
    for (const button of [$("login"), $("signup")]) button.disabled = false;
  }
}

function wire() {
  $("auth-form").addEventListener("submit", (event) => { event.preventDefault(); authenticate("login"); });
  $("signup").addEventListener("click", () => authenticate("signup"));
  $("composer").addEventListener("submit", send);
  $("message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) send(event);
  });
  $("logout").addEventListener("click", () => api.logOut().catch(() => {}));
  $("earlier").addEventListener("click", () => {
    olderRequested = true;
    socket.send({ type: "history", limit: HISTORY_PAGE, before: conversation.oldest });
  });
  $("open-goals").addEventListener("click", (e) => { refreshGoals(); openPanel("goals-panel", e.currentTarget); });
  $("open-notifications").addEventListener("click", (e) => { refreshNotifications(); openPanel("notifications-panel", e.currentTarget); });
  $("open-transactions").addEventListener("click", async (e) => {
    openPanel("transactions-panel", e.currentTarget);
    try {
      renderTransactions((await api.get("/tokens/transactions?limit=50")).items);
    } catch (error) {
      toast("Couldn't load transactions", error.message);
    }
  });
  for (const button of document.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => closePanel($(button.dataset.close)));
  }
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const open = document.querySelector(".panel:not([hidden])");
    if (open) closePanel(open);
  });
  api.onToken = (token) => socket?.renew(token);
  api.onSignedOut = (reason) => {
    socket?.stop();
    socket = null;
    $("conversation").replaceChildren();
    connection("");
    showSignedIn(false);
    $("auth-error").textContent = reason;
    $("email").focus();
  };
}

async function boot() {
  wire();
  try {
    if (await api.resume()) return startChat();
  } catch (error) {
    $("auth-error").textContent = error.message;
  }
  showSignedIn(false);
}

boot();
