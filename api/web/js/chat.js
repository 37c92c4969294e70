// The conversation: messages shown at once and marked stored on `ack`, replies streamed
// from `delta` frames, tool activity (each market's state) while it runs, deal cards for
// search and query results. Rendered messages are keyed by their stored id, so a history
// reload or a replayed answer never shows one twice.

import { dealGrid, marketName } from "./cards.js";
import { friendly } from "./errors.js";
import { renderMarkdown } from "./markdown.js";

const MARKET_STATE = {
  searching: "searching…",
  slow: "slow, still waiting…",
  ok: "done",
  timeout: "failed (no answer in time)",
  error: "failed",
  rate_limited: "rate limited",
  skipped: "skipped",
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

export class Conversation {
  constructor(root, { loadPrices, loadGoalDeals }) {
    this.root = root;
    this.loadPrices = loadPrices;
    this.loadGoalDeals = loadGoalDeals;
    this.pending = new Map(); // client id -> {content, node}
    this.turns = new Map(); // turn id -> turn view
    this.byClient = new Map(); // client id -> turn view
    this.shown = new Set(); // stored message ids on screen
    this.oldest = null;
  }

  scroll() {
    this.root.scrollTop = this.root.scrollHeight;
  }

  bubble(role, text) {
    const node = el("div", `msg msg-${role}`);
    const body = el("div", "msg-body");
    if (role === "user") body.textContent = text;
    else body.append(renderMarkdown(text));
    node.append(body);
    return node;
  }

  // A message the user just typed: on screen at once, "sending" until its `ack`.
  sent(clientId, content) {
    const node = this.bubble("user", content);
    const status = el("span", "msg-status", "Sending…");
    node.append(status);
    this.root.append(node);
    this.pending.set(clientId, { content, node, status });
    this.scroll();
  }

  notice(text, kind = "info") {
    const node = el("p", `notice notice-${kind}`, text);
    if (kind === "error") node.setAttribute("role", "alert");
    this.root.append(node);
    this.scroll();
  }

  turnFor(frame) {
    let turn = this.turns.get(frame.turn_id);
    if (!turn) {
      const node = el("div", "msg msg-assistant streaming");
      const activity = el("div", "activity");
      activity.hidden = true;
      const body = el("div", "msg-body");
      const cards = el("div", "msg-cards");
      node.append(activity, body, cards);
      this.root.append(node);
      turn = { node, activity, body, cards, text: "", calls: new Map(), markets: new Map() };
      this.turns.set(frame.turn_id, turn);
    }
    return turn;
  }

  onFrame(frame, onBalance) {
    switch (frame.type) {
      case "ack": return this.acked(frame);
      case "delta": return this.delta(frame);
      case "tool_call": return this.toolCall(frame);
      case "market_status": return this.marketStatus(frame);
      case "tool_result": return this.toolResult(frame);
      case "assistant_message": return this.answered(frame, onBalance);
      case "error": return this.failed(frame);
      case "history": return this.history(frame.messages);
      default: return undefined;
    }
  }

  acked(frame) {
    const mine = this.pending.get(frame.id);
    if (mine) {
      mine.status.textContent = "✓ Stored";
      mine.status.classList.add("stored");
      mine.node.dataset.id = frame.message_id;
      this.shown.add(frame.message_id);
    }
    if (frame.turn_id) this.byClient.set(frame.id, this.turnFor(frame));
  }

  delta(frame) {
    const turn = this.turnFor(frame);
    turn.text += frame.text;
    turn.body.replaceChildren(renderMarkdown(turn.text));
    this.scroll();
  }

  toolCall(frame) {
    const turn = this.turnFor(frame);
    turn.calls.set(frame.call_id, frame);
    if (frame.name === "search_markets") {
      turn.activity.hidden = false;
      turn.activity.replaceChildren(el("p", "activity-title", "Searching the markets…"), el("ul", "activity-markets"));
    }
  }

  marketStatus(frame) {
    const turn = this.turnFor(frame);
    turn.activity.hidden = false;
    if (!turn.activity.querySelector(".activity-markets")) {
      turn.activity.replaceChildren(el("p", "activity-title"), el("ul", "activity-markets"));
    }
    turn.markets.set(frame.market, frame.status);
    const list = turn.activity.querySelector(".activity-markets");
    list.replaceChildren();
    for (const [market, status] of turn.markets) {
      const item = el("li", `market market-${status}`);
      item.append(el("span", "market-name", marketName(market)), el("span", "market-state", MARKET_STATE[status] || status));
      list.append(item);
    }
    const states = [...turn.markets.values()];
    const waiting = states.filter((s) => s === "searching" || s === "slow").length;
    const answered = states.filter((s) => s === "ok").length;
    turn.activity.querySelector(".activity-title").textContent = waiting
      ? `Searching ${states.length} markets…`
      : `Searched ${states.length} markets: ${answered} answered.`;
  }

  async toolResult(frame) {
    if (!frame.ok || !frame.result) return;
    const turn = this.turnFor(frame);
    const call = turn.calls.get(frame.call_id);
    let deals = [];
    if (frame.name === "search_markets") {
      const goalId = call?.args?.goal_id;
      const ids = goalId && frame.result.saved_as_deals ? await this.goalDealIds(goalId) : new Map();
      deals = (frame.result.products || []).map((p) => ({ ...p, deal_id: ids.get(p.url) }));
    } else if (frame.name === "query_deals") {
      deals = (frame.result.deals || []).map((d) => ({ ...d, deal_id: d.id }));
    }
    if (deals.length) {
      turn.cards.append(dealGrid(deals, this.loadPrices));
      this.scroll();
    }
  }

  async goalDealIds(goalId) {
    try {
      const deals = await this.loadGoalDeals(goalId);
      return new Map(deals.map((d) => [d.url, d.id]));
    } catch {
      return new Map();
    }
  }

  answered(frame, onBalance) {
    const mine = this.pending.get(frame.id);
    if (mine) {
      this.pending.delete(frame.id);
      mine.status.textContent = "✓ Stored";
      mine.status.classList.add("stored");
    }
    onBalance(frame.token_balance, frame.charged);
    if (this.shown.has(frame.message_id)) return; // a replay of an answer on screen
    this.shown.add(frame.message_id);
    const turn = this.turns.get(frame.turn_id) || this.turnFor(frame);
    turn.node.classList.remove("streaming");
    turn.node.dataset.id = frame.message_id;
    turn.body.replaceChildren(renderMarkdown(frame.content));
    const cost = el("span", "msg-cost", `This answer cost ${Number(frame.charged).toFixed(2)} tokens`);
    turn.node.append(cost);
    this.scroll();
  }

  failed(frame) {
    const text = friendly(frame.code, frame.message);
    const mine = frame.id ? this.pending.get(frame.id) : null;
    if (mine) {
      this.pending.delete(frame.id);
      mine.status.textContent = "Not sent";
      mine.status.classList.add("failed");
    }
    const turn = frame.id ? this.byClient.get(frame.id) : null;
    turn?.node.classList.remove("streaming");
    this.notice(text, "error");
  }

  // Stored messages (oldest first): the first page replaces what is shown, older pages
  // go on top. Messages typed meanwhile and not yet answered stay at the bottom.
  history(messages, older = false) {
    const nodes = [];
    for (const m of messages) {
      if (this.shown.has(m.id)) continue;
      this.shown.add(m.id);
      const node = this.bubble(m.role === "user" ? "user" : "assistant", m.content);
      node.dataset.id = m.id;
      nodes.push(node);
    }
    if (messages.length) this.oldest = messages[0].id;
    if (older) this.root.prepend(...nodes);
    else {
      // A waiting message the history already holds is shown once, from the history.
      const stored = new Set(messages.map((m) => m.client_message_id).filter(Boolean));
      const waiting = [...this.pending].filter(([id]) => !stored.has(id)).map(([, p]) => p.node);
      this.root.replaceChildren(...nodes, ...waiting);
      this.scroll();
    }
  }

  reset() {
    this.shown.clear();
    this.turns.clear();
    this.byClient.clear();
  }
}
