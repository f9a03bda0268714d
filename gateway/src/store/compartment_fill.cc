#include "compartment_fill.h"

#include <string>
#include <vector>

#include "planbro/gateway/store/patient_compartment.h"

namespace planbro::gateway::store::internal {
namespace {

void appendJsonString(std::string& out, std::string_view s) {
  // Parameter codes are plain ASCII identifiers: no escaping needed, but refuse to build bad JSON anyway.
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

struct Computed {
  std::string id;
  int64_t version = 0;
  std::string patient;
};

}  // namespace

Result<int64_t> fillPatientCompartments(SqlConnection& conn, const Dialect& dialect, size_t batch) {
  // The one Patient id of the resource's compartment rows, or NULL for none or several; the head's version in the
  // same statement, so the pair is one consistent snapshot.
  const std::string select =
      "SELECT r.res_id, r.version, (SELECT CASE WHEN COUNT(DISTINCT s.ref_id) = 1 THEN MIN(s.ref_id) END "
      "FROM search_index s WHERE s.res_type = r.res_type AND s.res_id = r.res_id AND s.kind = 4 AND "
      "s.ref_type = 'Patient' AND s.text_value = '' AND s.ref_id <> '' AND s.param IN (" +
      std::string(dialect.json_values) +
      ")) FROM resource r WHERE r.res_type = ? AND r.res_id > ? AND r.deleted = 0 AND r.compartment_version = 0 "
      "ORDER BY r.res_id LIMIT ?";
  const std::string_view update =
      "UPDATE resource SET patient_compartment = ?, compartment_version = ? WHERE res_type = ? AND res_id = ? AND "
      "version = ? AND compartment_version = 0";
  int64_t set = 0;
  for (std::string_view type : patientCompartmentTypes()) {
    std::string params = "[";
    bool first = true;
    for (std::string_view p : patientCompartmentParams(type)) {
      if (!first) params += ',';
      first = false;
      appendJsonString(params, p);
    }
    params += ']';
    std::string after;
    for (;;) {
      RETURN_IF_ERROR(conn.execScript(dialect.begin_write));
      auto one = [&]() -> Result<size_t> {
        const SqlParam select_params[] = {std::string_view(params), type, std::string_view(after),
                                          static_cast<int64_t>(batch)};
        ASSIGN_OR_RETURN(SqlResult rows, conn.exec(select, select_params));
        std::vector<Computed> computed;
        for (SqlRow& row : rows.rows) {
          if (row.isNull(2)) continue;
          computed.push_back({row.text(0), row.integer(1), std::move(row.text(2))});
        }
        if (!rows.rows.empty()) after = rows.rows.back().text(0);
        for (const Computed& c : computed) {
          const SqlParam update_params[] = {std::string_view(c.patient), c.version, type, std::string_view(c.id),
                                            c.version};
          ASSIGN_OR_RETURN(SqlResult u, conn.exec(update, update_params));
          set += u.affected;
        }
        return rows.rows.size();
      };
      Result<size_t> done = one();
      if (!done.isOk()) {
        (void)conn.execScript("ROLLBACK");
        return done.status();
      }
      RETURN_IF_ERROR(conn.execScript("COMMIT"));
      if (*done < batch) break;
    }
  }
  return set;
}

}  // namespace planbro::gateway::store::internal
