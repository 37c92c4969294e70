// The REST API: the access token lives in memory only; the refresh token is an HttpOnly
// cookie this script never sees (login with refresh_cookie, POST /auth/refresh with no body).

import { bodyMessage, fieldOf, friendly } from "./errors.js";

const RENEW_BEFORE_S = 60;

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export class Api {
  constructor() {
    this.token = null;
    this.onToken = () => {};
    this.onSignedOut = () => {};
    this.renewTimer = null;
  }

  async request(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let response;
    try {
      response = await fetch(`/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch {
      throw new ApiError(0, "offline", "Can't reach the service. Check your connection and try again.");
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const code = data?.code || `http_${response.status}`;
      const message = friendly(code, bodyMessage(data), response.headers.get("Retry-After"));
      throw new ApiError(response.status, code, message, fieldOf(code, data));
    }
    return data;
  }

  get(path) { return this.request("GET", path); }
  post(path, body) { return this.request("POST", path, body); }
  patch(path, body) { return this.request("PATCH", path, body); }

  async signUp(email, password) {
    await this.post("/auth/register", { email, password });
    return this.logIn(email, password);
  }

  async logIn(email, password) {
    this.use(await this.post("/auth/login", { email, password, refresh_cookie: true }));
  }

  // A quiet sign-in from the refresh cookie; false when there is none (or it is spent).
  async resume() {
    try {
      this.use(await this.post("/auth/refresh"));
      return true;
    } catch (error) {
      if (error.status === 401) return false;
      throw error;
    }
  }

  use(tokens) {
    this.token = tokens.access_token;
    clearTimeout(this.renewTimer);
    const wait = Math.max(5, tokens.expires_in - RENEW_BEFORE_S) * 1000;
    this.renewTimer = setTimeout(() => this.renew(), wait);
    this.onToken(this.token);
  }

  async renew() {
    try {
      this.use(await this.post("/auth/refresh"));
    } catch {
      this.signedOut("Your session expired. Log in again.");
    }
  }

  async logOut() {
    try {
      await this.post("/auth/logout");
    } finally {
      this.signedOut("");
    }
  }

  signedOut(reason) {
    clearTimeout(this.renewTimer);
    this.token = null;
    this.onSignedOut(reason);
  }
}
