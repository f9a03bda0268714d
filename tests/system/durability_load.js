// Write load for sigkill_durability.sh (node, no packages).
//
//   node durability_load.js load   BASE PID ACKS_FILE [--workers N] [--kill-after N] [--run TAG]
//   node durability_load.js verify BASE ACKS_FILE...
//
// load: N workers create and update Patients over keep-alive connections. Every 2xx answer is an acknowledged
// write and is recorded as {id, version, marker}: the marker (name.given[0]) is unique per write, so a version
// that comes back with another body is caught too. After --kill-after acknowledged writes it sends SIGKILL to PID
// while the other workers' requests are in flight, lets every in-flight request end (answered or failed), and
// writes the acknowledged writes to ACKS_FILE as JSON. Any non-2xx answer before the kill fails the run.
// verify: reads every acknowledged version (GET /Patient/{id}/_history/{version}) and every resource's current
// version (GET /Patient/{id}, version >= the highest acknowledged one), and prints what is missing or wrong.
// Exit 0 ok, 1 failure. Every request has a timeout and the whole run a deadline.
'use strict';
const http = require('http');
const fs = require('fs');

const kIdentifierSystem = 'urn:planbro:systest:durability';
const kRequestTimeoutMs = 30000;
const kRunDeadlineMs = 90000;

function parseArgs(argv) {
  const positional = [];
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) options[argv[i].slice(2)] = argv[++i];
    else positional.push(argv[i]);
  }
  return { positional, options };
}

// One HTTP request; resolves {status, headers, body} or {error}. Never rejects.
function request(agent, base, method, path, body, headers = {}) {
  return new Promise((resolve) => {
    const url = new URL(path, base);
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const h = { Accept: 'application/fhir+json', ...headers };
    if (data) {
      h['Content-Type'] = 'application/fhir+json';
      h['Content-Length'] = data.length;
    }
    const req = http.request(
      { agent, hostname: url.hostname, port: url.port, path: url.pathname + url.search, method, headers: h },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', (e) => resolve({ error: e.message }));
      });
    req.setTimeout(kRequestTimeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
    if (data) req.write(data);
    req.end();
  });
}

function patient(identifier, marker, id) {
  const p = {
    resourceType: 'Patient',
    identifier: [{ system: kIdentifierSystem, value: identifier }],
    name: [{ family: 'Durability', given: [marker] }],
    gender: 'unknown',
  };
  if (id) p.id = id;
  return p;
}

function versionFromEtag(etag) {
  const m = /^W\/"(\d+)"$/.exec(etag || '');
  return m ? Number(m[1]) : null;
}

async function load(base, pid, acksFile, options) {
  const workers = Number(options.workers || 12);
  const killAfter = Number(options['kill-after'] || 400);
  const run = options.run || String(process.pid);
  const agent = new http.Agent({ keepAlive: true, maxSockets: workers });
  const acks = [];
  const problems = [];
  let killed = false;
  let killedAtAcks = 0;
  let failedAfterKill = 0;
  const deadline = Date.now() + kRunDeadlineMs;

  function acknowledge(ack) {
    acks.push(ack);
    if (!killed && acks.length >= killAfter) {
      killed = true;
      killedAtAcks = acks.length;
      process.kill(pid, 'SIGKILL');
    }
  }

  async function worker(w) {
    const mine = [];  // {id, identifier, version} of this worker's patients
    for (let n = 0; ; n++) {
      if (Date.now() > deadline) {
        problems.push(`worker ${w}: deadline passed before the kill (${acks.length} acknowledged writes)`);
        return;
      }
      const create = mine.length === 0 || n % 3 === 0;
      const marker = `r${run}w${w}n${n}`;
      let res;
      let target;
      if (create) {
        const identifier = `${run}-${w}-${n}`;
        res = await request(agent, base, 'POST', '/Patient', patient(identifier, marker), { Prefer: 'return=minimal' });
        target = { identifier };
      } else {
        target = mine[n % mine.length];
        res = await request(agent, base, 'PUT', `/Patient/${target.id}`, patient(target.identifier, marker, target.id),
                            { Prefer: 'return=minimal' });
      }
      if (res.error) {
        if (killed) { failedAfterKill++; return; }
        problems.push(`worker ${w}: ${create ? 'create' : 'update'} failed before the kill: ${res.error}`);
        return;
      }
      if (res.status < 200 || res.status > 299) {
        if (killed) { failedAfterKill++; return; }
        problems.push(`worker ${w}: ${create ? 'POST /Patient' : 'PUT /Patient/' + target.id} answered ${res.status}: ${res.body.slice(0, 300)}`);
        return;
      }
      const version = versionFromEtag(res.headers.etag);
      let id = target.id;
      if (create) {
        const m = /\/Patient\/([^/]+)\/_history\/(\d+)$/.exec(res.headers.location || '');
        if (!m) {
          problems.push(`worker ${w}: create answered ${res.status} without a Location .../Patient/{id}/_history/{v}: ${res.headers.location}`);
          return;
        }
        id = m[1];
        target.id = id;
        mine.push(target);
      }
      if (version === null) {
        problems.push(`worker ${w}: ${res.status} without an ETag W/"n" (got ${res.headers.etag})`);
        return;
      }
      // After the kill a worker goes on: its next request fails and ends it.
      acknowledge({ id, version, marker, identifier: target.identifier, kind: create ? 'create' : 'update' });
    }
  }

  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  agent.destroy();
  if (!killed) {
    problems.push(`the server was never killed: only ${acks.length} of ${killAfter} writes acknowledged`);
  }
  fs.writeFileSync(acksFile, JSON.stringify(acks));
  const creates = acks.filter((a) => a.kind === 'create').length;
  console.log(`acknowledged writes: ${acks.length} (${creates} creates, ${acks.length - creates} updates); ` +
              `SIGKILL after ${killedAtAcks}; ${acks.length - killedAtAcks} answered after the kill; ` +
              `${failedAfterKill} workers ended by the kill`);
  if (problems.length) {
    console.log('load problems:\n  ' + problems.join('\n  '));
    return 1;
  }
  return 0;
}

async function verify(base, acksFiles) {
  const acks = acksFiles.flatMap((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const missing = [];
  const highest = new Map();  // id -> {version, identifier}
  for (const a of acks) {
    const h = highest.get(a.id);
    if (!h || a.version > h.version) highest.set(a.id, { version: a.version, identifier: a.identifier });
  }
  const jobs = acks.map((a) => async () => {
    const res = await request(agent, base, 'GET', `/Patient/${a.id}/_history/${a.version}`);
    if (res.error || res.status !== 200) {
      missing.push(`${a.kind} Patient/${a.id}/_history/${a.version} (${a.marker}): ${res.error || 'HTTP ' + res.status}`);
      return;
    }
    let r;
    try { r = JSON.parse(res.body); } catch (e) { missing.push(`Patient/${a.id}/_history/${a.version}: not JSON`); return; }
    const given = r.name && r.name[0] && r.name[0].given && r.name[0].given[0];
    if (given !== a.marker || r.id !== a.id || !r.meta || r.meta.versionId !== String(a.version)) {
      missing.push(`Patient/${a.id}/_history/${a.version}: expected marker ${a.marker}, got ${given} ` +
                   `(id ${r.id}, versionId ${r.meta && r.meta.versionId})`);
    }
  });
  for (const [id, h] of highest) {
    jobs.push(async () => {
      const res = await request(agent, base, 'GET', `/Patient/${id}`);
      if (res.error || res.status !== 200) {
        missing.push(`Patient/${id} (current): ${res.error || 'HTTP ' + res.status}`);
        return;
      }
      let r;
      try { r = JSON.parse(res.body); } catch (e) { missing.push(`Patient/${id} (current): not JSON`); return; }
      if (!(r.meta && Number(r.meta.versionId) >= h.version)) {
        missing.push(`Patient/${id}: current version ${r.meta && r.meta.versionId} is older than acknowledged version ${h.version}`);
      }
    });
  }
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < jobs.length) await jobs[next++]();
  }));
  agent.destroy();
  console.log(`checked ${acks.length} acknowledged versions of ${highest.size} patients`);
  if (acks.length === 0) {
    console.log('nothing was acknowledged: the check proves nothing');
    return 1;
  }
  if (missing.length) {
    console.log(`MISSING or wrong after restart (${missing.length}):\n  ` + missing.slice(0, 200).join('\n  '));
    return 1;
  }
  return 0;
}

async function main() {
  const { positional, options } = parseArgs(process.argv.slice(2));
  const mode = positional[0];
  if (mode === 'load' && positional.length === 4) {
    return load(positional[1], Number(positional[2]), positional[3], options);
  }
  if (mode === 'verify' && positional.length >= 3) return verify(positional[1], positional.slice(2));
  console.error('usage: durability_load.js load BASE PID ACKS_FILE [--workers N] [--kill-after N] [--run TAG] | verify BASE ACKS_FILE...');
  return 2;
}

main().then((code) => process.exit(code), (e) => { console.error(e); process.exit(1); });
