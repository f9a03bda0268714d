#pragma once
// Schema migrations written once for both engines (the engine files hold the ones that differ in SQL).

#include <string_view>

namespace planbro::gateway::store::internal {

// Schema version 3, the same SQL in both engines. Each value index is partial, one per kind of index row, so a
// row is written to one value index (and the per-resource one), not to all of them. Each ends in res_id, so a search
// driven by one equality predicate reads its matches in id order (the page order) without sorting them all. The
// per-resource index leads with res_id and adds (param, kind): checking a further predicate on one match probes
// that resource's few rows, and SQLite's planner (no statistics) never takes it to scan a whole type in id order
// instead of seeking a value index. Kind codes are IndexValueKind: 0 string, 1 token, 2 date, 3 number (no value index), 4 reference, 5 uri.
// Queries must name the kind as a literal (`kind = 1`), or neither engine can prove a partial index applies.
inline constexpr std::string_view kSchemaV3SearchIndexOrder = R"sql(
DROP INDEX search_index_resource;
CREATE INDEX search_index_resource ON search_index (res_id, res_type, param, kind);
DROP INDEX search_index_token;
DROP INDEX search_index_text;
DROP INDEX search_index_reference;
DROP INDEX search_index_date;
CREATE INDEX search_index_token ON search_index (res_type, param, token_code, token_system, res_id) WHERE kind = 1;
CREATE INDEX search_index_string ON search_index (res_type, param, text_value, res_id) WHERE kind = 0;
CREATE INDEX search_index_uri ON search_index (res_type, param, text_value, res_id) WHERE kind = 5;
CREATE INDEX search_index_reference ON search_index (res_type, param, ref_id, ref_type, text_value, res_id) WHERE kind = 4;
CREATE INDEX search_index_date ON search_index (res_type, param, date_low, date_high, res_id) WHERE kind = 2;
)sql";

// Schema version 5, the same SQL in both engines: the dispatcher's consumer state (store/dispatch_state.h). A
// partition row per subscriber and partition (position, lease), a node row per live dispatcher node (fair share of
// leases), and a delivery row per event that failed at least once (status: 0 retrying, 1 dead, 2 redelivery
// requested). Timestamps are microseconds like everywhere else. IF NOT EXISTS: the step is safe to run again on a
// database whose version row was set back (the version-4 migration test does that).
inline constexpr std::string_view kSchemaV5DispatchState = R"sql(
CREATE TABLE IF NOT EXISTS dispatch_partition (
  subscriber TEXT NOT NULL,
  part BIGINT NOT NULL,
  position BIGINT NOT NULL,
  lease_owner TEXT NOT NULL,
  lease_expires BIGINT NOT NULL,
  PRIMARY KEY (subscriber, part)
);
CREATE TABLE IF NOT EXISTS dispatch_node (
  owner TEXT NOT NULL PRIMARY KEY,
  seen BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS dispatch_delivery (
  subscriber TEXT NOT NULL,
  position BIGINT NOT NULL,
  part BIGINT NOT NULL,
  attempts BIGINT NOT NULL,
  first_attempt BIGINT NOT NULL,
  next_attempt BIGINT NOT NULL,
  status BIGINT NOT NULL,
  last_error TEXT NOT NULL,
  PRIMARY KEY (subscriber, position)
);
CREATE INDEX IF NOT EXISTS dispatch_delivery_status ON dispatch_delivery (subscriber, status, position);
CREATE INDEX IF NOT EXISTS dispatch_delivery_partition ON dispatch_delivery (subscriber, part, position);
)sql";

// Schema version 6, the same SQL in both engines: one-time claims with an expiry (store/replay_ledger.h), the DPoP
// `jti` replay cache every node on one database shares. The primary key makes a claim atomic across nodes; the
// expiry index lets a purge take the oldest expired claims in bounded batches.
inline constexpr std::string_view kSchemaV6ReplayClaims = R"sql(
CREATE TABLE IF NOT EXISTS replay_claim (
  claim_key TEXT NOT NULL PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS replay_claim_expiry ON replay_claim (expires_at);
)sql";

// Schema version 7, the same SQL in both engines: `_id` and `_lastUpdated` are answered from the resource head's
// res_id and last_updated (index_query_sql.h answeredFromHead), so their rows, and the presence rows version 4
// derived for them, go. A write then inserts two index rows fewer, each a row, a per-resource index entry and a
// value-index entry.
inline constexpr std::string_view kSchemaV7HeadAnswersIdAndLastUpdated = R"sql(
DELETE FROM search_index WHERE (param = '_id' AND kind = 1) OR (param = '_lastUpdated' AND kind = 2)
  OR param = '_id:present' OR param = '_lastUpdated:present';
)sql";

}  // namespace planbro::gateway::store::internal
