// Words a person understands for every error the server can answer, REST or WebSocket.
// Works with both error shapes: {"detail": str, "code"} and RFC 9457 problem details
// ({"title", "detail", "code", "errors"}), and 422s carrying a "message".

const FRIENDLY = {
  invalid_credentials: "That email and password don't match an account.",
  email_taken: "An account with this email already exists. Log in instead?",
  too_many_attempts: "Too many attempts from here.",
  insufficient_balance: "You don't have enough tokens for this message.",
  rate_limited: "You're sending messages faster than allowed.",
  llm_unavailable: "The assistant can't answer right now (its model is unavailable). Try again in a minute.",
  internal_error: "Something went wrong on our side. Try again.",
  duplicate_id: "That message didn't go through. Send it again.",
  content_too_long: "That message is too long: 4,000 characters at most.",
  empty_content: "Type a message first.",
  forbidden_scope: "This login can read but not chat.",
  goal_not_found: "That goal no longer exists.",
  server_busy: "The service is busy. Try again in a moment.",
  payload_too_large: "That is too much to send at once.",
  session_ended: "Your session ended. Log in again.",
  missing_token: "Please log in.",
  token_expired: "Your session expired. Log in again.",
  token_revoked: "You were logged out. Log in again.",
  invalid_transition: "That goal can't be changed that way.",
  goal_cancelled: "That goal is cancelled.",
};

// Codes whose server message carries figures a person needs (the price and the balance,
// how long to wait): shown after the friendly sentence.
const WITH_DETAILS = new Set(["insufficient_balance", "rate_limited", "too_many_attempts"]);

export function bodyMessage(body) {
  if (!body || typeof body !== "object") return "";
  if (typeof body.message === "string") return body.message;
  if (typeof body.detail === "string") return body.detail;
  if (typeof body.title === "string") return body.title;
  return "";
}

// The server's messages are written for people, in lower case: made a sentence.
function sentence(message) {
  if (!message) return "";
  return `${message[0].toUpperCase()}${message.slice(1)}${/[.!?)]$/.test(message) ? "" : "."}`;
}

export function friendly(code, message, retryAfter) {
  const known = FRIENDLY[code];
  let text = known || sentence(message) || "Something went wrong. Try again.";
  if (known && WITH_DETAILS.has(code) && message) text += ` ${sentence(message)}`;
  if (retryAfter) text += ` Try again in ${retryAfter} s.`;
  return text;
}

// Which form field a REST error belongs to, when it belongs to one.
export function fieldOf(code, body) {
  if (code === "email_taken") return "email";
  if (code === "weak_password" || code === "invalid_credentials") return "password";
  const problems = Array.isArray(body?.errors) ? body.errors : Array.isArray(body?.detail) ? body.detail : [];
  for (const problem of problems) {
    const where = problem.loc || problem.pointer || problem.field || "";
    const path = Array.isArray(where) ? where.join(".") : String(where);
    if (path.includes("email")) return "email";
    if (path.includes("password")) return "password";
  }
  return null;
}
