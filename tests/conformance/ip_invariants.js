#!/usr/bin/env node
// Part of ip_examples_validate.sh: evaluates every planbro invariant (constraint key "ip-…") of the individual-plan
// profiles with `planbro fhirpath` on each example that claims the profile (meta.profile) and requires `[true]`;
// then evaluates chosen invariants on mutated copies of the examples and requires `[false]`, so each invariant is
// shown to catch what it is for. Until the validator loads profiles this is how the profile rules are checked.
//   node ip_invariants.js PLANBRO PACKAGE_DIR
// Prints one line per failure and a summary; exits 0 when all hold, 1 otherwise.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const [bin, pkg] = process.argv.slice(2);
if (!pkg) {
  console.error('usage: ip_invariants.js PLANBRO PACKAGE_DIR');
  process.exit(2);
}
const readJson = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'planbro-ip-inv-'));

// The invariants of each profile: { url: [{ key, path, expression }] }, from the snapshots.
const invariants = {};
for (const name of fs.readdirSync(pkg).filter((n) => n.startsWith('StructureDefinition-')).sort()) {
  const sd = readJson(path.join(pkg, name));
  if (sd.derivation !== 'constraint' || sd.type === 'Extension') continue;
  const list = [];
  for (const el of sd.snapshot.element) {
    for (const c of el.constraint || []) {
      if (c.key.startsWith('ip-')) list.push({ key: c.key, path: el.path, expression: c.expression });
    }
  }
  invariants[sd.url] = list;
}

// The expression evaluated on the resource: an element-level constraint must hold on every occurrence.
function atPath(inv) {
  const rel = inv.path.split('.').slice(1).join('.');
  return rel ? `${rel}.all(${inv.expression})` : inv.expression;
}
function evaluate(inv, file) {
  try {
    return execFileSync(bin, ['fhirpath', atPath(inv), file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .trim();
  } catch (e) {
    return `error (exit ${e.status}): ${(e.stderr || '').trim()}`;
  }
}
function find(url, key) {
  const inv = (invariants[url] || []).find((i) => i.key === key);
  if (!inv) throw new Error(`no invariant ${key} in ${url}`);
  return inv;
}

let checks = 0;
let failures = 0;
const exampleDir = path.join(pkg, 'example');
const examples = {};
for (const name of fs.readdirSync(exampleDir).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort()) {
  const file = path.join(exampleDir, name);
  const resource = readJson(file);
  examples[resource.id] = { file, resource };
  for (const url of (resource.meta && resource.meta.profile) || []) {
    for (const inv of invariants[url] || []) {
      checks++;
      const got = evaluate(inv, file);
      if (got !== '[true]') {
        failures++;
        console.log(`FAIL ${name}: ${inv.key} gave ${got}, expected [true]`);
      }
    }
  }
}

// Mutations that each break one invariant.
const base = 'http://planbro.no/fhir/StructureDefinition/';
const mutations = [
  ['ip-example-careplan', 'ip-careplan', 'ip-cp-2', 'a finished plan with R4 status draft', (r) => { r.status = 'draft'; }],
  ['ip-example-careplan', 'ip-careplan', 'ip-cp-5', 'an active plan without a period', (r) => { delete r.period; }],
  ['ip-example-careplan', 'ip-careplan', 'ip-act-2', 'a started measure not in progress',
    (r) => { r.activity[0].detail.status = 'not-started'; }],
  ['ip-example-careplan', 'ip-careplan', 'ip-act-1', 'a wished measure in progress',
    (r) => { r.activity[1].detail.status = 'in-progress'; }],
  ['ip-example-careplan', 'ip-careplan', 'ip-person-id', 'a subject without a Norwegian identifier',
    (r) => { r.subject.identifier.system = 'urn:oid:1.2.3.4'; }],
  ['ip-example-goal-sub', 'ip-goal', 'ip-goal-2', 'a sub-goal without its parent', (r) => { delete r.extension; }],
  ['ip-example-goal-main', 'ip-goal', 'ip-goal-1', 'a main goal with a parent',
    (r) => { r.extension = [{ url: base + 'ip-goal-part-of', valueReference: { reference: 'Goal/x' } }]; }],
  ['ip-example-careteam', 'ip-careteam', 'ip-ct-1', 'two open coordinators without a handover', (r) => {
    for (const p of r.participant) { delete p.extension; delete p.period.end; }
  }],
  ['ip-example-consent-sharing', 'ip-consent', 'ip-cons-2', 'a sharing consent naming nobody',
    (r) => { delete r.provision.actor; }],
  ['ip-example-consent-plan', 'ip-consent', 'ip-cons-3', 'a plan consent with scope patient-privacy',
    (r) => { r.scope.coding[0].code = 'patient-privacy'; }],
  ['ip-example-consent-plan', 'ip-consent', 'ip-cons-1', 'a consent of both kinds', (r) => {
    r.category.push({ coding: [{ system: 'http://planbro.no/fhir/CodeSystem/ip-consent-kind', code: 'sharing' }] });
  }],
];
for (const [id, profile, key, what, mutate] of mutations) {
  const resource = JSON.parse(JSON.stringify(examples[id].resource));
  mutate(resource);
  const file = path.join(tmp, `${id}-${key}.json`);
  fs.writeFileSync(file, JSON.stringify(resource));
  checks++;
  const got = evaluate(find(base + profile, key), file);
  if (got !== '[false]') {
    failures++;
    console.log(`FAIL ${id} mutated (${what}): ${key} gave ${got}, expected [false]`);
  }
}
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`ip_invariants: ${checks} checks, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
