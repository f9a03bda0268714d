#pragma once
// SMART App Launch scopes (v2 `patient/CarePlan.rs`, `user/*.cruds`, `system/*.rs`; v1 `.read`, `.write`, `.*`),
// parsed once per token into a ScopeSet that answers "may this token do interaction X on type T". A scope that does
// not parse grants nothing (it is kept in `other`); granular v2 scopes with a query (`...rs?category=x`) are not
// supported yet and grant nothing either, which fails safe (less access, never more).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace planbro::gateway::security {

/** The SMART v2 permission letters, in their required order c r u d s. */
enum class ScopePermission : uint8_t { kCreate = 1, kRead = 2, kUpdate = 4, kDelete = 8, kSearch = 16 };

/** Whose data a resource scope speaks of. */
enum class ScopeContext : uint8_t { kPatient, kUser, kSystem };

struct ResourceScope {
  ScopeContext context = ScopeContext::kUser;
  std::string type;         // a resource type, or "*"
  uint8_t permissions = 0;  // ScopePermission bits
};

class ScopeSet {
 public:
  /** Parses a space-separated scope string (the `scope` claim). Never fails: what does not parse grants nothing. */
  static ScopeSet parse(std::string_view scopes);
  /** Adds one scope (a string of the `scope` claim's array form). */
  void add(std::string_view scope);

  /** Whether some resource scope grants `permission` on `type` (any context; consent narrows per patient later). */
  bool permits(ScopePermission permission, std::string_view type) const;
  /** Whether the plain (non-resource) scope `name` was granted, e.g. "openid" or "planbro/auditor". */
  bool has(std::string_view name) const;

  const std::vector<ResourceScope>& resourceScopes() const { return resource_; }
  const std::vector<std::string>& other() const { return other_; }

 private:
  std::vector<ResourceScope> resource_;
  std::vector<std::string> other_;
};

/** The permission a REST interaction needs (its `RequestContext::interaction` label), or 0 for none (metadata,
 *  a bundle whose entries are checked one by one). Unknown labels need every permission (fail safe). */
uint8_t permissionsForInteraction(std::string_view interaction);

}  // namespace planbro::gateway::security
