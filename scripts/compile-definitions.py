#!/usr/bin/env python3
"""Compiles the FHIR R4 core package into fhir-model/data/r4-definitions.json.

A developer tool, run by hand; its output is committed and embedded in planbro_model_info (see
fhir-model/src/model/r4_definitions.S), so the gateway needs no data file at run time. The same run writes the typed
read-only views (fhir-model/include/planbro/fhir-model/generated/*.h: CarePlanView(json).subject().reference()) for
VIEW_RESOURCES and every complex data type.

    python3 scripts/compile-definitions.py [--package DIR] [--out FILE] [--views-dir DIR]

Python 3 standard library only. The output format (short keys, defaults omitted) is read by
fhir-model/src/model/model_info.cc:

  {"v": 1, "fhir": "4.0.1",
   "types": [{"n": name, "u": url, "k": "p|c|r|l", "a": 1 (abstract), "b": base name (profiles: base URL),
              "ty": constrained type (profiles only), "rx": primitive value regex,
              "cx": [[context type, expression], ...] (extension definitions: where they may be used),
              "e": [element, ...]}],
   "profiles": [same shape as types: the constraint profiles of the core package],
   "vs": [{"u": url, "i": 1 (incomplete), "g": [[system, [[code, display], ...]], ...]}],
   "sp": [{"c": code, "u": url, "t": type, "x": expression, "b": [base], "tg": [target],
           "cp": [[definition, expression], ...]}]}

  element: {"p": path, "i": id (only when it differs from path), "sn": sliceName, "n": min (omitted when 0),
            "x": max (omitted when "1"), "t": [code | [code, [targetProfile], [profile]]], "cr": contentReference
            (without '#'), "bd": [strength letter r|e|p|x, valueSet url without |version],
            "c": [[key, severity letter e|w, human, expression]], "m": 1 (isModifier), "s": 1 (isSummary),
            "f": fixed value, "pt": pattern value, "sl": [ordered 0|1, rules, [[discriminator type, path]]]}
"""

import argparse
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PACKAGE = os.path.join(os.path.dirname(ROOT), 'shared', 'fhir-r4', 'hl7.fhir.r4.core')
DEFAULT_OUT = os.path.join(ROOT, 'fhir-model', 'data', 'r4-definitions.json')
DEFAULT_VIEWS = os.path.join(ROOT, 'fhir-model', 'include', 'planbro', 'fhir-model', 'generated')

SYSTEM_PREFIX = 'http://hl7.org/fhirpath/System.'
FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type'
REGEX_EXT = 'http://hl7.org/fhir/StructureDefinition/regex'
NATIVE_CONSTRAINTS = {'ele-1', 'ext-1'}
KIND = {'primitive-type': 'p', 'complex-type': 'c', 'resource': 'r', 'logical': 'l'}
STRENGTH = {'required': 'r', 'extensible': 'e', 'preferred': 'p', 'example': 'x'}
SEVERITY = {'error': 'e', 'warning': 'w'}


def load(package):
    by_type = {}
    for path in sorted(glob.glob(os.path.join(package, '*.json'))):
        if os.path.basename(path) == 'package.json':
            continue
        with open(path, encoding='utf-8') as f:
            res = json.load(f)
        by_type.setdefault(res.get('resourceType'), []).append(res)
    return by_type


def strip_version(url):
    return url.split('|', 1)[0] if url else url


def ext_value(extensions, url):
    for ext in extensions or []:
        if ext.get('url') == url:
            for key, value in ext.items():
                if key.startswith('value'):
                    return value
    return None


def compile_type(t):
    code = t.get('code', '')
    if code.startswith(SYSTEM_PREFIX):
        # R4 writes the types of primitive values and of every `id` as FHIRPath system types, with the FHIR type
        # they stand for in an extension (Resource.id comes out as "string" in the 4.0.1 snapshots).
        code = ext_value(t.get('extension'), FHIR_TYPE_EXT) or 'string'
    targets = [strip_version(p) for p in t.get('targetProfile', [])]
    profiles = [strip_version(p) for p in t.get('profile', [])]
    if not targets and not profiles:
        return code
    return [code, targets, profiles]


def compile_element(e, bound):
    out = {'p': e['path']}
    if e.get('id') and e['id'] != e['path']:
        out['i'] = e['id']
    if e.get('sliceName'):
        out['sn'] = e['sliceName']
    if e.get('min', 0):
        out['n'] = e['min']
    if e.get('max', '1') != '1':
        out['x'] = e['max']
    if e.get('type'):
        out['t'] = [compile_type(t) for t in e['type'] if t.get('code')]
    if e.get('contentReference'):
        ref = e['contentReference']
        out['cr'] = ref[ref.index('#') + 1:] if '#' in ref else ref
    b = e.get('binding')
    if b and b.get('valueSet'):
        vs = strip_version(b['valueSet'])
        out['bd'] = [STRENGTH[b['strength']], vs]
        bound.setdefault(vs, set()).add(b['strength'])
    cons = []
    for c in e.get('constraint', []):
        if c['key'] in NATIVE_CONSTRAINTS or not c.get('expression'):
            continue
        cons.append([c['key'], SEVERITY.get(c.get('severity'), 'e'), c.get('human', ''), c['expression']])
    if cons:
        out['c'] = cons
    if e.get('isModifier'):
        out['m'] = 1
    if e.get('isSummary'):
        out['s'] = 1
    for key, value in e.items():
        if key.startswith('fixed'):
            out['f'] = value
        elif key.startswith('pattern'):
            out['pt'] = value
    s = e.get('slicing')
    if s:
        out['sl'] = [1 if s.get('ordered') else 0, s.get('rules', 'open'),
                     [[d['type'], d['path']] for d in s.get('discriminator', [])]]
    return out


def compile_structure(sd, bound):
    elements = sd['snapshot']['element']
    out = {'n': sd['name'] if sd.get('derivation') == 'constraint' else sd['type'], 'u': sd['url'],
           'k': KIND[sd['kind']]}
    if sd.get('abstract'):
        out['a'] = 1
    base = sd.get('baseDefinition')
    if sd.get('derivation') == 'constraint':
        out['b'] = base
        out['ty'] = sd['type']
    elif base:
        out['b'] = base.rsplit('/', 1)[-1]
    if sd['kind'] == 'primitive-type':
        for e in elements:
            if e['path'] == sd['type'] + '.value':
                for t in e.get('type', []):
                    rx = ext_value(t.get('extension'), REGEX_EXT)
                    if rx:
                        out['rx'] = rx
    if sd.get('derivation') == 'constraint' and sd.get('context'):
        out['cx'] = [[c.get('type', ''), c.get('expression', '')] for c in sd['context']]
    out['e'] = [compile_element(e, bound) for e in elements]
    return out


class Terminology:
    """Expands ValueSets from the CodeSystems and ValueSets of the package."""

    def __init__(self, code_systems, value_sets):
        self.cs = {}
        for cs in code_systems:
            if cs.get('content') == 'supplement':
                continue
            self.cs[cs['url']] = cs
        self.vs = {vs['url']: vs for vs in value_sets}
        self.cache = {}
        self.flat = {}

    def concepts(self, system):
        """(codes in definition order [(code, display)], children by code, complete flag) of a CodeSystem."""
        if system in self.flat:
            return self.flat[system]
        cs = self.cs.get(system)
        if cs is None:
            self.flat[system] = None
            return None
        codes, children = [], {}

        def walk(concepts, parent):
            for c in concepts:
                codes.append((c['code'], c.get('display', '')))
                if parent is not None:
                    children.setdefault(parent, []).append(c['code'])
                for p in c.get('property', []):
                    if 'valueCode' not in p:
                        continue
                    if p.get('code') in ('parent', 'subsumedBy'):
                        children.setdefault(p['valueCode'], []).append(c['code'])
                    elif p.get('code') == 'child':
                        children.setdefault(c['code'], []).append(p['valueCode'])
                walk(c.get('concept', []), c['code'])

        walk(cs.get('concept', []), None)
        result = (codes, children, cs.get('content') == 'complete')
        self.flat[system] = result
        return result

    def descendants(self, system, code, include_self):
        codes, children, _ = self.concepts(system)
        out, todo, seen = [], [code], set()
        while todo:
            c = todo.pop(0)
            if c in seen:
                continue
            seen.add(c)
            if c != code or include_self:
                out.append(c)
            todo.extend(children.get(c, []))
        return out

    def select(self, inc, stack):
        """[(system, code, display)], complete for one include/exclude entry."""
        complete = True
        result = None
        for vs_url in inc.get('valueSet', []):
            codes, ok = self.expand(strip_version(vs_url), stack)
            complete = complete and ok
            keys = {(s, c) for s, c, _ in codes}
            result = codes if result is None else [x for x in result if (x[0], x[1]) in keys]
        system = inc.get('system')
        if system:
            own, ok = self.select_system(system, inc)
            complete = complete and ok
            if result is None:
                result = own
            else:
                keys = {(s, c) for s, c, _ in own}
                result = [x for x in result if (x[0], x[1]) in keys]
        return result or [], complete

    def select_system(self, system, inc):
        flat = self.concepts(system)
        display = {c: d for c, d in flat[0]} if flat else {}
        if inc.get('concept'):
            return [(system, c['code'], c.get('display') or display.get(c['code'], '')) for c in inc['concept']], True
        if flat is None:
            return [], False  # an external system (SNOMED CT, LOINC, UCUM, BCP-47, ...)
        codes, _, complete = flat
        filters = inc.get('filter', [])
        if not filters:
            return [(system, c, d) for c, d in codes], complete
        selected = None
        for f in filters:
            op, prop, value = f.get('op'), f.get('property'), f.get('value')
            if prop == 'concept' and op in ('is-a', 'descendent-of'):
                part = set(self.descendants(system, value, op == 'is-a'))
            elif prop == 'concept' and op == 'is-not-a':
                part = {c for c, _ in codes} - set(self.descendants(system, value, True))
            elif prop == 'parent' and op == '=':
                part = set(flat[1].get(value, []))
            else:
                return [], False
            selected = part if selected is None else selected & part
        return [(system, c, d) for c, d in codes if c in selected], complete

    def expand(self, url, stack=()):
        if url in self.cache:
            return self.cache[url]
        vs = self.vs.get(url)
        if vs is None or url in stack:
            return [], False
        stack = stack + (url,)
        complete = True
        codes = []
        compose = vs.get('compose')
        if compose:
            seen = set()
            for inc in compose.get('include', []):
                part, ok = self.select(inc, stack)
                complete = complete and ok
                for x in part:
                    if (x[0], x[1]) not in seen:
                        seen.add((x[0], x[1]))
                        codes.append(x)
            for exc in compose.get('exclude', []):
                part, ok = self.select(exc, stack)
                complete = complete and ok
                drop = {(s, c) for s, c, _ in part}
                codes = [x for x in codes if (x[0], x[1]) not in drop]
        elif vs.get('expansion'):
            def walk(contains):
                for c in contains:
                    if 'code' in c:
                        codes.append((c.get('system', ''), c['code'], c.get('display', '')))
                    walk(c.get('contains', []))
            walk(vs['expansion'].get('contains', []))
        else:
            complete = False
        self.cache[url] = (codes, complete)
        return codes, complete


def compile_value_set(term, url):
    codes, complete = term.expand(url)
    groups, index = [], {}
    for system, code, display in codes:
        if system not in index:
            index[system] = len(groups)
            groups.append([system, []])
        groups[index[system]][1].append([code, display] if display else [code])
    out = {'u': url}
    if not complete or url not in term.vs:
        out['i'] = 1
    out['g'] = groups
    return out


def compile_search_param(sp):
    out = {'c': sp['code'], 'u': sp['url'], 't': sp['type']}
    if sp.get('expression'):
        out['x'] = sp['expression']
    out['b'] = sp.get('base', [])
    if sp.get('target'):
        out['tg'] = sp['target']
    if sp.get('component'):
        out['cp'] = [[strip_version(c['definition']), c.get('expression', '')] for c in sp['component']]
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Typed read-only views (fhir-model/include/planbro/fhir-model/generated/): thin classes over JsonValue, one accessor
# per element, generated from the same definitions. `CarePlanView(doc.root()).subject().reference()`.

VIEW_RESOURCES = ['CarePlan', 'CareTeam', 'Goal', 'Consent', 'Patient', 'Practitioner', 'PractitionerRole',
                  'Organization', 'RelatedPerson', 'Provenance', 'AuditEvent', 'Bundle', 'OperationOutcome']
BOOL_TYPES = {'boolean'}
INT_TYPES = {'integer', 'positiveInt', 'unsignedInt'}
CPP_KEYWORDS = {
    'alignas', 'alignof', 'and', 'and_eq', 'asm', 'auto', 'bitand', 'bitor', 'bool', 'break', 'case', 'catch', 'char',
    'class', 'compl', 'concept', 'const', 'consteval', 'constexpr', 'constinit', 'continue', 'default', 'delete', 'do',
    'double', 'else', 'enum', 'explicit', 'export', 'extern', 'false', 'float', 'for', 'friend', 'goto', 'if',
    'inline', 'int', 'long', 'mutable', 'namespace', 'new', 'noexcept', 'not', 'not_eq', 'nullptr', 'operator', 'or',
    'or_eq', 'private', 'protected', 'public', 'register', 'requires', 'return', 'short', 'signed', 'sizeof',
    'static', 'struct', 'switch', 'template', 'this', 'throw', 'true', 'try', 'typedef', 'typeid', 'typename',
    'union', 'unsigned', 'using', 'virtual', 'void', 'volatile', 'while', 'xor', 'xor_eq',
    # the views' own members
    'json', 'exists'}

GENERATED_NOTE = ('// Generated by scripts/compile-definitions.py from the FHIR R4 definitions: do not edit.\n'
                  '// Views are read-only, hold one pointer into a JsonDocument and are valid while it lives; an absent\n'
                  '// element reads as an empty view, an empty string, std::nullopt or an empty range.\n')


def snake(name):
    out = ''
    for i, ch in enumerate(name):
        if ch.isupper() and i > 0 and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out += '_'
        out += ch.lower()
    return out


def upper_first(s):
    return s[:1].upper() + s[1:]


class ViewGenerator:
    def __init__(self, types):
        self.types = {t['n']: t for t in types}
        self.primitive = {t['n'] for t in types if t['k'] == 'p'}
        self.complex = {t['n'] for t in types if t['k'] == 'c'}

    def classes_of(self, type_name):
        """[(class name, path, [child elements])] for a type's root and its backbone elements, in definition order."""
        t = self.types[type_name]
        by_path = {}
        children = {}
        order = []
        for e in t['e']:
            if e.get('sn'):
                continue
            by_path[e['p']] = e
            parent = e['p'].rsplit('.', 1)[0] if '.' in e['p'] else None
            if parent is not None:
                children.setdefault(parent, []).append(e)
            order.append(e['p'])
        classes = []
        for path in order:
            if path in children:
                classes.append((self.class_name(path), path, children[path]))
        return classes, by_path, children

    @staticmethod
    def class_name(path):
        return ''.join(upper_first(seg.replace('[x]', '')) for seg in path.split('.')) + 'View'

    def accessors(self, e, by_path, children):
        """[(declaration, definition body, comment)] for one element."""
        name = e['p'].rsplit('.', 1)[-1]
        choice = name.endswith('[x]')
        base = name[:-3] if choice else name
        repeated = e.get('x', '1') != '1'
        card = f"{e.get('n', 0)}..{e.get('x', '1')}"
        out = []
        if e.get('cr'):
            target = e['cr']
            out.append((base, self.class_name(target), repeated, f"{e['p']} {card} (see {target})"))
        elif e['p'] in children:
            out.append((base, self.class_name(e['p']), repeated, f"{e['p']} {card}"))
        else:
            for t in e.get('t', []):
                code = t if isinstance(t, str) else t[0]
                json_name = base + upper_first(code) if choice else base
                out.append((json_name, self.view_of(code), repeated, f"{e['p']} {card} {code}"))
        return out

    def view_of(self, code):
        if code in BOOL_TYPES:
            return 'bool'
        if code in INT_TYPES:
            return 'int'
        if code in self.primitive or code.startswith('http://hl7.org/fhirpath/'):
            return 'string'
        if code == 'Resource':
            return 'ResourceView'
        if code in self.complex:
            return code + 'View'
        return 'ElementView'

    def emit_classes(self, type_names, lines_decl, lines_def):
        for type_name in type_names:
            classes, by_path, children = self.classes_of(type_name)
            for cls, path, kids in classes:
                t = self.types[type_name]
                what = 'resource' if (t['k'] == 'r' and path == type_name) else 'element'
                lines_decl.append(f'/** A {path} {what}. */')
                lines_decl.append(f'class {cls} {{')
                lines_decl.append(' public:')
                lines_decl.append(f'  {cls}() = default;')
                lines_decl.append(f'  explicit {cls}(const JsonValue* json) : json_(json) {{}}')
                lines_decl.append(f'  explicit {cls}(const JsonValue& json) : json_(&json) {{}}')
                lines_decl.append('  bool exists() const { return json_ != nullptr && json_->isObject(); }')
                lines_decl.append('  const JsonValue* json() const { return json_; }')
                seen = set()
                for e in kids:
                    for json_name, view, repeated, comment in self.accessors(e, by_path, children):
                        method = json_name + '_' if json_name in CPP_KEYWORDS else json_name
                        if method in seen:
                            continue
                        seen.add(method)
                        ret, body = self.signature(view, repeated, json_name)
                        lines_decl.append(f'  {ret} {method}() const;  // {comment}')
                        lines_def.append(f'inline {ret} {cls}::{method}() const {{ {body} }}')
                lines_decl.append('')
                lines_decl.append(' private:')
                lines_decl.append('  const JsonValue* json_ = nullptr;')
                lines_decl.append('};')
                lines_decl.append('')

    @staticmethod
    def signature(view, repeated, json_name):
        key = f'"{json_name}"'
        if repeated:
            item = {'bool': 'std::string_view', 'int': 'std::string_view', 'string': 'std::string_view'}.get(view, view)
            return f'Range<{item}>', f'return Range<{item}>(views::member(json_, {key}));'
        if view == 'bool':
            return 'std::optional<bool>', f'return views::boolean(json_, {key});'
        if view == 'int':
            return 'std::optional<int64_t>', f'return views::integer(json_, {key});'
        if view == 'string':
            return 'std::string_view', f'return views::text(json_, {key});'
        return view, f'return {view}(views::member(json_, {key}));'

    def forward(self, type_names):
        out = []
        for type_name in type_names:
            classes, _, _ = self.classes_of(type_name)
            out.extend(f'class {cls};' for cls, _, _ in classes)
        return out


def write_header(path, includes, body):
    text = '#pragma once\n' + GENERATED_NOTE + '\n'
    text += ''.join(f'#include "{inc}"\n' for inc in includes)
    text += '\nnamespace planbro::fhir::views {\n\n' + '\n'.join(body) + '\n\n}  // namespace planbro::fhir::views\n'
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def generate_views(types, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    gen = ViewGenerator(types)
    with open(os.path.join(out_dir, 'view_support.h'), 'w', encoding='utf-8') as f:
        f.write(VIEW_SUPPORT)

    datatypes = sorted(gen.complex)
    decl, defs = [], []
    gen.emit_classes(datatypes, decl, defs)
    write_header(os.path.join(out_dir, 'datatypes.h'), ['planbro/fhir-model/generated/view_support.h'],
                 gen.forward(datatypes) + [''] + decl + defs)
    names = []
    for resource in VIEW_RESOURCES:
        decl, defs = [], []
        gen.emit_classes([resource], decl, defs)
        name = snake(resource) + '.h'
        names.append(name)
        write_header(os.path.join(out_dir, name), ['planbro/fhir-model/generated/datatypes.h'],
                     gen.forward([resource]) + [''] + decl + defs)
    write_header(os.path.join(out_dir, 'all.h'), [f'planbro/fhir-model/generated/{n}' for n in names], [])
    return len(names)


VIEW_SUPPORT = '#pragma once\n' + GENERATED_NOTE + r"""
#include <charconv>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

#include "planbro/fhir-model/json.h"

namespace planbro::fhir::views {

/** The member `key` of `object`, or nullptr when absent or when `object` is not an object. */
inline const JsonValue* member(const JsonValue* object, std::string_view key) {
  return object != nullptr && object->isObject() ? object->find(key) : nullptr;
}
/** A primitive's text (a number's exact text), empty when absent or not a primitive. */
inline std::string_view text(const JsonValue* value) {
  return value != nullptr && (value->isString() || value->isNumber()) ? value->text() : std::string_view();
}
inline std::string_view text(const JsonValue* object, std::string_view key) { return text(member(object, key)); }
inline std::optional<bool> boolean(const JsonValue* object, std::string_view key) {
  const JsonValue* v = member(object, key);
  if (v == nullptr || !v->isBool()) return std::nullopt;
  return v->boolean();
}
inline std::optional<int64_t> integer(const JsonValue* object, std::string_view key) {
  const JsonValue* v = member(object, key);
  if (v == nullptr || !v->isNumber()) return std::nullopt;
  std::string_view t = v->text();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  return n;
}

template <typename T>
T makeItem(const JsonValue* value) {
  return T(value);
}
template <>
inline std::string_view makeItem<std::string_view>(const JsonValue* value) {
  return text(value);
}

/** The items of a repeating element as views (or as text for primitives). A single non-array value counts as one
 * item; an absent element is an empty range. */
template <typename T>
class Range {
 public:
  Range() = default;
  explicit Range(const JsonValue* value) {
    if (value == nullptr || value->isNull()) return;
    items_ = value->isArray() ? value->items() : std::span<const JsonValue>(value, 1);
  }

  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = T;
    iterator() = default;
    explicit iterator(const JsonValue* at) : at_(at) {}
    T operator*() const { return makeItem<T>(at_); }
    iterator& operator++() {
      ++at_;
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++at_;
      return before;
    }
    bool operator==(const iterator& other) const { return at_ == other.at_; }

   private:
    const JsonValue* at_ = nullptr;
  };

  iterator begin() const { return iterator(items_.data()); }
  iterator end() const { return iterator(items_.data() + items_.size()); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  /** The item at `index`; an empty view (or empty text) when out of range. */
  T operator[](size_t index) const { return makeItem<T>(index < items_.size() ? &items_[index] : nullptr); }

 private:
  std::span<const JsonValue> items_;
};

/** A resource of any type (contained resources, Bundle.entry.resource). Wrap json() in the typed view it names. */
class ResourceView {
 public:
  ResourceView() = default;
  explicit ResourceView(const JsonValue* json) : json_(json) {}
  explicit ResourceView(const JsonValue& json) : json_(&json) {}
  bool exists() const { return json_ != nullptr && json_->isObject(); }
  const JsonValue* json() const { return json_; }
  std::string_view resourceType() const { return text(json_, "resourceType"); }
  std::string_view id() const { return text(json_, "id"); }

 private:
  const JsonValue* json_ = nullptr;
};

}  // namespace planbro::fhir::views
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--package', default=DEFAULT_PACKAGE)
    ap.add_argument('--out', default=DEFAULT_OUT)
    ap.add_argument('--views-dir', default=DEFAULT_VIEWS,
                    help='where the typed view headers go (generated from the same definitions)')
    args = ap.parse_args()

    res = load(args.package)
    bound = {}
    types, profiles = [], []
    for sd in res['StructureDefinition']:
        if 'snapshot' not in sd:
            continue
        if sd.get('derivation') == 'constraint':
            profiles.append(compile_structure(sd, bound))
        elif sd['kind'] in ('primitive-type', 'complex-type', 'resource'):
            types.append(compile_structure(sd, bound))
    types.sort(key=lambda t: t['n'])
    profiles.sort(key=lambda t: t['u'])

    term = Terminology(res.get('CodeSystem', []), res.get('ValueSet', []))
    wanted = sorted(url for url, strengths in bound.items() if strengths & {'required', 'extensible'})
    value_sets = [compile_value_set(term, url) for url in wanted]

    params = sorted((compile_search_param(sp) for sp in res.get('SearchParameter', [])), key=lambda p: p['u'])

    doc = {'v': 1, 'fhir': '4.0.1', 'types': types, 'profiles': profiles, 'vs': value_sets, 'sp': params}
    text = json.dumps(doc, ensure_ascii=False, separators=(',', ':'), sort_keys=False)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write(text)
        f.write('\n')
    incomplete = sum(1 for v in value_sets if v.get('i'))
    print(f'{args.out}: {len(text)} bytes; {len(types)} types, {len(profiles)} profiles, '
          f'{len(value_sets)} value sets ({incomplete} incomplete), {len(params)} search parameters',
          file=sys.stderr)
    count = generate_views(types, args.views_dir)
    print(f'{args.views_dir}: views for {count} resources and {len([t for t in types if t["k"] == "c"])} data types',
          file=sys.stderr)


if __name__ == '__main__':
    main()
