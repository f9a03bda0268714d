#pragma once
// Who is asking: the identity an authentication filter derives from a validated HelseID access token (or a
// development token), carried in http::RequestContext::principal and read by the one access-policy point.
// A plain value type (header only), so that the HTTP layer can carry it without depending on the security library.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "planbro/gateway/security/scopes.h"

namespace planbro::gateway::security {

enum class PrincipalKind {
  kUnknown,           // set by a test or a filter that does not classify
  kPractitioner,      // a health professional: HPR number, acting for an organisation
  kPatient,           // a citizen (or a proxy acting for one): pid, as helsenorge.no presents them
  kSystem,            // a system client (client credentials): organisation number
  kAuditor,           // reads the audit trail (scope planbro/auditor)
  kKeAdministrator,   // the coordinating unit (koordinerende enhet): plan metadata only (scope planbro/ke-admin)
};

std::string_view principalKindName(PrincipalKind kind);

struct Principal {
  std::string subject;              // `sub`
  std::string client_id;            // `client_id` (HelseID), else `azp`
  std::vector<std::string> scopes;  // as granted, in token order
  PrincipalKind kind = PrincipalKind::kUnknown;
  ScopeSet scope_set;               // `scopes`, parsed once per token
  std::string token_id;             // `jti`
  std::string pid;                  // helseid://claims/identity/pid (fødselsnummer/D-nummer): never log it
  std::string hpr_number;           // helseid://claims/hpr/hpr_number
  std::string organization_number;  // helseid://claims/client/claims/orgnr_parent
  std::string child_organization_number;  // .../orgnr_child (the department), "" when absent
  int security_level = 0;           // helseid://claims/identity/security_level (3 or 4), 0 when absent
  std::string cnf_jkt;              // RFC 9449 `cnf.jkt`: the DPoP key the token is bound to ("" = not bound)
  std::string cnf_x5t_s256;         // RFC 8705 `cnf.x5t#S256`: the client certificate it is bound to
  bool dpop = false;                // presented with the DPoP scheme and a valid proof
  bool trusted_client = false;      // client_id is in auth.trusted_clients (an integration engine)
  int64_t expires_at = 0;           // `exp`, seconds since the epoch
  /** Every claim named helseid://… (the trust-framework attest claims among them) as compact JSON. */
  std::map<std::string, std::string> helseid_claims;
};

/**
 * The requester of one request, read-only and shared: the token cache hands every request made with one token the
 * same Principal (no per-request copy of its strings, scopes and claim map), and every stage of the request reads
 * it through RequestContext::principal. Reads like std::optional<Principal> (`if (p)`, `p->`, `*p`, has_value);
 * assigning a Principal value makes a shared copy of it (tests, development tokens).
 */
class SharedPrincipal {
 public:
  SharedPrincipal() = default;
  SharedPrincipal(std::shared_ptr<const Principal> p) : p_(std::move(p)) {}  // NOLINT: implicit by design
  SharedPrincipal(Principal p) : p_(std::make_shared<const Principal>(std::move(p))) {}  // NOLINT

  explicit operator bool() const { return p_ != nullptr; }
  bool has_value() const { return p_ != nullptr; }
  const Principal& operator*() const { return *p_; }
  const Principal* operator->() const { return p_.get(); }
  void reset() { p_.reset(); }
  /** The shared object itself (null when none), for whoever keeps it beyond the request. */
  const std::shared_ptr<const Principal>& shared() const { return p_; }

 private:
  std::shared_ptr<const Principal> p_;
};

}  // namespace planbro::gateway::security
