// The PostgreSQL engine: several gateway processes share one database. READ COMMITTED; a writer locks the head row
// it changes (SELECT ... FOR UPDATE), unique constraints decide races on new ids and business keys, and commits that
// carry outbox events are ordered by a transaction-scoped advisory lock (see docs/store.md).
//
// Parameters and results travel in binary format: no escaping, no text parsing of numbers or bytea.
#include <libpq-fe.h>

#include <bit>
#include <cstdlib>
#include <cstring>
#include <string>

#include "shared_schema.h"
#include "compartment_fill.h"
#include "sql_connection.h"
#include "statement_cache.h"

namespace planbro::gateway::store {
namespace {

using internal::Blob;
using internal::SqlParam;
using internal::SqlResult;
using internal::SqlRow;

// pg_type OIDs (stable, from pg_type.dat).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;

// Arbitrary fixed advisory-lock keys: one for schema migration, one for the outbox horizon. Writers hold the
// outbox key shared from their outbox insert until their commit ends; a reader takes it exclusively for a moment,
// which waits out every transaction that may hold an unfinished outbox position (see docs/store.md).
constexpr internal::Dialect kPostgresDialect{"postgresql", "BEGIN", " FOR UPDATE",
                                             "SELECT pg_advisory_xact_lock_shared(7215104735202)",
                                             "SELECT pg_advisory_xact_lock(7215104735202)", "INSERT",
                                             "SELECT json_array_elements_text(CAST(? AS json))",
                                             "SELECT e->>0, e->>1 FROM json_array_elements(CAST(? AS json)) e",
                                             " FOR UPDATE SKIP LOCKED"};
constexpr std::string_view kMigrationLock = "SELECT pg_advisory_xact_lock(7215104735201)";

// Besides the byte bound (PostgresStoreOptions::statement_cache_bytes), at most this many statements per connection.
constexpr size_t kMaxCachedStatements = 512;
// The server's memory for a prepared statement is not visible from the client: each is weighed as its text plus
// this (a parsed and planned statement of the store's size takes a few kilobytes in the backend).
constexpr size_t kStatementOverheadBytes = 4096;

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE resource (
  res_type TEXT COLLATE "C" NOT NULL,
  res_id TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  deleted SMALLINT NOT NULL,
  last_updated BIGINT NOT NULL,
  content_hash BYTEA NOT NULL,
  PRIMARY KEY (res_type, res_id)
);
CREATE TABLE resource_version (
  res_type TEXT COLLATE "C" NOT NULL,
  res_id TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  last_updated BIGINT NOT NULL,
  deleted SMALLINT NOT NULL,
  actor TEXT NOT NULL,
  source_system TEXT NOT NULL,
  content BYTEA NOT NULL,
  PRIMARY KEY (res_type, res_id, version)
);
CREATE INDEX resource_version_system_history ON resource_version (last_updated, res_type, res_id, version);
CREATE INDEX resource_version_type_history ON resource_version (res_type, last_updated, res_id, version);
CREATE TABLE business_key (
  res_type TEXT COLLATE "C" NOT NULL,
  key_kind TEXT COLLATE "C" NOT NULL,
  key_value TEXT COLLATE "C" NOT NULL,
  res_id TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (res_type, key_kind, key_value)
);
CREATE INDEX business_key_owner ON business_key (res_type, res_id);
CREATE TABLE search_index (
  res_type TEXT COLLATE "C" NOT NULL,
  res_id TEXT COLLATE "C" NOT NULL,
  param TEXT COLLATE "C" NOT NULL,
  kind SMALLINT NOT NULL,
  text_value TEXT COLLATE "C" NOT NULL,
  token_system TEXT COLLATE "C" NOT NULL,
  token_code TEXT COLLATE "C" NOT NULL,
  date_low BIGINT NOT NULL,
  date_high BIGINT NOT NULL,
  number_value DOUBLE PRECISION NOT NULL,
  ref_type TEXT COLLATE "C" NOT NULL,
  ref_id TEXT COLLATE "C" NOT NULL
);
CREATE INDEX search_index_resource ON search_index (res_type, res_id);
CREATE INDEX search_index_token ON search_index (res_type, param, token_code, token_system);
CREATE INDEX search_index_text ON search_index (res_type, param, text_value);
CREATE INDEX search_index_reference ON search_index (res_type, param, ref_id, ref_type);
CREATE INDEX search_index_date ON search_index (res_type, param, date_low, date_high);
CREATE TABLE outbox (
  position BIGSERIAL PRIMARY KEY,
  res_type TEXT COLLATE "C" NOT NULL,
  res_id TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  change_kind SMALLINT NOT NULL,
  source_system TEXT NOT NULL,
  actor TEXT NOT NULL,
  occurred_at BIGINT NOT NULL
);
)sql";

// Version 2: deployment secrets (ResourceStore::serverSecret).
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE server_secret (
  name TEXT COLLATE "C" PRIMARY KEY,
  secret BYTEA NOT NULL
);
)sql";


// Version 4: a presence row (`<param>:present`, token "1") per parameter with any value, so `:missing` no longer
// depends on searchable values (docs/search.md). Rows of older versions are derived from the index rows a resource
// has; an element with none (a reference to a contained resource only) gets its row when the resource is written.
constexpr std::string_view kSchemaV4PresenceRows = R"sql(
DELETE FROM search_index WHERE param LIKE '%:present';
INSERT INTO search_index (res_type, res_id, param, kind, text_value, token_system, token_code, date_low, date_high,
                          number_value, ref_type, ref_id)
SELECT DISTINCT res_type, res_id, split_part(param, ':', 1) || ':present', 1, '', '', '1', 0, 0, 0, '', ''
FROM search_index;
)sql";

// Version 8: the patient compartment on the head row (docs/store.md). NULL and version 0 mean "not computed": a
// narrowed search then probes the index rows as before, so the step is correct at once; fillPatientCompartments
// then computes the column for existing resources in bounded batches. A constant default adds the column without
// rewriting the table.
constexpr std::string_view kSchemaV8PatientCompartment = R"sql(
ALTER TABLE resource ADD COLUMN IF NOT EXISTS patient_compartment TEXT COLLATE "C";
ALTER TABLE resource ADD COLUMN IF NOT EXISTS compartment_version BIGINT NOT NULL DEFAULT 0;
)sql";

constexpr std::string_view kMigrations[] = {kSchemaV1, kSchemaV2, internal::kSchemaV3SearchIndexOrder,
                                            kSchemaV4PresenceRows, internal::kSchemaV5DispatchState,
                                            internal::kSchemaV6ReplayClaims,
                                            internal::kSchemaV7HeadAnswersIdAndLastUpdated,
                                            kSchemaV8PatientCompartment};

// Network byte order by shifting, independent of the host's endianness.
template <typename T>
T fromBigEndian(const char* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | static_cast<unsigned char>(p[i]));
  return v;
}

void appendBigEndian(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// '?' placeholders become $1, $2, ...; the store's SQL has no '?' inside literals.
std::string numberPlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  for (char c : sql) {
    if (c == '?') {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

bool validSchemaName(std::string_view s) {
  if (s.empty() || s.size() > 63 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

class PgConnection final : public internal::SqlConnection {
 public:
  PgConnection(PGconn* conn, size_t cache_bytes) : conn_(conn), statements_(cache_bytes, kMaxCachedStatements) {}
  ~PgConnection() override { PQfinish(conn_); }

  static Result<std::unique_ptr<internal::SqlConnection>> open(const PostgresStoreOptions& options) {
    PGconn* raw = PQconnectdb(options.conninfo.c_str());
    if (raw == nullptr) return unavailable("PostgreSQL: out of memory creating a connection");
    auto conn = std::make_unique<PgConnection>(raw, options.statement_cache_bytes);
    if (PQstatus(raw) != CONNECTION_OK) {
      return unavailable(std::string("PostgreSQL: cannot connect: ") + PQerrorMessage(raw));
    }
    // Notices (e.g. "relation already exists, skipping") would go to stderr through libpq's default processor.
    std::string setup = "SET client_encoding = 'UTF8'; SET client_min_messages = warning";
    if (!options.schema.empty()) setup += "; SET search_path TO " + options.schema;
    RETURN_IF_ERROR(conn->execScript(setup));
    return std::unique_ptr<internal::SqlConnection>(std::move(conn));
  }

  Result<SqlResult> exec(std::string_view sql, std::span<const SqlParam> params) override {
    retryable_ = false;
    ASSIGN_OR_RETURN(const std::string* name, prepare(sql, params));
    // All parameters in binary format: text as its bytes, integers and doubles big-endian.
    std::string scratch;  // numeric parameters' bytes
    scratch.reserve(params.size() * 8);
    std::vector<size_t> offsets(params.size(), std::string::npos);
    for (size_t i = 0; i < params.size(); ++i) {
      if (const auto* v = std::get_if<int64_t>(&params[i])) {
        offsets[i] = scratch.size();
        appendBigEndian(scratch, static_cast<uint64_t>(*v));
      } else if (const auto* d = std::get_if<double>(&params[i])) {
        offsets[i] = scratch.size();
        appendBigEndian(scratch, std::bit_cast<uint64_t>(*d));
      }
    }
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size());
    std::vector<int> formats(params.size(), 1);
    static constexpr char kEmpty[] = "";
    for (size_t i = 0; i < params.size(); ++i) {
      const SqlParam& p = params[i];
      if (std::holds_alternative<std::nullptr_t>(p)) {
        values[i] = nullptr;
      } else if (offsets[i] != std::string::npos) {
        values[i] = scratch.data() + offsets[i];
        lengths[i] = 8;
      } else {
        std::string_view bytes = std::holds_alternative<Blob>(p) ? std::get<Blob>(p).bytes : std::get<std::string_view>(p);
        values[i] = bytes.empty() ? kEmpty : bytes.data();  // a null pointer would mean SQL NULL
        lengths[i] = static_cast<int>(bytes.size());
      }
    }
    PGresult* res = PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()), values.data(),
                                   lengths.data(), formats.data(), 1);
    return collect(res, sql);
  }

  Status execScript(std::string_view sql) override {
    retryable_ = false;
    PGresult* res = PQexec(conn_, std::string(sql).c_str());
    auto r = collect(res, sql);
    return r.status();
  }

  bool lastErrorRetryable() const override { return retryable_; }
  bool inTransaction() const override { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }
  bool healthy() const override { return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE; }
  size_t cachedStatementBytes() const override { return statements_.bytes(); }

 private:
  Result<const std::string*> prepare(std::string_view sql, std::span<const SqlParam> params) {
    if (const std::string* name = statements_.find(sql)) return name;
    std::vector<Oid> types(params.size(), 0);
    for (size_t i = 0; i < params.size(); ++i) {
      const SqlParam& p = params[i];
      if (std::holds_alternative<int64_t>(p)) types[i] = kInt8Oid;
      else if (std::holds_alternative<double>(p)) types[i] = kFloat8Oid;
      else if (std::holds_alternative<std::string_view>(p)) types[i] = kTextOid;
      else if (std::holds_alternative<Blob>(p)) types[i] = kByteaOid;
    }
    std::string name = "planbro_" + std::to_string(++statement_counter_);
    PGresult* res = PQprepare(conn_, name.c_str(), numberPlaceholders(sql).c_str(), static_cast<int>(types.size()),
                              types.data());
    auto r = collect(res, sql);
    if (!r.isOk()) return r.status();
    // An evicted statement is deallocated on the server too. DEALLOCATE is allowed inside a transaction, but in
    // an aborted one it fails: then the name is left behind (the session ends it) and dropped from the cache.
    const std::string& cached = statements_.insert(std::string(sql), std::move(name), sql.size() + kStatementOverheadBytes,
                                                   [this](std::string& old) {
                                                     PQclear(PQexec(conn_, ("DEALLOCATE " + old).c_str()));
                                                   });
    return &cached;
  }

  // Takes ownership of `res`, turns it into rows or a Status.
  Result<SqlResult> collect(PGresult* res, std::string_view sql) {
    struct Clear {
      PGresult* r;
      ~Clear() { PQclear(r); }
    } clear{res};
    if (res == nullptr) {
      return unavailable(std::string("PostgreSQL: ") + PQerrorMessage(conn_));
    }
    const ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return error(res, sql);
    SqlResult out;
    const char* affected = PQcmdTuples(res);
    if (affected != nullptr && *affected != '\0') out.affected = std::strtoll(affected, nullptr, 10);
    const int rows = PQntuples(res);
    const int cols = PQnfields(res);
    out.rows.resize(static_cast<size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      SqlRow& row = out.rows[static_cast<size_t>(r)];
      row.cells.reserve(static_cast<size_t>(cols));
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(res, r, c)) {
          row.cells.emplace_back(std::monostate{});
          continue;
        }
        const char* v = PQgetvalue(res, r, c);
        const int len = PQgetlength(res, r, c);
        const bool binary = PQfformat(res, c) == 1;
        const Oid type = PQftype(res, c);
        if (!binary) {
          row.cells.emplace_back(std::string(v, static_cast<size_t>(len)));
        } else if (type == kInt8Oid && len == 8) {
          row.cells.emplace_back(static_cast<int64_t>(fromBigEndian<uint64_t>(v)));
        } else if (type == kInt4Oid && len == 4) {
          row.cells.emplace_back(static_cast<int64_t>(static_cast<int32_t>(fromBigEndian<uint32_t>(v))));
        } else if (type == kInt2Oid && len == 2) {
          row.cells.emplace_back(static_cast<int64_t>(static_cast<int16_t>(fromBigEndian<uint16_t>(v))));
        } else if (type == kBoolOid && len == 1) {
          row.cells.emplace_back(static_cast<int64_t>(v[0] != 0));
        } else if (type == kFloat8Oid && len == 8) {
          row.cells.emplace_back(std::bit_cast<double>(fromBigEndian<uint64_t>(v)));
        } else if (type == kFloat4Oid && len == 4) {
          row.cells.emplace_back(static_cast<double>(std::bit_cast<float>(fromBigEndian<uint32_t>(v))));
        } else {
          row.cells.emplace_back(std::string(v, static_cast<size_t>(len)));  // text, bytea: the bytes themselves
        }
      }
    }
    return out;
  }

  Status error(PGresult* res, std::string_view sql) {
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const std::string sqlstate = state ? state : "";
    const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    // No SQL in the message: it may reach a client (the search layer logs the detail and answers generically).
    (void)sql;
    const std::string message = "PostgreSQL " + sqlstate + ": " + (primary ? primary : PQerrorMessage(conn_));
    if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03") {
      retryable_ = true;  // serialization failure, deadlock, lock not available
      return unavailable(message);
    }
    if (sqlstate == "23505") return {StatusCode::kAlreadyExists, message};
    if (sqlstate.starts_with("08") || sqlstate.starts_with("57") || sqlstate.starts_with("53") ||
        PQstatus(conn_) != CONNECTION_OK) {
      return unavailable(message);  // connection, shutdown, resources
    }
    return internalError(message);
  }

  PGconn* conn_;
  internal::StatementCache<std::string> statements_;  // SQL text → prepared statement name
  uint64_t statement_counter_ = 0;
  bool retryable_ = false;
};

}  // namespace

Result<std::unique_ptr<ResourceStore>> openPostgresStore(const PostgresStoreOptions& options) {
  if (!options.schema.empty() && !validSchemaName(options.schema)) {
    return invalidArgument("PostgreSQL store: schema must match [a-z_][a-z0-9_]{0,62} (got '" + options.schema + "')");
  }
  if (PQisthreadsafe() == 0) return internalError("libpq was built without thread support");
  {
    ASSIGN_OR_RETURN(auto conn, PgConnection::open(options));
    std::string lock(kMigrationLock);
    if (!options.schema.empty()) lock += "; CREATE SCHEMA IF NOT EXISTS " + options.schema;
    int64_t found = 0;
    RETURN_IF_ERROR(internal::migrateSchema(*conn, kPostgresDialect, lock, kMigrations, &found));
    // The node that migrated fills the column; the other nodes already serve (NULL answers by the index rows).
    if (found > 0 && found < 8) RETURN_IF_ERROR(internal::fillPatientCompartments(*conn, kPostgresDialect).status());
  }
  auto pool = std::make_unique<internal::ConnectionPool>(
      options.pool_size, options.acquire_timeout, [options] { return PgConnection::open(options); });
  return internal::makeSqlStore(kPostgresDialect, std::move(pool), nullptr, options.clock);
}

}  // namespace planbro::gateway::store
