#pragma once
// Where one engine-parameterised store test keeps its database: a fresh temporary directory for SQLite, a fresh
// schema on PLANBRO_TEST_PG_URL for PostgreSQL, and their removal afterwards.

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

namespace planbro::testing {

/** A name no other test (process, or test in this process) uses at the same time: pid, a counter, a random part. */
inline std::string uniqueTestName() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" + std::to_string(rd() % 1000000);
}

/** PLANBRO_TEST_PG_URL, or empty when it is not set (the PostgreSQL runs are then skipped). */
inline std::string testPostgresUrl() {
  const char* url = std::getenv("PLANBRO_TEST_PG_URL");
  return url == nullptr ? std::string() : std::string(url);
}

/** In a test body or SetUp(): skips the test when PLANBRO_TEST_PG_URL is not set, and fails it instead when
 *  CI=true, where the PostgreSQL runs must not be skipped (scripts/test.sh and .ci/run start a cluster). */
#define PLANBRO_SKIP_WITHOUT_TEST_POSTGRES()                                                                  \
  do {                                                                                                        \
    if (::planbro::testing::testPostgresUrl().empty()) {                                                      \
      const char* planbro_ci = std::getenv("CI");                                                             \
      if (planbro_ci != nullptr && std::string(planbro_ci) == "true") {                                       \
        FAIL() << "CI=true but PLANBRO_TEST_PG_URL is not set: the PostgreSQL runs must not be skipped in CI"; \
      }                                                                                                       \
      GTEST_SKIP() << "PostgreSQL runs skipped: PLANBRO_TEST_PG_URL is not set "                              \
                      "(export PLANBRO_TEST_PG_URL=$(scripts/postgres-test-cluster.sh start))";               \
    }                                                                                                         \
  } while (0)

/** Removes what a test made: `dir` (when not empty) and the PostgreSQL `schema` on `pg_url` (when not empty). */
inline void removeTestStorePlace(const std::filesystem::path& dir, const std::string& pg_url, const std::string& schema) {
  std::error_code ec;
  if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  if (schema.empty()) return;
  PGconn* conn = PQconnectdb(pg_url.c_str());
  if (PQstatus(conn) == CONNECTION_OK) {
    PQclear(PQexec(conn, ("SET client_min_messages = warning; DROP SCHEMA IF EXISTS " + schema + " CASCADE").c_str()));
  }
  PQfinish(conn);
}

/** Runs `text` directly on a test store's database, as an older gateway version would have written it: the
 *  PostgreSQL `schema` on `pg_url` when `pg_url` is not empty, else the SQLite file `sqlite_path`. Returns the first
 *  cell of its result ("" for no row or NULL), or "error". */
inline std::string rawTestStoreSql(const std::string& pg_url, const std::string& schema,
                                   const std::filesystem::path& sqlite_path, const std::string& text) {
  std::string out;
  if (!pg_url.empty()) {
    PGconn* conn = PQconnectdb(pg_url.c_str());
    PGresult* r = PQexec(conn, ("SET search_path TO " + schema + "; " + text).c_str());
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
    else if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) out = "error";
    PQclear(r);
    PQfinish(conn);
    return out;
  }
  sqlite3* db = nullptr;
  sqlite3_open(sqlite_path.string().c_str(), &db);
  auto first_cell = [](void* o, int, char** v, char**) {
    if (static_cast<std::string*>(o)->empty() && v[0]) *static_cast<std::string*>(o) = v[0];
    return 0;
  };
  if (sqlite3_exec(db, text.c_str(), first_cell, &out, nullptr) != SQLITE_OK) out = "error";
  sqlite3_close(db);
  return out;
}

}  // namespace planbro::testing
