// django-stability browser helpers: a plain ES module, no build step, no dependencies.
//
//   import { StabilitySocket } from "/static/django_stability/stability.js";
//
// Each section below is independent; see docs/realtime.rst for the realtime protocol.

// Realtime ------------------------------------------------------------------

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;
// After 4429 (too many connections / connect rate) the server asks us to wait.
const TOO_MANY_MIN_MS = 30000;
// Close codes after which reconnecting cannot help.
const FINAL_CODES = new Set([4400, 4401, 4403]);

/** Full-jitter backoff: a random delay in [0, min(max, base * 2^attempt)], at least `floor`. */
export function backoffDelay(attempt, { base = BACKOFF_MIN_MS, max = BACKOFF_MAX_MS, floor = BACKOFF_MIN_MS, random = Math.random } = {}) {
  const ceiling = Math.min(max, base * 2 ** attempt);
  return Math.max(floor, Math.round(random() * ceiling));
}

/**
 * Shared reconnect logic: status events, backoff, pause while the tab is hidden.
 * Subclasses implement _open() and _close(); they call _opened(), _lost(code, retryAfter)
 * and _deliver(message).
 */
class Resilient extends EventTarget {
  constructor(url, { lastEventId = null, document: doc = globalThis.document } = {}) {
    super();
    this.url = url;
    this.lastEventId = lastEventId;
    this.status = "idle";
    this._attempt = 0;
    this._timer = null;
    this._stopped = false;
    this._doc = doc;
    this._onVisibility = () => this._visibilityChanged();
    if (doc) doc.addEventListener("visibilitychange", this._onVisibility);
  }

  /** Open the connection (again). */
  start() {
    this._stopped = false;
    if (this._doc && this._doc.hidden) return this._setStatus("paused");
    clearTimeout(this._timer);
    this._setStatus(this._attempt ? "reconnecting" : "connecting");
    this._open(this._resumeUrl());
  }

  /** Close for good (until start() is called again). */
  stop() {
    this._stopped = true;
    clearTimeout(this._timer);
    this._close();
    this._setStatus("stopped");
  }

  _resumeUrl() {
    if (this.lastEventId === null) return this.url;
    const url = new URL(this.url, globalThis.location ? globalThis.location.href : undefined);
    url.searchParams.set("last_event_id", String(this.lastEventId));
    return url.toString();
  }

  _visibilityChanged() {
    if (this._stopped) return;
    if (this._doc.hidden) {
      clearTimeout(this._timer);
      this._close();
      this._setStatus("paused");
    } else if (this.status === "paused") {
      this._attempt = 0;
      this.start();
    }
  }

  _opened() {
    this._attempt = 0;
    this._setStatus("connected");
  }

  _lost(code, retryAfterSeconds) {
    if (this._stopped || this.status === "paused") return;
    if (FINAL_CODES.has(code)) {
      this._setStatus("failed", { code });
      return;
    }
    let delay = backoffDelay(this._attempt++);
    if (code === 4429) delay = Math.max(delay, TOO_MANY_MIN_MS, (retryAfterSeconds || 0) * 1000);
    this._setStatus("reconnecting", { code, delay });
    this._timer = setTimeout(() => this.start(), delay);
  }

  _deliver(message) {
    if (message.type === "event" || message.type === "reset") {
      this.lastEventId = message.type === "event" ? message.id : message.last_event_id;
    }
    this.dispatchEvent(new CustomEvent(message.type, { detail: message }));
  }

  _setStatus(status, detail = {}) {
    this.status = status;
    const label = { connected: "Connected", reconnecting: "Reconnecting...", paused: "Paused", failed: "Disconnected" }[status] || status;
    this.dispatchEvent(new CustomEvent("status", { detail: { status, label, ...detail } }));
  }
}

/**
 * A WebSocket subscription to one channel that comes back by itself.
 * Events: "event" (detail: {id, channel, data}), "reset" (reload your state),
 * "status" (detail: {status, label: "Connected" | "Reconnecting..." | ...}).
 */
export class StabilitySocket extends Resilient {
  constructor(channel, { url = null, ...options } = {}) {
    const base = url || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/stability/events/${encodeURIComponent(channel)}/`;
    super(base, options);
    this.socket = null;
  }

  _open(url) {
    const socket = new WebSocket(url);
    let retryAfter = null;
    this.socket = socket;
    socket.onmessage = (frame) => {
      let message;
      try { message = JSON.parse(frame.data); } catch { return; }
      if (message.type === "heartbeat") {
        socket.send(JSON.stringify({ type: "heartbeat" }));
      } else if (message.type === "subscribed") {
        this.lastEventId = message.last_event_id;
        this._opened();
      } else if (message.type === "error") {
        retryAfter = message.retry_after;
      }
      this._deliver(message);
    };
    // Browsers fire "error" then "close"; some runtimes fire only "error" when the
    // connection is refused. Handle whichever comes first, once.
    let ended = false;
    const end = (code) => {
      if (ended) return;
      ended = true;
      if (this.socket === socket) this.socket = null;
      this._lost(code, retryAfter);
    };
    socket.onclose = (close) => end(close.code);
    socket.onerror = () => {
      if (socket.readyState === WebSocket.CONNECTING) end(1006);
    };
  }

  _close() {
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onerror = null;
      socket.close(1000);
    }
  }
}

/** The same over server-sent events (EventSource): for networks that block WebSocket. */
export class StabilityEventSource extends Resilient {
  constructor(channel, { url = null, ...options } = {}) {
    super(url || `/stability/events/${encodeURIComponent(channel)}/`, options);
    this.source = null;
  }

  _open(url) {
    const source = new EventSource(url, { withCredentials: true });
    this.source = source;
    source.addEventListener("subscribed", (e) => {
      const message = { type: "subscribed", ...JSON.parse(e.data) };
      this.lastEventId = message.last_event_id;
      this._opened();
      this._deliver(message);
    });
    source.addEventListener("reset", (e) => this._deliver({ type: "reset", ...JSON.parse(e.data) }));
    source.onmessage = (e) => this._deliver({ type: "event", id: Number(e.lastEventId), data: JSON.parse(e.data) });
    // EventSource would retry on its own, without jitter and from its own id: take over.
    source.onerror = () => {
      source.close();
      if (this.source === source) this.source = null;
      this._lost(0, null);
    };
  }

  _close() {
    if (this.source) this.source.close();
    this.source = null;
  }
}
