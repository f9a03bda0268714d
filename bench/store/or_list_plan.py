# Ad-hoc: an OR list of n `_id` values as n correlated EXISTS predicates (before) against one list lookup over a
# JSON array bound as one parameter (index_query_sql.cc, now), on the real schema (SQLite, in memory).
#   python3 bench/store/or_list_plan.py
import os, re, sqlite3, time, json
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'gateway', 'src', 'store')
src = open(os.path.join(root, 'sqlite_store.cc')).read() + open(os.path.join(root, 'shared_schema.h')).read()
schemas = re.findall(r'constexpr std::string_view kSchemaV\d\w* = R"sql\((.*?)\)sql";', src, re.S)
db = sqlite3.connect(':memory:')
for sc in schemas: db.executescript(sc)
N = 2_000
rows = []
for i in range(N):
    rid = f'cp{i:06d}'
    db.execute("INSERT INTO resource VALUES ('CarePlan', ?, 1, 0, 0, x'00')", (rid,))
    rows.append(('CarePlan', rid, '_id', 1, '', '', rid, 0, 0, 0, '', ''))
    rows.append(('CarePlan', rid, 'status', 1, '', 'http://hl7.org/fhir/request-status', 'active', 0, 0, 0, '', ''))
db.executemany('INSERT INTO search_index VALUES (?,?,?,?,?,?,?,?,?,?,?,?)', rows)
db.commit()
probe = ("EXISTS (SELECT 1 FROM search_index s WHERE s.res_type = r.res_type AND s.res_id = r.res_id "
         "AND s.param = ? AND s.kind = 1 AND s.token_code = ?)")
new = ("SELECT DISTINCT d.res_id FROM search_index d CROSS JOIN resource r WHERE d.res_type = ? AND d.param = ? "
       "AND d.kind = 1 AND d.token_code IN (SELECT value FROM json_each(?)) "
       "AND r.res_type = d.res_type AND r.res_id = d.res_id AND r.deleted = 0 ORDER BY d.res_id LIMIT ?")
print(f'{N} CarePlans; CarePlan?_id=<n values>&_count=1000')
for n in (50, 100, 200, 500, 1000):
    ids = [f'cp{(k * 37) % N:06d}' for k in range(n)]
    old = ("SELECT r.res_id FROM resource r WHERE r.res_type = ? AND r.deleted = 0 AND (" +
           " OR ".join([probe] * n) + ") ORDER BY r.res_id LIMIT ?")
    old_params = ['CarePlan'] + [x for i in ids for x in ('_id', i)] + [1001]
    t_old = None
    if n <= 200:  # the old plan grows with the square of n: 500 values over 2,000 plans would take minutes
        t = time.perf_counter()
        a = db.execute(old, old_params).fetchall()
        t_old = time.perf_counter() - t
    runs = 50
    t = time.perf_counter()
    for _ in range(runs):
        b = db.execute(new, ('CarePlan', '_id', json.dumps(ids), 1001)).fetchall()
    t_new = (time.perf_counter() - t) / runs
    assert len(b) == n and (t_old is None or sorted(a) == sorted(b))
    before = f'{t_old * 1e3:9.1f} ms' if t_old is not None else '  (not run)'
    print(f'  n={n:4d}: per-value EXISTS {before}, SQL {len(old):6d} chars | '
          f'one list lookup {t_new * 1e3:6.3f} ms, SQL {len(new)} chars')
print('plan of the list lookup:')
print('\n'.join('  ' + r[3] for r in db.execute('EXPLAIN QUERY PLAN ' + new, ('CarePlan', '_id', '[]', 21))))
