// The chat socket: authenticates with an `auth` frame (no token in any URL), reconnects
// after a drop with a growing pause, and tells the page what happens.

const BACKOFF_S = [1, 2, 3, 5, 8, 13, 21, 30];

export class ChatSocket {
  constructor({ token, onFrame, onState }) {
    this.token = token;
    this.onFrame = onFrame;
    this.onState = onState;
    this.attempt = 0;
    this.ws = null;
    this.stopped = false;
    this.timer = null;
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/chat/ws`);
    this.ws = ws;
    this.onState(this.attempt ? "reconnecting" : "connecting");
    ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "auth", token: this.token })));
    ws.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      if (frame.type === "ready") {
        this.attempt = 0;
        this.onState("open");
      }
      this.onFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws || this.stopped) return;
      this.ws = null;
      if (event.code === 4401) {
        this.onState("unauthorized");
        return;
      }
      const wait = BACKOFF_S[Math.min(this.attempt, BACKOFF_S.length - 1)];
      this.attempt += 1;
      this.onState("dropped", wait);
      this.timer = setTimeout(() => this.connect(), wait * 1000);
    });
  }

  get isOpen() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  // A fresh access token: on the open socket as an `auth` frame, and for the next connect.
  renew(token) {
    this.token = token;
    this.send({ type: "auth", token });
  }

  // After a 4401: connect again with a fresh token.
  reconnectWith(token) {
    this.token = token;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(1000, "logged out");
    this.ws = null;
  }
}
