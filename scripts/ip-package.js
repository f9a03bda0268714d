#!/usr/bin/env node
// Part of scripts/generate-profiles.sh: turns SUSHI's output (fsh-generated/resources) into a FHIR NPM package
// folder with deterministic content.
//   node ip-package.js SUSHI_CONFIG RESOURCES_DIR OUT_DIR
// Writes OUT_DIR/package.json, OUT_DIR/.index.json, the definitions into OUT_DIR and the examples (ids starting
// "ip-example-") into OUT_DIR/example/. Each JSON file is re-serialised with two-space indentation and a newline.
'use strict';
const fs = require('fs');
const path = require('path');

const [configPath, resourcesDir, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: ip-package.js SUSHI_CONFIG RESOURCES_DIR OUT_DIR');
  process.exit(2);
}

// The few top-level scalar keys of sushi-config.yaml that package.json needs (plain "key: value" lines).
const config = {};
for (const line of fs.readFileSync(configPath, 'utf8').split('\n')) {
  const m = /^([A-Za-z]+):\s*(.*)$/.exec(line);
  if (m && m[2] !== '') config[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
}
for (const key of ['id', 'version', 'canonical', 'fhirVersion', 'title', 'date']) {
  if (!config[key]) {
    console.error(`ip-package: sushi-config.yaml has no ${key}`);
    process.exit(1);
  }
}

const write = (file, value) => fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');

fs.mkdirSync(path.join(outDir, 'example'), { recursive: true });
const index = [];
const exampleIndex = [];
const names = fs.readdirSync(resourcesDir).filter((n) => n.endsWith('.json')).sort();
for (const name of names) {
  const resource = JSON.parse(fs.readFileSync(path.join(resourcesDir, name), 'utf8'));
  if (resource.resourceType === 'ImplementationGuide') continue;
  const isExample = typeof resource.id === 'string' && resource.id.startsWith('ip-example-');
  const filename = `${resource.resourceType}-${resource.id}.json`;
  write(path.join(outDir, isExample ? 'example' : '', filename), resource);
  const entry = { filename, resourceType: resource.resourceType, id: resource.id };
  for (const key of ['url', 'version', 'kind', 'type']) {
    if (typeof resource[key] === 'string') entry[key] = resource[key];
  }
  (isExample ? exampleIndex : index).push(entry);
}

write(path.join(outDir, 'package.json'), {
  name: config.id,
  version: config.version,
  description: config.title,
  author: 'planbro',
  fhirVersions: [config.fhirVersion],
  dependencies: { 'hl7.fhir.r4.core': '4.0.1' },
  canonical: config.canonical,
  url: config.canonical,
  date: config.date.replace(/-/g, '') + '000000',
  jurisdiction: 'urn:iso:std:iso:3166#NO',
  type: 'fhir.ig',
  license: 'CC0-1.0',
});
write(path.join(outDir, '.index.json'), { 'index-version': 1, files: index });
write(path.join(outDir, 'example', '.index.json'), { 'index-version': 1, files: exampleIndex });
