// Compares FHIR JSON files as JSON values, for tests/conformance/check_examples.sh.
//
// Usage: node json_equal.js LIST
//   LIST holds one "EXPECTED<TAB>ACTUAL" pair of file paths a line. For each pair whose values differ it prints
//   "DIFF<TAB>EXPECTED<TAB>first differing path" and, at the end, "pairs N differing M". Exit 0 always when the
//   list could be read (the caller counts the DIFF lines), 2 otherwise.
//
// Equality: objects are equal when they have the same member names (in any order) with equal values, arrays
// element by element, strings and booleans by value, and numbers by their exact source text ("1.50" differs from
// "1.5", since FHIR decimals keep their precision). A file that is not JSON differs from everything.
'use strict';
const fs = require('fs');

// A small recursive-descent JSON reader that keeps number literals as text (JSON.parse in node 20 cannot).
function parseJson(text) {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\r\n'.includes(text[i])) i++; };
  const fail = (what) => { throw new Error(`${what} at offset ${i}`); };
  function value(depth) {
    if (depth > 1000) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj = new Map();
      ws();
      if (text[i] === '}') { i++; return obj; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a member name');
        const key = str();
        ws();
        if (text[i] !== ':') fail('expected :');
        i++;
        if (obj.has(key)) fail(`duplicate member ${key}`);
        obj.set(key, value(depth + 1));
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return obj; }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const arr = [];
      ws();
      if (text[i] === ']') { i++; return arr; }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return arr; }
        fail('expected , or ]');
      }
    }
    if (c === '"') return { s: str() };
    if (text.startsWith('true', i)) { i += 4; return true; }
    if (text.startsWith('false', i)) { i += 5; return false; }
    if (text.startsWith('null', i)) { i += 4; return null; }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('unexpected character');
    i += m[0].length;
    return { n: m[0] };
  }
  function str() {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i));
  }
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing content');
  return v;
}

// Returns null when equal, else the path of the first difference.
function firstDiff(a, b, path) {
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map) || !(b instanceof Map)) return path;
    for (const [k, v] of a) {
      if (!b.has(k)) return `${path}.${k} (missing in output)`;
      const d = firstDiff(v, b.get(k), `${path}.${k}`);
      if (d) return d;
    }
    for (const k of b.keys()) if (!a.has(k)) return `${path}.${k} (added in output)`;
    return null;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return path;
    if (a.length !== b.length) return `${path} (length ${a.length} vs ${b.length})`;
    for (let k = 0; k < a.length; k++) {
      const d = firstDiff(a[k], b[k], `${path}[${k}]`);
      if (d) return d;
    }
    return null;
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b ? null : path;
  if ('s' in a && 's' in b) return a.s === b.s ? null : path;
  if ('n' in a && 'n' in b) return a.n === b.n ? null : `${path} (${a.n} vs ${b.n})`;
  return path;
}

function main() {
  let list;
  try {
    list = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.length > 0);
  } catch (e) {
    console.error(`json_equal: ${e.message}`);
    process.exit(2);
  }
  let differing = 0;
  for (const line of list) {
    const [expected, actual] = line.split('\t');
    let diff = null;
    try {
      const a = parseJson(fs.readFileSync(expected, 'utf8').replace(/^\uFEFF/, ''));
      let b;
      try {
        b = parseJson(fs.readFileSync(actual, 'utf8'));
      } catch (e) {
        diff = `output is not JSON: ${e.message}`;
      }
      if (!diff) diff = firstDiff(a, b, '$');
    } catch (e) {
      diff = `input is not JSON: ${e.message}`;
    }
    if (diff) {
      differing++;
      console.log(`DIFF\t${expected}\t${diff}`);
    }
  }
  console.log(`pairs ${list.length} differing ${differing}`);
}

main();
