// The search plan (docs/search.md, "The store's query plan"). When some group can drive — one positive predicate,
// or one list of values of one parameter — the query starts from that group's index entries and checks the other
// groups per match, so a search costs O(matches of that group), not O(resources of the type). CROSS JOIN fixes
// that join order in SQLite (its planner has no statistics here); PostgreSQL plans it with its own. Without such a
// group it walks the type's resources in id order.
#include "index_query_sql.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "planbro/gateway/store/patient_compartment.h"

namespace planbro::gateway::store::internal {
namespace {

int64_t kindCode(IndexValueKind kind) { return static_cast<int64_t>(kind); }

// Which head column answers a predicate (answeredFromHead), if any.
enum class HeadColumn { kNone, kId, kLastUpdated };

HeadColumn headColumn(const IndexPredicate& p) {
  if (!answeredFromHead(p.param, p.kind)) return HeadColumn::kNone;
  return p.kind == IndexValueKind::kToken ? HeadColumn::kId : HeadColumn::kLastUpdated;
}

bool hasDateBound(const IndexPredicate& p) { return p.low_ge || p.low_le || p.high_ge || p.high_le; }

// LIKE pattern with '!' as the escape character (no backslash: its meaning differs between engines' settings).
std::string likeEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '!' || c == '%' || c == '_') out.push_back('!');
    out.push_back(c);
  }
  return out;
}

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

// Predicates of one shape in one group differ only in the value(s) a list holds.
enum class ListShape { kNone, kTokenCodes, kTokenPairs, kRefIds, kRefPairs, kRefTexts, kTexts };

ListShape listShape(const IndexPredicate& p) {
  if (p.negate || !p.presence_param.empty()) return ListShape::kNone;
  switch (p.kind) {
    case IndexValueKind::kToken:
      if (!p.code) return ListShape::kNone;
      return p.system ? ListShape::kTokenPairs : ListShape::kTokenCodes;
    case IndexValueKind::kReference:
      if (!p.text.empty()) return ListShape::kRefTexts;
      return p.ref_type ? ListShape::kRefPairs : ListShape::kRefIds;
    case IndexValueKind::kString:
    case IndexValueKind::kUri:
      return p.match == IndexPredicate::Match::kExact ? ListShape::kTexts : ListShape::kNone;
    case IndexValueKind::kDate:
    case IndexValueKind::kNumber:
      return ListShape::kNone;
  }
  return ListShape::kNone;
}

struct ValueList {
  ListShape shape = ListShape::kNone;
  std::vector<const IndexPredicate*> members;
};

struct GroupPlan {
  std::vector<ValueList> lists;                   // two or more values each
  std::vector<const IndexPredicate*> singles;     // everything else, one predicate each
};

GroupPlan planGroup(const std::vector<IndexPredicate>& group) {
  GroupPlan plan;
  std::map<std::tuple<std::string_view, IndexValueKind, ListShape>, size_t> by_shape;
  for (const IndexPredicate& p : group) {
    const ListShape shape = listShape(p);
    if (shape == ListShape::kNone) {
      plan.singles.push_back(&p);
      continue;
    }
    auto [it, inserted] = by_shape.emplace(std::make_tuple(std::string_view(p.param), p.kind, shape), plan.lists.size());
    if (inserted) plan.lists.push_back(ValueList{shape, {}});
    plan.lists[it->second].members.push_back(&p);
  }
  // A list of one stays a plain equality, which both planners estimate better than an IN.
  std::vector<ValueList> lists;
  for (ValueList& l : plan.lists) {
    if (l.members.size() == 1) {
      plan.singles.push_back(l.members[0]);
    } else {
      lists.push_back(std::move(l));
    }
  }
  plan.lists = std::move(lists);
  return plan;
}

bool hasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

Status checkPredicate(const IndexPredicate& p) {
  if (p.param.empty()) return invalidArgument("index predicate without a parameter code");
  // SQLite's LIKE and several C interfaces end a text at NUL: "%\0x%" would match everything.
  if (hasNul(p.param) || hasNul(p.presence_param) || hasNul(p.text) || hasNul(p.ref_id) || (p.code && hasNul(*p.code)) ||
      (p.system && hasNul(*p.system)) || (p.ref_type && hasNul(*p.ref_type))) {
    return invalidArgument("search values must not contain NUL characters");
  }
  return Status::ok();
}

// How well a predicate drives a search from the index, lower first: a reference or an exact token or text picks
// few rows by equality; a prefix or a bounded range fewer than a bare system or a substring, which read every row
// of the parameter. Ties keep the request's order.
int drivingRank(const IndexPredicate& p) {
  switch (p.kind) {
    case IndexValueKind::kReference: return 0;
    case IndexValueKind::kToken: return p.code ? 1 : 4;
    case IndexValueKind::kString:
    case IndexValueKind::kUri:
      if (p.match == IndexPredicate::Match::kExact) return 1;
      return p.match == IndexPredicate::Match::kPrefix && !p.text.empty() ? 2 : 5;
    case IndexValueKind::kDate: return 3;
    case IndexValueKind::kNumber: return 5;  // no value index
  }
  return 5;
}

// The rank of a group as the index driver (a list ranks just after one equality of its kind), or -1 when it
// cannot drive from the index (a group with a head predicate never does: those have no rows).
int groupRank(const GroupPlan& g) {
  auto onHead = [](const IndexPredicate* p) { return headColumn(*p) != HeadColumn::kNone; };
  if (std::any_of(g.singles.begin(), g.singles.end(), onHead)) return -1;
  for (const ValueList& l : g.lists) {
    if (std::any_of(l.members.begin(), l.members.end(), onHead)) return -1;
  }
  if (g.lists.size() == 1 && g.singles.empty()) return 2 * drivingRank(*g.lists[0].members[0]) + 1;
  if (g.lists.empty() && g.singles.size() == 1 && !g.singles[0]->negate && g.singles[0]->presence_param.empty()) {
    return 2 * drivingRank(*g.singles[0]);
  }
  return -1;
}

// A group of `_id` values only (positive, each with a code): the head's primary key finds its few resources, so
// it beats any index driver.
bool idGroup(const GroupPlan& g) {
  auto isId = [](const IndexPredicate* p) {
    return headColumn(*p) == HeadColumn::kId && !p->negate && p->presence_param.empty() && p->code;
  };
  if (!std::all_of(g.singles.begin(), g.singles.end(), isId)) return false;
  for (const ValueList& l : g.lists) {
    if (!std::all_of(l.members.begin(), l.members.end(), isId)) return false;
  }
  return !g.singles.empty() || !g.lists.empty();
}

// A group that is one bounded `_lastUpdated` range: it may drive from the version history's (type, last_updated)
// index, ranked as a date predicate would be from the date index.
bool lastUpdatedGroup(const GroupPlan& g) {
  if (!g.lists.empty() || g.singles.size() != 1) return false;
  const IndexPredicate& p = *g.singles[0];
  return headColumn(p) == HeadColumn::kLastUpdated && !p.negate && p.presence_param.empty() && hasDateBound(p);
}

class Builder {
 public:
  Builder(const Dialect& dialect, IndexQuerySql& out) : dialect_(dialect), out_(out) {}

  // " AND <alias>.param = ? AND <alias>.kind = <code>": the kind is a literal so that the partial value index of
  // that kind can serve the query (shared_schema.h).
  void paramAndKind(const IndexPredicate& p, const std::string& a) {
    out_.sql += " AND " + a + ".param = ? AND " + a + ".kind = " + std::to_string(kindCode(p.kind));
    out_.params.emplace_back(std::string_view(p.param));
  }

  void listMatch(const ValueList& list, const std::string& a) {
    const IndexPredicate& first = *list.members[0];
    paramAndKind(first, a);
    std::string json = "[";
    const bool pairs = list.shape == ListShape::kTokenPairs || list.shape == ListShape::kRefPairs;
    for (size_t i = 0; i < list.members.size(); ++i) {
      const IndexPredicate& p = *list.members[i];
      if (i > 0) json += ',';
      switch (list.shape) {
        case ListShape::kTokenCodes: appendJsonString(json, *p.code); break;
        case ListShape::kTokenPairs:
          json += '[';
          appendJsonString(json, *p.code);
          json += ',';
          appendJsonString(json, *p.system);
          json += ']';
          break;
        case ListShape::kRefIds: appendJsonString(json, p.ref_id); break;
        case ListShape::kRefPairs:
          json += '[';
          appendJsonString(json, p.ref_id);
          json += ',';
          appendJsonString(json, *p.ref_type);
          json += ']';
          break;
        case ListShape::kRefTexts:
        case ListShape::kTexts: appendJsonString(json, p.text); break;
        case ListShape::kNone: break;
      }
    }
    json += ']';
    const std::string in = std::string(" IN (") + std::string(pairs ? dialect_.json_pairs : dialect_.json_values) + ")";
    switch (list.shape) {
      case ListShape::kTokenCodes: out_.sql += " AND " + a + ".token_code" + in; break;
      case ListShape::kTokenPairs: out_.sql += " AND (" + a + ".token_code, " + a + ".token_system)" + in; break;
      case ListShape::kRefIds: out_.sql += " AND " + a + ".ref_id" + in; break;
      case ListShape::kRefPairs:
        out_.sql += " AND (" + a + ".ref_id, " + a + ".ref_type)" + in + " AND " + a + ".text_value = ''";
        break;
      case ListShape::kRefTexts:
        out_.sql += " AND " + a + ".ref_id = '' AND " + a + ".ref_type = '' AND " + a + ".text_value" + in;
        break;
      case ListShape::kTexts: out_.sql += " AND " + a + ".text_value" + in; break;
      case ListShape::kNone: break;
    }
    out_.owned.push_back(std::move(json));
    out_.params.emplace_back(std::string_view(out_.owned.back()));
  }

  // Appends the parameter, kind and value conditions of one predicate on the rows of `alias`.
  void valueMatch(const IndexPredicate& p, const std::string& a) {
    if (!p.presence_param.empty()) {
      // Any value row of the parameter, or its presence row: the resource's own index (res_id, res_type, param,
      // kind) answers both terms of the OR in a probe of that resource's rows.
      out_.sql += " AND ((" + a + ".param = ? AND " + a + ".kind = " + std::to_string(kindCode(p.kind)) + ") OR (" +
                  a + ".param = ? AND " + a + ".kind = " + std::to_string(kindCode(IndexValueKind::kToken)) + " AND " +
                  a + ".token_code = '1'))";
      out_.params.emplace_back(std::string_view(p.param));
      out_.params.emplace_back(std::string_view(p.presence_param));
      return;
    }
    paramAndKind(p, a);
    auto textMatch = [&](const std::string& column, const std::string& value) {
      switch (p.match) {
        case IndexPredicate::Match::kExact:
          out_.sql += " AND " + column + " = ?";
          out_.params.emplace_back(std::string_view(value));
          return;
        case IndexPredicate::Match::kPrefix: {
          // A byte range, not LIKE: both engines then seek the value index (neither uses an index for a LIKE
          // prefix under these collations), and it matches byte for byte in both.
          std::string upper = value;
          while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xFF) upper.pop_back();
          if (upper.empty()) return;  // every value starts with ""
          upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
          out_.owned.push_back(std::move(upper));
          out_.sql += " AND " + column + " >= ? AND " + column + " < ?";
          out_.params.emplace_back(std::string_view(value));
          out_.params.emplace_back(std::string_view(out_.owned.back()));
          return;
        }
        case IndexPredicate::Match::kContains:
          out_.owned.push_back("%" + likeEscape(value) + "%");
          out_.sql += " AND " + column + " LIKE ? ESCAPE '!'";
          out_.params.emplace_back(std::string_view(out_.owned.back()));
          return;
      }
    };
    auto bound = [&](const std::string& column, std::string_view op, const auto& value) {
      if (!value) return;
      out_.sql += " AND " + column + " " + std::string(op) + " ?";
      out_.params.emplace_back(*value);
    };
    switch (p.kind) {
      case IndexValueKind::kToken:
        if (p.code) {
          out_.sql += " AND " + a + ".token_code = ?";
          out_.params.emplace_back(std::string_view(*p.code));
        }
        if (p.system) {
          out_.sql += " AND " + a + ".token_system = ?";
          out_.params.emplace_back(std::string_view(*p.system));
        }
        break;
      case IndexValueKind::kString:
      case IndexValueKind::kUri:
        textMatch(a + ".text_value", p.text);
        break;
      case IndexValueKind::kReference:
        if (!p.text.empty()) {
          // A reference kept as text (an absolute URL) has no type and id: saying so lets the reference index
          // seek straight to the text.
          out_.sql += " AND " + a + ".ref_id = '' AND " + a + ".ref_type = '' AND " + a + ".text_value = ?";
          out_.params.emplace_back(std::string_view(p.text));
        } else {
          out_.sql += " AND " + a + ".ref_id = ?";
          out_.params.emplace_back(std::string_view(p.ref_id));
          if (p.ref_type) {
            // A reference kept as type and id has no text: with that said the index yields matches in id order.
            out_.sql += " AND " + a + ".ref_type = ? AND " + a + ".text_value = ''";
            out_.params.emplace_back(std::string_view(*p.ref_type));
          }
        }
        break;
      case IndexValueKind::kDate:
        bound(a + ".date_low", ">=", p.low_ge);
        bound(a + ".date_low", "<=", p.low_le);
        bound(a + ".date_high", ">=", p.high_ge);
        bound(a + ".date_high", "<=", p.high_le);
        break;
      case IndexValueKind::kNumber:
        bound(a + ".number_value", ">=", p.number_ge);
        bound(a + ".number_value", "<=", p.number_le);
        break;
    }
  }

  // A head predicate as a condition on the head (or version) row `a`, which has res_id and last_updated: the row
  // the index once held for it had token_code = res_id and token_system = '', or date_low = date_high =
  // last_updated, and the condition is that row's match written on the columns.
  void headMatch(const IndexPredicate& p, const std::string& a) {
    std::string terms;
    auto term = [&](const std::string& t) {
      if (!terms.empty()) terms += " AND ";
      terms += t;
    };
    if (!p.presence_param.empty()) {
      // Every resource has an id and a last-updated time: present, never missing.
    } else if (headColumn(p) == HeadColumn::kId) {
      if (p.code) {
        term(a + ".res_id = ?");
        out_.params.emplace_back(std::string_view(*p.code));
      }
      if (p.system && !p.system->empty()) term("1 = 0");  // an id has no system
    } else {
      auto bound = [&](std::string_view op, const std::optional<int64_t>& value) {
        if (!value) return;
        term(a + ".last_updated " + std::string(op) + " ?");
        out_.params.emplace_back(*value);
      };
      bound(">=", p.low_ge);
      bound("<=", p.low_le);
      bound(">=", p.high_ge);
      bound("<=", p.high_le);
    }
    if (terms.empty()) terms = "1 = 1";
    out_.sql += (p.negate ? "NOT (" : "(") + terms + ")";
  }

  // A list of `_id` values (codes, or code|system pairs of which only those without a system can match) as one
  // IN over a JSON array, like the index lists.
  void headListMatch(const ValueList& list, const std::string& a) {
    std::string json = "[";
    bool any = false;
    for (const IndexPredicate* p : list.members) {
      if (p->system && !p->system->empty()) continue;
      if (any) json += ',';
      any = true;
      appendJsonString(json, *p->code);
    }
    json += ']';
    if (!any) {
      out_.sql += "(1 = 0)";
      return;
    }
    out_.sql += "(" + a + ".res_id IN (" + std::string(dialect_.json_values) + "))";
    out_.owned.push_back(std::move(json));
    out_.params.emplace_back(std::string_view(out_.owned.back()));
  }

  // One group as a condition on the resource row `r`: an OR of correlated EXISTS probes of that resource's rows
  // (and of conditions on the row itself for the parameters it answers).
  void groupCondition(const GroupPlan& g) {
    out_.sql += " AND ";
    groupExpr(g);
  }

  void groupExpr(const GroupPlan& g) {
    out_.sql += "(";
    bool first = true;
    auto next = [&] {
      if (!first) out_.sql += " OR ";
      first = false;
    };
    static const std::string kProbe =
        " (SELECT 1 FROM search_index s WHERE s.res_type = r.res_type AND s.res_id = r.res_id";
    for (const ValueList& l : g.lists) {
      next();
      if (headColumn(*l.members[0]) != HeadColumn::kNone) {
        headListMatch(l, "r");
        continue;
      }
      out_.sql += "EXISTS" + kProbe;
      listMatch(l, "s");
      out_.sql += ")";
    }
    for (const IndexPredicate* p : g.singles) {
      next();
      if (headColumn(*p) != HeadColumn::kNone) {
        headMatch(*p, "r");
        continue;
      }
      out_.sql += (p->negate ? "NOT EXISTS" : "EXISTS") + kProbe;
      valueMatch(*p, "s");
      out_.sql += ")";
    }
    out_.sql += ")";
  }

  // A patient-compartment group (compartmentPatients) as a condition on the head row `r`: its compartment column
  // where that was computed for the current version and names one patient; else the group's own index probes
  // (a resource of several patients, none, or written before schema 8 or by a writer that did not index it).
  void compartmentExpr(const GroupPlan& g, const std::vector<std::string_view>& patients) {
    out_.sql += "(CASE WHEN r.compartment_version = r.version AND r.patient_compartment IS NOT NULL THEN ";
    if (patients.size() == 1) {
      out_.sql += "r.patient_compartment = ?";
      out_.params.emplace_back(patients[0]);
    } else {
      std::string json = "[";
      for (size_t i = 0; i < patients.size(); ++i) {
        if (i > 0) json += ',';
        appendJsonString(json, patients[i]);
      }
      json += ']';
      out_.sql += "r.patient_compartment IN (" + std::string(dialect_.json_values) + ")";
      out_.owned.push_back(std::move(json));
      out_.params.emplace_back(std::string_view(out_.owned.back()));
    }
    out_.sql += " ELSE ";
    groupExpr(g);
    out_.sql += " END)";
  }

 private:
  const Dialect& dialect_;
  IndexQuerySql& out_;
};

}  // namespace

bool answeredFromHead(std::string_view param, IndexValueKind kind) {
  return (kind == IndexValueKind::kToken && param == "_id") ||
         (kind == IndexValueKind::kDate && param == "_lastUpdated");
}

std::vector<std::string_view> compartmentPatients(std::string_view type, const std::vector<IndexPredicate>& group) {
  const std::span<const std::string_view> params = patientCompartmentParams(type);
  if (params.empty() || group.empty()) return {};
  std::set<std::string_view> patients;
  std::set<std::pair<std::string_view, std::string_view>> pairs;
  for (const IndexPredicate& p : group) {
    const bool reference = p.kind == IndexValueKind::kReference && !p.negate && p.presence_param.empty() &&
                           p.text.empty() && p.ref_type && *p.ref_type == "Patient" && !p.ref_id.empty();
    if (!reference || std::find(params.begin(), params.end(), p.param) == params.end()) return {};
    patients.insert(p.ref_id);
    pairs.emplace(p.param, p.ref_id);
  }
  if (pairs.size() != params.size() * patients.size()) return {};  // not every parameter of every patient
  return {patients.begin(), patients.end()};
}

Status buildIndexQuerySql(const Dialect& dialect, const IndexQuery& q, IndexQuerySql& out, const IndexQueryPlan& plan) {
  std::vector<GroupPlan> plans;
  std::vector<std::vector<std::string_view>> compartments;  // per group: its patients when a compartment group
  plans.reserve(q.all_of.size());
  compartments.reserve(q.all_of.size());
  int driver = -1;
  int driver_rank = 0;
  bool by_id = false;
  int other_driver = -1;  // the group that is not a compartment group and would drive if none of those were there
  int other_rank = 0;
  for (const auto& group : q.all_of) {
    if (group.empty()) return invalidArgument("empty predicate group in index query");
    for (const IndexPredicate& p : group) RETURN_IF_ERROR(checkPredicate(p));
    plans.push_back(planGroup(group));
    compartments.push_back(compartmentPatients(q.type, group));
    const bool compartment = !compartments.back().empty();
    by_id = by_id || idGroup(plans.back());
    const int rank = lastUpdatedGroup(plans.back()) ? 2 * drivingRank(group[0]) : groupRank(plans.back());
    if (rank >= 0 && !compartment && (other_driver < 0 || rank < other_rank)) {
      other_driver = static_cast<int>(plans.size() - 1);
      other_rank = rank;
    }
    if (compartment && plan.compartment_on_row) continue;  // step one: the compartment is the selected column
    if (rank >= 0 && (driver < 0 || rank < driver_rank)) {
      driver = static_cast<int>(plans.size() - 1);
      driver_rank = rank;
    }
  }
  // An `_id` group is a condition on the head row's primary key in the walk below: no index driver beats it.
  if (by_id) driver = -1;
  const bool on_row = plan.compartment_on_row;
  if (on_row && driver < 0) return invalidArgument("the two-step compartment plan needs another group to drive");
  out.compartment_drives_over_another =
      !on_row && driver >= 0 && !compartments[static_cast<size_t>(driver)].empty() && other_driver >= 0;
  if (out.compartment_drives_over_another) {
    const IndexPredicate& p = q.all_of[static_cast<size_t>(other_driver)][0];
    out.two_step_shape = q.type + '\0' + p.param + '\0' + std::to_string(kindCode(p.kind));
  }
  Builder b(dialect, out);
  // Step one selects whether each candidate is in every compartment group, as a second column.
  auto selectHit = [&] {
    out.sql += ", CASE WHEN ";
    bool first = true;
    for (size_t i = 0; i < plans.size(); ++i) {
      if (compartments[i].empty()) continue;
      if (!first) out.sql += " AND ";
      first = false;
      b.compartmentExpr(plans[i], compartments[i]);
    }
    out.sql += " THEN 1 ELSE 0 END";
  };
  const bool by_versions = driver >= 0 && lastUpdatedGroup(plans[static_cast<size_t>(driver)]);
  if (by_versions) {
    // The current versions last updated in the range, from resource_version's (res_type, last_updated) index;
    // the head row says which version is current.
    out.sql = "SELECT v.res_id";
    if (on_row) selectHit();
    out.sql += " FROM resource_version v CROSS JOIN resource r WHERE v.res_type = ? AND ";
    out.params.emplace_back(std::string_view(q.type));
    b.headMatch(*plans[static_cast<size_t>(driver)].singles[0], "v");
    out.sql += " AND r.res_type = v.res_type AND r.res_id = v.res_id AND r.version = v.version AND r.deleted = 0";
    if (q.after_id) {
      out.sql += " AND v.res_id > ?";
      out.params.emplace_back(std::string_view(*q.after_id));
    }
  } else if (driver >= 0) {
    const GroupPlan& g = plans[static_cast<size_t>(driver)];
    // Step one lists a resource once per matching row (the caller skips repeats: the rows come in id order), so
    // that its LIMIT bounds the rows examined, which DISTINCT would not.
    out.sql = on_row ? "SELECT d.res_id" : "SELECT DISTINCT d.res_id";
    if (on_row) selectHit();
    out.sql += " FROM search_index d CROSS JOIN resource r WHERE d.res_type = ?";
    out.params.emplace_back(std::string_view(q.type));
    if (g.lists.empty()) {
      b.valueMatch(*g.singles[0], "d");
    } else {
      b.listMatch(g.lists[0], "d");
    }
    out.sql += " AND r.res_type = d.res_type AND r.res_id = d.res_id AND r.deleted = 0";
    if (q.after_id) {
      out.sql += " AND d.res_id > ?";
      out.params.emplace_back(std::string_view(*q.after_id));
    }
  } else {
    out.sql = "SELECT r.res_id FROM resource r WHERE r.res_type = ? AND r.deleted = 0";
    out.params.emplace_back(std::string_view(q.type));
    if (q.after_id) {
      out.sql += " AND r.res_id > ?";
      out.params.emplace_back(std::string_view(*q.after_id));
    }
  }
  for (size_t i = 0; i < plans.size(); ++i) {
    if (static_cast<int>(i) == driver) continue;
    if (compartments[i].empty()) {
      b.groupCondition(plans[i]);
    } else if (!on_row) {
      out.sql += " AND ";
      b.compartmentExpr(plans[i], compartments[i]);
    }
  }
  out.sql += by_versions ? " ORDER BY v.res_id LIMIT ?" : driver >= 0 ? " ORDER BY d.res_id LIMIT ?" : " ORDER BY r.res_id LIMIT ?";
  out.params.emplace_back(static_cast<int64_t>(on_row ? plan.row_budget : q.count + 1));
  return Status::ok();
}

}  // namespace planbro::gateway::store::internal
