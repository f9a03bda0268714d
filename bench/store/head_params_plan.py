# Ad-hoc: `_id` and `_lastUpdated` searches answered from index rows (schema 6) against the head row and the version
# history index (schema 7), on the real schema (SQLite, in memory): writes and search time. The SQL is what
# gateway/src/store/index_query_sql.cc builds for each version.
import os, random, re, sqlite3, time
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'gateway', 'src', 'store')
src = open(os.path.join(root, 'sqlite_store.cc')).read() + open(os.path.join(root, 'shared_schema.h')).read()
steps = sorted((int(v), sql) for v, sql in
               re.findall(r'constexpr std::string_view kSchemaV(\d+)\w* = R"sql\((.*?)\)sql";', src, re.S))
N = 100_000

def build(version):
    db = sqlite3.connect(':memory:')
    for v, sql in steps:
        if v <= version: db.executescript(sql)
    random.seed(1)
    t = time.perf_counter()
    for i in range(N):
        rid = f'cp{random.getrandbits(48):012x}'
        at = 1_700_000_000_000_000 + i * 1000
        db.execute("INSERT OR IGNORE INTO resource VALUES ('CarePlan', ?, 1, 0, ?, x'00')", (rid, at))
        db.execute("INSERT OR IGNORE INTO resource_version VALUES ('CarePlan', ?, 1, ?, 0, 'a', 's', x'00')", (rid, at))
        rows = [('CarePlan', rid, 'subject', 4, '', '', '', 0, 0, 0, 'Patient', f'p{i % 20000}'),
                ('CarePlan', rid, 'status', 1, '', 'http://hl7.org/fhir/request-status',
                 random.choice(['active', 'completed']), 0, 0, 0, '', '')]
        if version < 7:
            rows += [('CarePlan', rid, '_id', 1, '', '', rid, 0, 0, 0, '', ''),
                     ('CarePlan', rid, '_lastUpdated', 2, '', '', '', at, at, 0, '', '')]
        db.executemany('INSERT INTO search_index VALUES (?,?,?,?,?,?,?,?,?,?,?,?)', rows)
    db.commit()
    return db, time.perf_counter() - t

ids = None
old = {
    '_id=x': ("SELECT DISTINCT d.res_id FROM search_index d CROSS JOIN resource r WHERE d.res_type = ? AND d.param = '_id' "
              "AND d.kind = 1 AND d.token_code = ? AND r.res_type = d.res_type AND r.res_id = d.res_id AND r.deleted = 0 "
              "ORDER BY d.res_id LIMIT 21"),
    '_lastUpdated=ge(newest 100)': (
        "SELECT DISTINCT d.res_id FROM search_index d CROSS JOIN resource r WHERE d.res_type = ? AND d.param = "
        "'_lastUpdated' AND d.kind = 2 AND d.date_high >= ? AND r.res_type = d.res_type AND r.res_id = d.res_id AND "
        "r.deleted = 0 ORDER BY d.res_id LIMIT 21"),
    'status=active&_lastUpdated=ge(newest 100)': (
        "SELECT DISTINCT d.res_id FROM search_index d CROSS JOIN resource r WHERE d.res_type = ? AND d.param = 'status' "
        "AND d.kind = 1 AND d.token_code = 'active' AND r.res_type = d.res_type AND r.res_id = d.res_id AND r.deleted = 0 "
        "AND (EXISTS (SELECT 1 FROM search_index s WHERE s.res_type = r.res_type AND s.res_id = r.res_id AND "
        "s.param = '_lastUpdated' AND s.kind = 2 AND s.date_high >= ?)) ORDER BY d.res_id LIMIT 21"),
}
new = {
    '_id=x': "SELECT r.res_id FROM resource r WHERE r.res_type = ? AND r.deleted = 0 AND ((r.res_id = ?)) ORDER BY r.res_id LIMIT 21",
    '_lastUpdated=ge(newest 100)': (
        "SELECT v.res_id FROM resource_version v CROSS JOIN resource r WHERE v.res_type = ? AND (v.last_updated >= ?) "
        "AND r.res_type = v.res_type AND r.res_id = v.res_id AND r.version = v.version AND r.deleted = 0 "
        "ORDER BY v.res_id LIMIT 21"),
    'status=active&_lastUpdated=ge(newest 100)': (
        "SELECT DISTINCT d.res_id FROM search_index d CROSS JOIN resource r WHERE d.res_type = ? AND d.param = 'status' "
        "AND d.kind = 1 AND d.token_code = 'active' AND r.res_type = d.res_type AND r.res_id = d.res_id AND r.deleted = 0 "
        "AND ((r.last_updated >= ?)) ORDER BY d.res_id LIMIT 21"),
}
for version, queries in ((6, old), (7, new)):
    db, took = build(version)
    pages = db.execute('PRAGMA page_count').fetchone()[0]
    print(f'schema {version}: {N} CarePlans written in {took:.2f} s, {pages} pages')
    some = [r[0] for r in db.execute("SELECT res_id FROM resource ORDER BY res_id LIMIT 50")]
    newest = 1_700_000_000_000_000 + (N - 100) * 1000
    for name, q in queries.items():
        arg = (lambda k: some[k]) if name == '_id=x' else (lambda k: newest)
        print('\n'.join('    ' + r[3] for r in db.execute('EXPLAIN QUERY PLAN ' + q, ('CarePlan', arg(0)))))
        n = 50
        t = time.perf_counter()
        for k in range(n):
            res = db.execute(q, ('CarePlan', arg(k))).fetchall()
        print(f'  {name}: {(time.perf_counter() - t) / n * 1e3:.3f} ms per search, {len(res)} ids')
