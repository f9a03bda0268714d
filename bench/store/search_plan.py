# Ad-hoc: the index-driven search plan against the old per-resource EXISTS plan on the real schema (SQLite).
import sqlite3, re, time, random
import os
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'gateway', 'src', 'store')
src = open(os.path.join(root, 'sqlite_store.cc')).read() + open(os.path.join(root, 'shared_schema.h')).read()
# In version order (the engine file and shared_schema.h each hold some of the steps).
schemas = [sql for _, sql in sorted((int(v), sql) for v, sql in
           re.findall(r'constexpr std::string_view kSchemaV(\d+)\w* = R"sql\((.*?)\)sql";', src, re.S))]
db = sqlite3.connect(':memory:')
for sc in schemas: db.executescript(sc)
N = 100_000
random.seed(1)
rows = []
for i in range(N):
    rid = f'cp{i:06d}'
    db.execute("INSERT INTO resource VALUES ('CarePlan', ?, 1, 0, 0, x'00')", (rid,))
    rows.append(('CarePlan', rid, 'subject', 4, '', '', '', 0, 0, 0, 'Patient', f'p{i % 20000}'))
    rows.append(('CarePlan', rid, 'status', 1, '', 'http://hl7.org/fhir/request-status', random.choice(['active', 'completed']), 0, 0, 0, '', ''))
db.executemany('INSERT INTO search_index VALUES (?,?,?,?,?,?,?,?,?,?,?,?)', rows)
db.commit()
old = ("SELECT r.res_id FROM resource r WHERE r.res_type = ? AND r.deleted = 0 AND (EXISTS (SELECT 1 FROM search_index s "
       "WHERE s.res_type = r.res_type AND s.res_id = r.res_id AND s.param = ? AND s.kind = 4 AND s.ref_id = ? AND s.ref_type = ?)) "
       "AND (EXISTS (SELECT 1 FROM search_index s WHERE s.res_type = r.res_type AND s.res_id = r.res_id AND s.param = ? AND s.kind = 1 AND s.token_code = ?)) "
       "ORDER BY r.res_id LIMIT ?")
new = ("SELECT DISTINCT d.res_id FROM search_index d CROSS JOIN resource r WHERE d.res_type = ? AND d.param = ? AND d.kind = 4 AND d.ref_id = ? AND d.ref_type = ? AND d.text_value = '' "
       "AND r.res_type = d.res_type AND r.res_id = d.res_id AND r.deleted = 0 "
       "AND (EXISTS (SELECT 1 FROM search_index s WHERE s.res_type = r.res_type AND s.res_id = r.res_id AND s.param = ? AND s.kind = 1 AND s.token_code = ?)) "
       "ORDER BY d.res_id LIMIT ?")
for name, q in (('per-resource EXISTS (before)', old), ('index-driven (now)', new)):
    print('\n'.join('  ' + r[3] for r in db.execute('EXPLAIN QUERY PLAN ' + q, ('CarePlan', 'subject', 'p1', 'Patient', 'status', 'active', 21))))
    n = 50
    t = time.perf_counter()
    for k in range(n):
        res = db.execute(q, ('CarePlan', 'subject', f'p{k * 7}', 'Patient', 'status', 'active', 21)).fetchall()
    dt = (time.perf_counter() - t) / n
    print(f'{name}: {dt * 1e3:.3f} ms per search (CarePlan?subject=Patient/x&status=active over {N} CarePlans)')
