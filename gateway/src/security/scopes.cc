#include "planbro/gateway/security/scopes.h"

#include "planbro/gateway/security/principal.h"

namespace planbro::gateway::security {
namespace {

constexpr uint8_t kAll = 31;

// "cruds" in v2 order, each letter at most once; v1 "read", "write", "*". 0: not a permission string.
uint8_t parsePermissions(std::string_view p) {
  if (p == "read") return static_cast<uint8_t>(ScopePermission::kRead) | static_cast<uint8_t>(ScopePermission::kSearch);
  if (p == "write") {
    return static_cast<uint8_t>(ScopePermission::kCreate) | static_cast<uint8_t>(ScopePermission::kUpdate) |
           static_cast<uint8_t>(ScopePermission::kDelete);
  }
  if (p == "*") return kAll;
  static constexpr std::string_view kOrder = "cruds";
  uint8_t bits = 0;
  size_t next = 0;
  for (char c : p) {
    size_t at = kOrder.find(c, next);
    if (at == std::string_view::npos) return 0;  // unknown, repeated or out of order
    bits |= static_cast<uint8_t>(1u << at);
    next = at + 1;
  }
  return bits;
}

bool isTypeName(std::string_view t) {
  if (t == "*") return true;
  if (t.empty() || t[0] < 'A' || t[0] > 'Z') return false;
  for (char c : t) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

}  // namespace

std::string_view principalKindName(PrincipalKind kind) {
  switch (kind) {
    case PrincipalKind::kUnknown: return "unknown";
    case PrincipalKind::kPractitioner: return "practitioner";
    case PrincipalKind::kPatient: return "patient";
    case PrincipalKind::kSystem: return "system";
    case PrincipalKind::kAuditor: return "auditor";
    case PrincipalKind::kKeAdministrator: return "ke-administrator";
  }
  return "unknown";
}

ScopeSet ScopeSet::parse(std::string_view scopes) {
  ScopeSet set;
  while (!scopes.empty()) {
    size_t space = scopes.find(' ');
    set.add(scopes.substr(0, space));
    if (space == std::string_view::npos) break;
    scopes.remove_prefix(space + 1);
  }
  return set;
}

void ScopeSet::add(std::string_view scope) {
  if (scope.empty()) return;
  size_t slash = scope.find('/');
  size_t dot = scope.find('.', slash == std::string_view::npos ? 0 : slash);
  std::string_view context = slash == std::string_view::npos ? "" : scope.substr(0, slash);
  if ((context == "patient" || context == "user" || context == "system") && dot != std::string_view::npos &&
      scope.find('?') == std::string_view::npos) {
    std::string_view type = scope.substr(slash + 1, dot - slash - 1);
    uint8_t bits = parsePermissions(scope.substr(dot + 1));
    if (bits != 0 && isTypeName(type)) {
      ResourceScope r;
      r.context = context == "patient" ? ScopeContext::kPatient
                  : context == "user"  ? ScopeContext::kUser
                                       : ScopeContext::kSystem;
      r.type = std::string(type);
      r.permissions = bits;
      resource_.push_back(std::move(r));
      return;
    }
  }
  other_.emplace_back(scope);
}

bool ScopeSet::permits(ScopePermission permission, std::string_view type) const {
  const auto bit = static_cast<uint8_t>(permission);
  for (const ResourceScope& r : resource_) {
    if ((r.permissions & bit) != 0 && (r.type == "*" || r.type == type)) return true;
  }
  return false;
}

bool ScopeSet::has(std::string_view name) const {
  for (const std::string& o : other_) {
    if (o == name) return true;
  }
  return false;
}

uint8_t permissionsForInteraction(std::string_view i) {
  auto bit = [](ScopePermission p) { return static_cast<uint8_t>(p); };
  if (i == "capabilities" || i == "bundle") return 0;
  if (i == "read" || i == "vread" || i == "history-instance" || i == "validate" || i.starts_with("operation")) {
    return bit(ScopePermission::kRead);
  }
  if (i == "search-type" || i == "search-system" || i == "history-type" || i == "history-system") {
    return bit(ScopePermission::kSearch);
  }
  if (i == "create") return bit(ScopePermission::kCreate);
  if (i == "update" || i == "patch") return bit(ScopePermission::kUpdate);
  if (i == "delete") return bit(ScopePermission::kDelete);
  return kAll;
}

}  // namespace planbro::gateway::security
