#pragma once
// Registers the PLO adapter (name "plo", dispatch kind "plo") in an adapter registry (adapter_registry.h).

#include "planbro/adapters/adapter_registry.h"

namespace planbro::adapters::plo {

/** Errors: the registry's (already registered). */
Status registerPloAdapter(AdapterRegistry& registry);

}  // namespace planbro::adapters::plo
