#!/usr/bin/env bash
# System test: the least-privilege PostgreSQL set-up of docs/operations.md. A schema-owner role migrates the
# database on the first start; the gateway then runs as a runtime role holding only CONNECT, USAGE on the schema
# and SELECT/INSERT/UPDATE/DELETE on its tables (no CREATE): it starts, writes, reads and searches. Before the
# owner has migrated, the runtime role cannot start (it may not create tables) and says why.
#   PLANBRO_BIN=build/check/gateway/planbro PLANBRO_TEST_PG_URL=... tests/system/postgres_runtime_role.sh
source "$(dirname "$0")/lib.sh"

sys_pg_url
db=${SYS_PG_DBS[-1]}
sys_pg_role planbro_owner
owner=$SYS_PG_ROLE
sys_pg_role planbro_app
app=$SYS_PG_ROLE
admin_sql() { timeout 30 "$(sys_psql)" "$1" -v ON_ERROR_STOP=1 -qAt -c "$2" >/dev/null || die "SQL failed: $2"; }
admin_sql "$SYS_PG_ADMIN_URL" "ALTER DATABASE \"$db\" OWNER TO \"$owner\""
admin_sql "$SYS_PG_ADMIN_URL" "REVOKE ALL ON DATABASE \"$db\" FROM PUBLIC"
admin_sql "$SYS_PG_ADMIN_URL" "GRANT CONNECT ON DATABASE \"$db\" TO \"$app\""

app_config=$(sys_config app postgres "$(sys_pg_url_as "$app")")
owner_config=$(sys_config owner postgres "$(sys_pg_url_as "$owner")")

# The runtime role alone cannot create the schema.
sys_launch app "$app_config"
sys_wait_exit app
expect "exit status of the runtime role's start on an unmigrated database" "$SYS_EXIT" 1
grep -q 'permission denied' "${SYS_LOG[app]}" || fail_later "the failed start does not say 'permission denied'"

# The owner migrates (first start), then grants the runtime role what it needs.
sys_start owner "$owner_config"
sys_stop owner
owner_url=$(sys_pg_url_as "$owner")
admin_sql "$owner_url" "GRANT USAGE ON SCHEMA public TO \"$app\""
admin_sql "$owner_url" "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"$app\""
admin_sql "$owner_url" "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO \"$app\""

sys_start app "$app_config"
S=$(base app)
code=$(req POST "$S/Organization" -H 'Content-Type: application/fhir+json' \
  --data '{"resourceType":"Organization","name":"Runtime role test"}')
expect_status "create as the runtime role" "$code" 201
id=$(jsonq "$SYS_TMP/body.json" 'r.id')
code=$(req GET "$S/Organization/$id")
expect_status "read as the runtime role" "$code" 200
code=$(req GET "$S/Organization?name=Runtime")
expect_status "search as the runtime role" "$code" 200
expect "Organizations found" "$(jsonq "$SYS_TMP/body.json" 'r.entry.length')" 1
sys_stop app

# The runtime role really holds no DDL right.
if timeout 30 "$(sys_psql)" "$(sys_pg_url_as "$app")" -qAt -c "CREATE TABLE planbro_probe (x int)" >/dev/null 2>&1; then
  fail_later "the runtime role could create a table"
fi
sys_finish
