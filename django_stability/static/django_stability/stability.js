// django-stability browser client: a plain ES module, no dependencies, no build step.
//
//   import { autosave, keepalive, watchVersion, StabilitySocket } from "/static/django_stability/stability.js";
//
// Sections, each self-contained: shared helpers, version watching, autosave,
// keepalive, and the realtime classes (StabilitySocket, StabilityEventSource).
// docs/drafts.rst documents the first ones, docs/realtime.rst the realtime protocol.

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

const DEFAULT_BASE = "/stability/";

/** The real clock; every option named `clock` takes an object of this shape (tests pass a fake). */
const realClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => window.setTimeout(fn, ms),
  clearTimeout: (id) => window.clearTimeout(id),
};

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return "";
}

/**
 * Django's CSRF token: the form's hidden input, else any on the page, else the
 * csrftoken cookie (unreadable with CSRF_COOKIE_HTTPONLY or CSRF_USE_SESSIONS:
 * then render {% csrf_token %} somewhere on the page).
 */
function csrfToken(form) {
  const input = (form || document).querySelector("input[name=csrfmiddlewaretoken]");
  return (input && input.value) || readCookie("csrftoken");
}

/** fetch() that also feeds the version watcher; throws only when the server is unreachable. */
async function request(url, { method = "GET", body, form, keepalive = false } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken(form);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    // A string is a body encoded already (autosave measures it for keepalive).
    body: body === undefined || typeof body === "string" ? body : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
    keepalive,
  });
  checkVersion(response);
  return response;
}

async function jsonOf(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function pad(n) {
  return String(n).padStart(2, "0");
}

// ---------------------------------------------------------------------------
// Version watching
// ---------------------------------------------------------------------------
//
// The page's version comes from <meta name="app-version" content="..."> (or
// watchVersion({version})). Every response this module receives is compared
// with it, and so is any response the page passes to checkVersion(); the
// first differing X-App-Version fires "stability:version-mismatch" on
// document, once per new version, with detail {page, server}.

const versionState = { page: null, announced: new Set() };

export function watchVersion({ version } = {}) {
  const meta = document.querySelector('meta[name="app-version"]');
  versionState.page = version || (meta && meta.content) || null;
  versionState.announced.clear();
  return { page: versionState.page };
}

export function checkVersion(response) {
  return announceVersion(response && response.headers && response.headers.get("X-App-Version"));
}

// The realtime subscriptions tell the server's version too ("subscribed"): an
// idle page learns of a deploy as soon as its connection comes back.
function announceVersion(server) {
  const page = versionState.page;
  if (!page || !server || server === page || versionState.announced.has(server)) return false;
  versionState.announced.add(server);
  document.dispatchEvent(
    new CustomEvent("stability:version-mismatch", { detail: { page, server } }),
  );
  return true;
}

// ---------------------------------------------------------------------------
// Autosave
// ---------------------------------------------------------------------------
//
// autosave(form, key, options) saves the form's named fields as the draft
// `key` 2 s after the last change and shows "Saving..." / "Saved at HH:MM" /
// "Offline - saved on this device" in the status element. Every change is
// also written to localStorage at once (no request), and the copy stays there
// until the server has it: a crash, a reload, a closed tab or an outage loses
// nothing. The copy is uploaded when the server answers again, and restored
// on load. When the page is hidden or left (visibilitychange, pagehide), a
// change not yet saved goes out at once with fetch(..., {keepalive: true}),
// which outlives the page; over the 64 KiB keepalive allows, the device copy
// waits for the next load.
//
// The first save of a draft this page has not seen on the server sends
// version 0 ("create only"); later ones send the version last seen. A 409
// fires "stability:draft-conflict" on the form with detail {key, server,
// local, creating, keepMine(), useServer()} and pauses saving to the server
// (the device copy is still written) until keepMine() or useServer() is
// called, on the detail or on the controller. Unless a listener calls
// preventDefault(), a tab that edited an older version keeps its text
// (keepMine() runs at once, as before); a tab that was creating the draft
// waits: overwriting text it has never seen would lose another tab's work.
//
// The device copy is the user's: its localStorage key holds the user's id,
// taken from options.scope or else <meta name="stability-user" content="...">,
// so on a shared device one user never restores (nor uploads) another's
// copy. Without either, autosave keeps no device copy at all (the server
// copy is all there is). A copy expires options.ttl ms (default 7 days, as
// STABILITY_DRAFT_TTL) after it was last written: an expired one is deleted,
// never restored. clearAll() deletes every device copy (call it on logout).
// Only the fields a user edits are saved and restored: never hidden,
// password, file or read-only inputs, nor the CSRF token.

const STATUS = {
  saving: "Saving...",
  offline: "Offline - saved on this device",
  conflict: "Changed elsewhere - keeping this version",
  choose: "Changed in another tab - kept on this device until you choose",
  refused: "Not saved on the server - kept on this device",
  loggedOut: "Not saved: log in again - kept on this device",
};

// fetch() refuses a keepalive request once the page's keepalive bodies in flight pass 64 KiB.
const KEEPALIVE_MAX_BYTES = 64 * 1024;

function savedAt(ms) {
  const d = new Date(ms);
  return `Saved at ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** JSON with object keys sorted, to compare drafts: PostgreSQL's jsonb reorders keys. */
function canonical(value) {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
      : v,
  );
}

// Inputs that a user does not type into: a copy must never carry (or set) them.
const NOT_TYPED = new Set(["hidden", "password", "file", "submit", "button", "reset", "image"]);

/** Whether `el` is a field the user edits: the only ones autosave saves and restores. */
function editable(el) {
  if (!el.name || el.name === "csrfmiddlewaretoken" || el.disabled || el.readOnly) return false;
  if (!["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)) return false;
  return !NOT_TYPED.has(el.type);
}

function formData(form) {
  const data = {};
  for (const el of form.elements) {
    if (!editable(el)) continue;
    if ((el.type === "checkbox" || el.type === "radio") && !el.checked) continue;
    data[el.name] = el.value;
  }
  return data;
}

function fillForm(form, data) {
  if (!data || typeof data !== "object") return;
  for (const el of form.elements) {
    if (!editable(el) || !Object.prototype.hasOwnProperty.call(data, el.name)) continue;
    const value = data[el.name];
    if (el.type === "checkbox" || el.type === "radio") el.checked = value === el.value;
    else if (typeof value === "string") el.value = value;
  }
}

const COPY_PREFIX = "stability:draft:";
const DEFAULT_TTL_MS = 7 * 24 * 3600 * 1000; // STABILITY_DRAFT_TTL's default
const pages = new Set(); // this page's running autosave() controllers, for clearAll()

/** The user the page says is logged in: <meta name="stability-user" content="...">. */
function pageUser() {
  const meta = document.querySelector('meta[name="stability-user"]');
  return (meta && meta.content) || "";
}

function expired(copy, now, ttl) {
  return !copy || typeof copy !== "object" || !Number.isFinite(copy.at) || now - copy.at > ttl;
}

/** Delete this module's device copies that are expired (older than `ttl` ms); run by every autosave(). */
function sweep(storage, now, ttl) {
  try {
    for (const name of Object.keys(storage)) {
      if (!name.startsWith(COPY_PREFIX)) continue;
      let copy = null;
      try {
        copy = JSON.parse(storage.getItem(name));
      } catch {
        // Not ours to read: gone like an expired one.
      }
      if (expired(copy, now, ttl)) storage.removeItem(name);
    }
  } catch {
    // Storage disabled: nothing kept, nothing to sweep.
  }
}

/**
 * Delete every autosave device copy on this device (of every user, or of
 * `scope` only) and stop this page's autosave() controllers so that leaving
 * the page writes none again. Returns how many copies were deleted. Call it on
 * logout, after flush() if the last keystrokes should reach the server.
 */
export function clearAll({ scope, storage = window.localStorage } = {}) {
  const prefix = scope === undefined ? COPY_PREFIX : `${COPY_PREFIX}${encodeURIComponent(scope)}:`;
  for (const controller of [...pages]) {
    if (scope === undefined || controller.scope === String(scope)) controller.stop();
  }
  let deleted = 0;
  try {
    for (const name of Object.keys(storage)) {
      if (!name.startsWith(prefix)) continue;
      storage.removeItem(name);
      deleted += 1;
    }
  } catch {
    // Storage disabled: there is nothing to delete.
  }
  return deleted;
}

export function autosave(form, key, options = {}) {
  const {
    base = DEFAULT_BASE,
    debounce = 2000,
    retry = 5000, // ms between uploads of the local copy while the server is unreachable
    status = form.querySelector("[data-autosave-status]"),
    storage = window.localStorage,
    clock = realClock,
    restore = true,
    serialize = formData,
    apply = fillForm,
    // The user's id (default: <meta name="stability-user">): on a shared device one user never
    // restores another's copy. Empty: no device copy is kept.
    scope = pageUser(),
    ttl = DEFAULT_TTL_MS, // ms a device copy lives after its last write (STABILITY_DRAFT_TTL)
    // The draft as the server rendered the page (null: there is none), or the id of a
    // <script type="application/json"> holding it (Django's json_script): then no GET on load.
    initial = undefined,
  } = options;
  const url = `${base}drafts/${encodeURIComponent(key)}`;
  const user = scope === null || scope === undefined ? "" : String(scope);
  const storeKey = user ? `${COPY_PREFIX}${encodeURIComponent(user)}:${key}` : null;
  if (storeKey) sweep(storage, clock.now(), ttl);
  // Marks this page's device copy: a save here never drops another tab's copy of the same draft.
  const tab = Math.random().toString(36).slice(2);
  let version = 0; // the server's version last seen; 0: none seen, so a save only creates
  let confirmed = canonical(serialize(form)); // what the server holds, or the untouched form
  let timer = null;
  let retryTimer = null;
  let inFlight = null;
  let sending = null; // {text, version} of the save in flight
  let again = false;
  let againKeepalive = false;
  let unresolved = null; // the detail of a conflict waiting for keepMine() or useServer()
  let stopped = false;

  const show = (text, state) => {
    if (!status) return;
    status.textContent = text;
    status.dataset.state = state;
  };
  const local = {
    read() {
      if (!storeKey) return null;
      let copy = null;
      try {
        copy = JSON.parse(storage.getItem(storeKey));
      } catch {
        return null;
      }
      if (copy === null) return null;
      if (expired(copy, clock.now(), ttl)) {
        local.drop();
        return null;
      }
      return copy;
    },
    write(data) {
      if (!storeKey || stopped) return;
      try {
        storage.setItem(storeKey, JSON.stringify({ data, version, at: clock.now(), tab }));
      } catch {
        // Storage full or disabled: the server copy is all there is.
      }
    },
    drop() {
      if (!storeKey) return;
      try {
        storage.removeItem(storeKey);
      } catch {
        // Nothing stored to drop.
      }
    },
    /** The server now holds `text`: forget this page's copy if it is that, else rebase it on the new version. */
    settle(text) {
      const pending = local.read();
      if (!pending || pending.tab !== tab) return;
      if (canonical(pending.data) === text) local.drop();
      else local.write(pending.data);
    },
  };

  function embedded() {
    if (typeof initial !== "string") return initial;
    const script = document.getElementById(initial);
    if (!script) return undefined;
    try {
      return JSON.parse(script.textContent);
    } catch {
      return undefined;
    }
  }

  function cancelTimer() {
    if (timer !== null) clock.clearTimeout(timer);
    timer = null;
  }

  function schedule() {
    if (stopped) return;
    cancelTimer();
    timer = clock.setTimeout(() => {
      timer = null;
      save();
    }, debounce);
  }

  function retryLater() {
    if (stopped || retryTimer !== null) return;
    retryTimer = clock.setTimeout(() => {
      retryTimer = null;
      if (local.read()) save();
    }, retry);
  }

  async function send(data, { keepalive = false } = {}) {
    const sent = version;
    const body = JSON.stringify({ data, version: sent });
    let response;
    try {
      response = await request(url, {
        method: "PUT",
        body,
        form,
        keepalive: keepalive && new Blob([body]).size <= KEEPALIVE_MAX_BYTES,
      });
    } catch {
      show(STATUS.offline, "offline");
      retryLater();
      return;
    }
    const answer = await jsonOf(response);
    if (response.ok && answer) {
      version = answer.version;
      confirmed = canonical(data);
      local.settle(confirmed);
      show(savedAt(clock.now()), "saved");
      return;
    }
    if (response.status === 409 && answer && answer.draft) {
      conflict(answer.draft, data, sent);
      return;
    }
    if (response.status >= 500) {
      show(STATUS.offline, "offline");
      retryLater();
      return;
    }
    show(response.status === 401 || response.status === 403 ? STATUS.loggedOut : STATUS.refused, "error");
  }

  function conflict(server, data, sent) {
    if (canonical(server.data) === canonical(data)) {
      // The server holds this very text already (say, this page's flush on leaving got there first).
      version = server.version;
      confirmed = canonical(data);
      local.settle(confirmed);
      show(savedAt(Date.parse(server.updated_at)), "saved");
      return;
    }
    const creating = sent === 0;
    const resolve = () => {
      if (unresolved !== detail) return false;
      unresolved = null;
      version = server.version;
      return true;
    };
    const detail = {
      key,
      server,
      local: data,
      creating,
      /** Save the form's text over the server's version. */
      keepMine: () => (resolve() ? save() : undefined),
      /** Put the server's version into the form and forget this page's text. */
      useServer: () => {
        if (!resolve()) return;
        cancelTimer();
        apply(form, server.data);
        confirmed = canonical(serialize(form));
        const pending = local.read();
        if (pending && pending.tab === tab) local.drop();
        show(savedAt(Date.parse(server.updated_at)), "saved");
      },
    };
    unresolved = detail;
    show(creating ? STATUS.choose : STATUS.conflict, "conflict");
    const event = new CustomEvent("stability:draft-conflict", { detail, cancelable: true });
    if (form.dispatchEvent(event) && !creating) detail.keepMine();
    else if (unresolved === detail) show(STATUS.choose, "conflict");
  }

  async function save({ keepalive = false } = {}) {
    if (stopped || unresolved) return;
    if (inFlight) {
      again = true; // one save at a time; the latest text goes next
      againKeepalive = againKeepalive || keepalive;
      return inFlight;
    }
    const data = serialize(form);
    local.write(data);
    show(STATUS.saving, "saving");
    sending = { text: canonical(data), version };
    inFlight = send(data, { keepalive });
    try {
      await inFlight;
    } finally {
      inFlight = null;
      sending = null;
    }
    if (again) {
      const survive = againKeepalive;
      again = againKeepalive = false;
      return save({ keepalive: survive });
    }
  }

  /** The page is hidden (`unloading` false) or going away: send what the server lacks, now. */
  function leave(unloading) {
    if (stopped || unresolved) return; // the device copy keeps it; a conflict waits for a choice
    cancelTimer();
    const data = serialize(form);
    const text = canonical(data);
    if (text === (sending ? sending.text : confirmed)) return; // nothing new since the last save
    local.write(data);
    if (!unloading) {
      if (inFlight) again = againKeepalive = true;
      else save({ keepalive: true }); // over 64 KiB a plain request: the page lives on
      return;
    }
    // The page goes: only a keepalive request outlives it; a bigger text waits on the device.
    // With a save in flight (sent first, so most likely stored first), send this one as
    // its successor; if that save did not get through, this one gets a 409 (or recreates a
    // draft the first never created) and the device copy is still there for the next load.
    // (Only if that first save was a creation that lost to another tab's, in the same
    // instant, does this successor land on the other tab's version 1.)
    const next = !inFlight ? version : sending.version === null ? null : sending.version + 1;
    const body = JSON.stringify({ data, version: next });
    if (new Blob([body]).size > KEEPALIVE_MAX_BYTES) return;
    if (!inFlight) save({ keepalive: true });
    else request(url, { method: "PUT", body, form, keepalive: true }).catch(() => {});
  }

  async function load() {
    const pending = local.read();
    let server = embedded();
    let known = server !== undefined; // whether we know what the server holds
    if (!known) {
      try {
        const response = await request(url);
        if (response.status === 404) known = true;
        else if (response.ok) server = await jsonOf(response);
        known = known || Boolean(server);
      } catch {
        // Unreachable: the local copy, if any, is all there is for now.
      }
    }
    if (server) version = server.version;
    else if (!known && pending && Number.isInteger(pending.version)) version = pending.version;
    if (!pending) {
      if (server) {
        apply(form, server.data);
        show(savedAt(Date.parse(server.updated_at)), "saved");
      }
      confirmed = canonical(serialize(form));
      return;
    }
    // An unsent copy is newer than anything the server has: show it and send it.
    apply(form, pending.data);
    if (server && canonical(server.data) === canonical(pending.data)) {
      local.drop(); // the flush on leaving got there
      confirmed = canonical(serialize(form));
      show(savedAt(Date.parse(server.updated_at)), "saved");
    } else if (server && Number.isInteger(pending.version) && pending.version !== server.version) {
      // The copy was typed over another version than the server's: someone saved since.
      version = pending.version;
      local.write(pending.data);
      conflict(server, pending.data, pending.version);
    } else {
      await save();
    }
  }

  const onChange = () => {
    if (stopped) return;
    local.write(serialize(form)); // every keystroke is on the device at once; the server waits
    schedule();
  };
  const onOnline = () => {
    if (local.read()) save();
  };
  const onVisibility = () => {
    if (document.visibilityState === "hidden") leave(false);
  };
  const onPageHide = () => leave(true);
  form.addEventListener("input", onChange);
  form.addEventListener("change", onChange);
  window.addEventListener("online", onOnline);
  document.addEventListener("visibilitychange", onVisibility);
  window.addEventListener("pagehide", onPageHide);
  let ready;
  if (restore) {
    ready = load();
  } else {
    const first = embedded();
    if (first) version = first.version;
    ready = Promise.resolve();
  }

  const controller = {
    ready,
    /** The user whose device copy this is ("" when none is kept). */
    scope: user,
    get version() {
      return version;
    },
    /** The unresolved conflict's detail ({key, server, local, creating, ...}), or null. */
    get conflict() {
      return unresolved;
    },
    /** Resolve the conflict by saving the form's text over the server's version. */
    keepMine() {
      return unresolved ? unresolved.keepMine() : undefined;
    },
    /** Resolve the conflict by taking the server's version into the form. */
    useServer() {
      if (unresolved) unresolved.useServer();
    },
    /** Save now instead of after the debounce. */
    flush() {
      cancelTimer();
      return save();
    },
    /** Forget the draft, here and on the server (call it once the form is really submitted). */
    async clear({ keepalive: survivesUnload = false } = {}) {
      cancelTimer();
      local.drop();
      unresolved = null;
      version = null; // until the server confirms the delete, the next save replaces what is there
      confirmed = canonical(serialize(form)); // leaving the page now sends nothing
      show("", "cleared");
      try {
        const response = await request(url, { method: "DELETE", form, keepalive: survivesUnload });
        if (response.ok && version === null) version = 0;
      } catch {
        // Offline: the server copy expires on its own (STABILITY_DRAFT_TTL).
      }
    },
    /** Stop listening and saving. */
    stop() {
      stopped = true;
      pages.delete(controller);
      cancelTimer();
      if (retryTimer !== null) clock.clearTimeout(retryTimer);
      form.removeEventListener("input", onChange);
      form.removeEventListener("change", onChange);
      window.removeEventListener("online", onOnline);
      document.removeEventListener("visibilitychange", onVisibility);
      window.removeEventListener("pagehide", onPageHide);
    },
  };
  pages.add(controller);
  return controller;
}

// ---------------------------------------------------------------------------
// Keepalive
// ---------------------------------------------------------------------------
//
// keepalive() renews the session with POST stability/keepalive every 5 min
// while the user is active (input in the last `idleAfter` ms), every 15 min
// when idle, never while the tab is hidden (it pings on return if a renewal
// is due), and sooner if the session would expire before the next ping.

export function keepalive(options = {}) {
  const {
    base = DEFAULT_BASE,
    active = 5 * 60 * 1000,
    idle = 15 * 60 * 1000,
    idleAfter = 5 * 60 * 1000,
    clock = realClock,
  } = options;
  const url = `${base}keepalive`;
  const events = ["keydown", "pointerdown", "input", "scroll"];
  let lastActivity = clock.now();
  let lastPing = clock.now();
  let expiresIn = Infinity; // ms, as the server last said
  let timer = null;
  let stopped = false;

  let timerAt = Infinity;

  const interval = () => {
    const base = clock.now() - lastActivity <= idleAfter ? active : idle;
    return Math.min(base, expiresIn / 2);
  };

  async function ping() {
    lastPing = clock.now();
    try {
      const response = await request(url, { method: "POST" });
      const body = response.ok ? await jsonOf(response) : null;
      if (body && typeof body.expires_in === "number") expiresIn = body.expires_in * 1000;
    } catch {
      // Unreachable: try again at the next tick.
    }
  }

  function tick() {
    timer = null;
    timerAt = Infinity;
    if (stopped || document.visibilityState === "hidden") return; // resumed on visibilitychange
    const due = lastPing + interval() - clock.now();
    if (due <= 0) {
      ping().finally(arm);
    } else {
      arm(due);
    }
  }

  function arm(ms) {
    if (stopped) return;
    if (timer !== null) clock.clearTimeout(timer);
    const wait = ms === undefined ? interval() : ms;
    timerAt = clock.now() + wait;
    timer = clock.setTimeout(tick, wait);
  }

  const onActivity = () => {
    lastActivity = clock.now();
    // Back from idle: the next renewal is due `active` after the last one, not `idle`.
    const due = lastPing + active;
    if (!stopped && document.visibilityState !== "hidden" && timerAt > due) {
      arm(Math.max(0, due - clock.now()));
    }
  };
  const onVisibility = () => {
    if (document.visibilityState === "visible") tick();
  };
  for (const name of events) window.addEventListener(name, onActivity, { passive: true });
  document.addEventListener("visibilitychange", onVisibility);
  arm();

  return {
    ping,
    stop() {
      stopped = true;
      if (timer !== null) clock.clearTimeout(timer);
      for (const name of events) window.removeEventListener(name, onActivity);
      document.removeEventListener("visibilitychange", onVisibility);
    },
  };
}

// Realtime ------------------------------------------------------------------

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;
// After 4429 (too many connections / connect rate) the server asks us to wait.
const TOO_MANY_MIN_MS = 30000;
// Close codes after which reconnecting cannot help.
const FINAL_CODES = new Set([4400, 4401, 4403]);
// The event stream's refusals, as their HTTP status (-> the WebSocket close code).
const FINAL_STATUSES = new Map([[400, 4400], [401, 4401], [403, 4403]]);
// A server that answers HTTP but refuses the subscription this many times in a row
// (no WebSocket route, a proxy without WebSocket, no event stream at that URL) will
// not serve it: stop. Two, not one, so that a server coming up between a failed
// connection and its probe is not mistaken for a refusal.
const REFUSALS_BEFORE_GIVING_UP = 2;
const LABELS = {
  connecting: "Connecting…",
  connected: "Live",
  reconnecting: "Reconnecting…",
  paused: "Paused",
  failed: "Live updates unavailable",
  stopped: "Stopped",
};

/**
 * Ask the server for `url` over plain HTTP after a connection failed early: null when
 * nothing answers (down, unreachable, another origin granting no CORS), else the
 * answer's status (a redirect reads as 302), Retry-After, and whether it is an event
 * stream. A stream that opens is closed again at once: only the answer matters.
 */
async function probe(url) {
  const controller = new AbortController();
  try {
    const response = await fetch(url, {
      credentials: "same-origin",
      cache: "no-store",
      redirect: "manual",
      signal: controller.signal,
    });
    return {
      status: response.type === "opaqueredirect" ? 302 : response.status,
      retryAfter: Number(response.headers.get("Retry-After")) || null,
      stream: (response.headers.get("Content-Type") || "").startsWith("text/event-stream"),
    };
  } catch {
    return null;
  } finally {
    controller.abort();
  }
}

/**
 * What a probe's answer means. "retry": nothing answered, or the server is busy or
 * failing (408, 429, 5xx), or the stream works now. "final": an event stream's own
 * refusal (400, 401, 403, read as its close code). "refused": anything else, i.e. a
 * server that is up but does not serve this subscription at this URL.
 */
function judge(answer, eventStream) {
  if (answer === null || answer.status >= 500 || answer.status === 408) return { verdict: "retry", code: 1006 };
  if (answer.status === 429) return { verdict: "retry", code: 4429, retryAfter: answer.retryAfter };
  if (eventStream && answer.status === 200 && answer.stream) return { verdict: "retry", code: 1006 };
  if (eventStream && FINAL_STATUSES.has(answer.status)) return { verdict: "final", code: FINAL_STATUSES.get(answer.status) };
  return { verdict: "refused", httpStatus: answer.status };
}

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
    this._refusals = 0; // refused connections in a row (see REFUSALS_BEFORE_GIVING_UP)
    this._generation = 0; // bumped per connection: a late probe of an older one is ignored
    this._timer = null;
    this._stopped = false;
    this._doc = doc;
    this._onVisibility = () => this._visibilityChanged();
    if (doc) doc.addEventListener("visibilitychange", this._onVisibility);
  }

  /** Open the connection (again). */
  start() {
    this._stopped = false;
    if (this.status === "failed") this._refusals = 0; // asked to try again: start afresh
    if (this._doc && this._doc.hidden) return this._setStatus("paused");
    clearTimeout(this._timer);
    this._setStatus(this._attempt ? "reconnecting" : "connecting");
    this._generation++;
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
    // Given up for good: showing the tab again must not start a new round.
    if (this._stopped || this.status === "failed") return;
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
    this._refusals = 0;
    this._setStatus("connected");
  }

  _lost(code, retryAfterSeconds) {
    this._refusals = 0;
    this._retry(code, retryAfterSeconds);
  }

  /**
   * The connection failed before the server said anything we can read (a WebSocket
   * handshake closed before open, an event stream answered with an error): ask
   * `probeUrl` over HTTP whether the server is away (retry) or refuses us.
   */
  async _failedEarly(probeUrl, eventStream) {
    const generation = this._generation;
    const { verdict, code, retryAfter, httpStatus } = judge(await probe(probeUrl), eventStream);
    if (generation !== this._generation || this._stopped || this.status === "paused") return;
    if (verdict !== "refused") return this._lost(code, retryAfter);
    if (++this._refusals >= REFUSALS_BEFORE_GIVING_UP) {
      this._setStatus("failed", { reason: "refused", httpStatus });
      return;
    }
    this._retry(1006, null);
  }

  _retry(code, retryAfterSeconds) {
    if (this._stopped || this.status === "paused") return;
    if (FINAL_CODES.has(code)) {
      this._setStatus("failed", { code, reason: "closed" });
      return;
    }
    let delay = backoffDelay(this._attempt++);
    if (code === 4429) delay = Math.max(delay, TOO_MANY_MIN_MS, (retryAfterSeconds || 0) * 1000);
    this._setStatus("reconnecting", { code, delay });
    this._timer = setTimeout(() => this.start(), delay);
  }

  _deliver(message) {
    if (message.type === "subscribed" && message.version) announceVersion(message.version);
    if (message.type === "event" || message.type === "reset") {
      this.lastEventId = message.type === "event" ? message.id : message.last_event_id;
    }
    this.dispatchEvent(new CustomEvent(message.type, { detail: message }));
  }

  _setStatus(status, detail = {}) {
    this.status = status;
    const label = LABELS[status] || status;
    this.dispatchEvent(new CustomEvent("status", { detail: { status, label, ...detail } }));
  }
}

/**
 * A WebSocket subscription to one channel that comes back by itself.
 * Events: "event" (detail: {id, channel, data}), "reset" (reload your state),
 * "status" (detail: {status, label: "Connecting…" | "Live" | "Reconnecting…" | ...}).
 * A handshake refused by a server that answers HTTP (no WebSocket route, a proxy
 * without WebSocket) twice in a row is final: status "failed", reason "refused".
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
    let opened = false;
    this.socket = socket;
    socket.onopen = () => { opened = true; };
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
      // Closed before the handshake completed: the browser hides why (always 1006).
      // The server accepts before closing with a code of its own, so either it is
      // unreachable, or it answered the handshake with an HTTP error: the probe tells.
      if (!opened) this._failedEarly(this.url.replace(/^ws/, "http"), false);
      else this._lost(code, retryAfter);
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
      // CLOSED: the browser gave up on an answer that was no event stream (an error
      // status: a refusal, a 404...); the probe reads that status. Otherwise the
      // network failed or the stream ended: back off.
      const answered = source.readyState === EventSource.CLOSED;
      source.close();
      if (this.source === source) this.source = null;
      if (answered) this._failedEarly(this.url, true);
      else this._lost(0, null);
    };
  }

  _close() {
    if (this.source) this.source.close();
    this.source = null;
  }
}
