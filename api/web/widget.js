// The embeddable chat bubble: <script src="https://HOST/widget.js" data-server="https://HOST"></script>
// It draws a button in a shadow root (the host page's styles cannot reach it) that opens
// HOST/chat in an iframe: the chat and its session stay on HOST's origin, never the page's.
(() => {
  const script = document.currentScript;
  const server = new URL(script?.dataset.server || script?.src || location.href).origin;
  const host = document.createElement("div");
  host.setAttribute("data-dealagent-widget", "");
  const root = host.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = `
    .bubble { position: fixed; right: 20px; bottom: 20px; width: 60px; height: 60px; border-radius: 50%;
      border: 0; background: #2459d6; color: #fff; font: 600 26px system-ui, sans-serif; cursor: pointer;
      box-shadow: 0 6px 18px rgba(0,0,0,.25); z-index: 2147483001; }
    .bubble svg { width: 28px; height: 28px; }
    .bubble:focus-visible { outline: 3px solid #f4b400; outline-offset: 3px; }
    .frame { position: fixed; right: 20px; bottom: 92px; width: 380px; height: min(640px, calc(100vh - 112px));
      border: 1px solid #dde1ea; border-radius: 14px; background: #fff; box-shadow: 0 10px 30px rgba(0,0,0,.25);
      z-index: 2147483000; }
    @media (max-width: 480px) { .frame { right: 0; left: 0; bottom: 0; top: 0; width: 100%; height: 100%; border-radius: 0; } }
  `;
  const bubble = document.createElement("button");
  bubble.className = "bubble";
  bubble.type = "button";
  const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2Z");
  path.setAttribute("fill", "currentColor");
  icon.append(path);
  bubble.append(icon);
  bubble.setAttribute("aria-label", "Open the dealagent chat");
  bubble.setAttribute("aria-expanded", "false");
  let frame = null;
  bubble.addEventListener("click", () => {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.className = "frame";
      frame.title = "dealagent chat";
      frame.src = `${server}/chat`;
      root.append(frame);
    } else {
      frame.hidden = !frame.hidden;
    }
    const open = !frame.hidden;
    bubble.setAttribute("aria-expanded", String(open));
    bubble.setAttribute("aria-label", open ? "Close the dealagent chat" : "Open the dealagent chat");
  });
  root.append(style, bubble);
  (document.body || document.documentElement).append(host);
})();
