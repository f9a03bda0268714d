// The system tests' rest-hook receiver and writer (tests/system/dispatch_sigkill.sh), plain node, no packages.
//   node dispatch_receiver.js receive PORTFILE [DELAY_MS]   an idempotent FHIR rest-hook receiver on 127.0.0.1:0;
//        GET /_state answers {requests, effects, byPath: {path: [seq...]}} (effects: once per Idempotency-Key)
//   node dispatch_receiver.js write BASE PLANS PER_PLAN      PUTs Patient/p<plan>, then Goal/g<plan> PER_PLAN times
//        per plan (note = seq): PLANS * (PER_PLAN + 1) changes
"use strict";
const http = require("http");
const fs = require("fs");
const [mode, ...args] = process.argv.slice(2);

if (mode === "receive") {
  const [portFile, delayArg] = args;
  const delay = Number(delayArg || 0);
  const seen = new Set();
  const byPath = {};
  let requests = 0;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.method === "GET" && req.url === "/_state") {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ requests, effects: seen.size, byPath }));
        return;
      }
      requests++;
      const key = req.headers["idempotency-key"] || "";
      setTimeout(() => {
        if (key && !seen.has(key)) {
          seen.add(key);
          let seq = -1;
          try { seq = Number(JSON.parse(body).note[0].text); } catch (e) {}
          (byPath[req.url] = byPath[req.url] || []).push(seq);
        }
        res.writeHead(200);
        res.end();
      }, delay);
    });
  });
  server.listen(0, "127.0.0.1", () => fs.writeFileSync(portFile, String(server.address().port)));
} else if (mode === "write") {
  const [base, plansArg, perPlanArg] = args;
  const plans = Number(plansArg), perPlan = Number(perPlanArg);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const put = (plan, seq) => new Promise((resolve, reject) => {
    const body = seq < 0 ? JSON.stringify({ resourceType: "Patient", id: "p" + plan })
      : JSON.stringify({ resourceType: "Goal", id: "g" + plan, lifecycleStatus: "active",
        description: { text: "goal" }, subject: { reference: "Patient/p" + plan }, note: [{ text: String(seq) }] });
    const req = http.request(base + (seq < 0 ? "/Patient/p" : "/Goal/g") + plan, { method: "PUT", agent, timeout: 30000,
      headers: { "Content-Type": "application/fhir+json" } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode < 300 ? resolve() : reject(new Error("HTTP " + res.statusCode))));
    });
    req.on("error", reject);
    req.end(body);
  });
  (async () => {
    for (let seq = -1; seq < perPlan; seq++) {  // -1: the plan's Patient
      await Promise.all(Array.from({ length: plans }, (_, plan) => put(plan, seq)));
    }
    agent.destroy();
  })().catch((e) => { console.error("write failed: " + e.message); process.exit(1); });
} else {
  console.error("usage: dispatch_receiver.js receive PORTFILE [DELAY_MS] | write BASE PLANS PER_PLAN");
  process.exit(2);
}
