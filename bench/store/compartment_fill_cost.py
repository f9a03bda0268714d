# The cost of the schema-8 fill (gateway/src/store/compartment_fill.cc) on a large SQLite store: the real schema
# (sqlite_store.cc, shared_schema.h) in a WAL file with synchronous=FULL, N Goals (default 100,000) of N/20 patients
# with 4 index rows each, then the fill's SQL in batches of 500:
#   python3 bench/store/compartment_fill_cost.py [N]
import os, re, sqlite3, sys, tempfile, time
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'gateway', 'src', 'store')
src = open(os.path.join(root, 'sqlite_store.cc')).read()
sh = open(os.path.join(root, 'shared_schema.h')).read()
v1 = re.search(r'kSchemaV1 = R"sql\((.*?)\)sql"', src, re.S).group(1)
v3 = re.search(r'kSchemaV3SearchIndexOrder = R"sql\((.*?)\)sql"', sh, re.S).group(1)
v8 = re.search(r'kSchemaV8PatientCompartment = R"sql\((.*?)\)sql"', src, re.S).group(1)
path = os.path.join(tempfile.mkdtemp(prefix='planbro-fill-'), 'fill.db')
db = sqlite3.connect(path, isolation_level=None)
db.execute('PRAGMA journal_mode=WAL'); db.execute('PRAGMA synchronous=FULL')
db.executescript(v1); db.executescript(v3)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
db.execute('BEGIN')
for i in range(N):
    rid = 'goal-%07d' % i
    db.execute("INSERT INTO resource VALUES ('Goal', ?, 1, 0, 0, x'00')", (rid,))
    rows = [('patient', 4, '', '', '', 'Patient', 'p%d' % (i // 20)), ('lifecycle-status', 1, '', 'http://hl7.org/fhir/goal-status', 'active', '', ''),
            ('description', 0, 'goal', '', '', '', ''), ('patient:present', 1, '', '', '1', '', '')]
    for (param, kind, text, system, code, rt, ri) in rows:
        db.execute("INSERT INTO search_index VALUES ('Goal', ?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?)", (rid, param, kind, text, system, code, rt, ri))
db.execute('COMMIT')
db.executescript(v8)
select = ("SELECT r.res_id, r.version, (SELECT CASE WHEN COUNT(DISTINCT s.ref_id) = 1 THEN MIN(s.ref_id) END "
          "FROM search_index s WHERE s.res_type = r.res_type AND s.res_id = r.res_id AND s.kind = 4 AND "
          "s.ref_type = 'Patient' AND s.text_value = '' AND s.ref_id <> '' AND s.param IN (SELECT value FROM json_each(?))) "
          "FROM resource r WHERE r.res_type = ? AND r.res_id > ? AND r.deleted = 0 AND r.compartment_version = 0 "
          "ORDER BY r.res_id LIMIT ?")
update = ("UPDATE resource SET patient_compartment = ?, compartment_version = ? WHERE res_type = ? AND res_id = ? AND "
          "version = ? AND compartment_version = 0")
t0 = time.process_time(); w0 = time.time(); batches = 0; longest = 0
after = ''
while True:
    b0 = time.time()
    db.execute('BEGIN IMMEDIATE')
    rows = db.execute(select, ('["patient"]', 'Goal', after, 500)).fetchall()
    for rid, ver, pat in rows:
        if pat is not None: db.execute(update, (pat, ver, 'Goal', rid, ver))
    if rows: after = rows[-1][0]
    db.execute('COMMIT')
    batches += 1; longest = max(longest, time.time() - b0)
    if len(rows) < 500: break
print('%d Goals: %d batches, %.2f s CPU, %.2f s wall, longest batch %.1f ms' % (N, batches, time.process_time() - t0, time.time() - w0, longest * 1000))
print('rows filled: %d' % db.execute('SELECT COUNT(*) FROM resource WHERE compartment_version = 1').fetchone()[0])
db.close()
for f in os.listdir(os.path.dirname(path)): os.remove(os.path.join(os.path.dirname(path), f))
os.rmdir(os.path.dirname(path))
