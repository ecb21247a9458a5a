// Drives stability.js's StabilitySocket in Node (real WebSocket, a stand-in document),
// for tests/realtime/test_client.py. Prints one JSON line per status, event or reset;
// reads "hide", "show" and "stop" commands on stdin.
import { createInterface } from "node:readline";

const [, , moduleUrl, socketUrl] = process.argv;
const { StabilitySocket, backoffDelay } = await import(moduleUrl);

class StandInDocument extends EventTarget {
  hidden = false;
}

const doc = new StandInDocument();
const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const live = new StabilitySocket("unused", { url: socketUrl, document: doc });
live.addEventListener("status", (e) => print({ kind: "status", label: e.detail.label, code: e.detail.code ?? null, delay: e.detail.delay ?? null }));
live.addEventListener("event", (e) => print({ kind: "event", id: e.detail.id, data: e.detail.data }));
live.addEventListener("reset", (e) => print({ kind: "reset", last_event_id: e.detail.last_event_id }));
print({ kind: "backoff", delays: [0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, { random: () => 1 })) });
live.start();

for await (const line of createInterface({ input: process.stdin })) {
  if (line === "hide" || line === "show") {
    doc.hidden = line === "hide";
    doc.dispatchEvent(new Event("visibilitychange"));
  } else if (line === "stop") {
    live.stop();
    break;
  }
}
process.exit(0);
