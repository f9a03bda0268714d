#pragma once
// The AuditEvent of one AuditRecord as plain parts (IHE BALP shape): the one description both the JSON writer
// (audit_event.cc) and the index-row builder (audit_index.cc) read, so that the stored bytes and the search rows
// can never tell two stories. Views into the record, the observer and static text; fixed arrays, no allocation
// beyond the one string a versioned reference needs. Valid while the record and the observer live.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "planbro/gateway/security/audit_sink.h"

namespace planbro::gateway::security::audit_shape {

struct Coding {
  std::string_view system, code, display;  // code empty: absent
};

/** Reference.identifier {system, value}, or (value only) Reference.display. */
struct Who {
  bool identifier = false;
  std::string_view system, value;
};

struct Agent {
  Coding type;                // CodeableConcept with this one coding
  Coding role;                // CodeableConcept; absent when role.code is empty
  Who who;
  bool requestor = false;
  std::string_view policy;    // the token's jti; "" absent
  std::string_view address;   // network.address (type "2", IP address); "" absent
  Coding purpose_of_use;      // absent when code is empty
};

struct Entity {
  enum class What { kReference, kDisplay, kIdentifier } what_kind = What::kReference;
  std::string_view what;      // the reference, the display, or the identifier's value
  Coding type;
  Coding role;                // absent when role.code is empty
};

/** The agent fields of a record: from its shared principal when it holds one, else from `who`. */
struct AgentFields {
  std::string_view kind, subject, client_id, token_id, hpr_number, pid, organization_number,
      child_organization_number;
};
AgentFields agentFieldsOf(const AuditRecord& record);

struct Event {
  Coding type;
  std::array<Coding, 2> subtype;
  size_t subtypes = 0;
  char action = 'E';
  std::array<char, 32> recorded{};  // the instant, NUL-terminated
  size_t recorded_size = 0;
  std::string_view outcome;  // "0", "4", "8"
  std::string_view outcome_desc;
  Coding purpose_of_event;   // absent when code is empty
  std::array<Agent, 5> agents;
  size_t agent_count = 0;
  std::string_view site;     // source.site; "" absent
  std::string_view observer;
  Coding source_type;
  std::array<Entity, 3> entities;
  size_t entity_count = 0;
  std::string resource_what;  // storage of the resource entity's reference or display

  std::string_view recordedText() const { return {recorded.data(), recorded_size}; }
};

/** The event of `record` with `observer` naming this node. Not copyable: entities view resource_what. */
void shapeOf(const AuditRecord& record, std::string_view observer, Event& event);

}  // namespace planbro::gateway::security::audit_shape
