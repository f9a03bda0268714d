// The adapters shipped with planbro. A new adapter is added here, by one registration.
#include "planbro/adapters/adapter_registry.h"
#include "planbro/adapters/plo/plo_registration.h"

namespace planbro::adapters {

const AdapterRegistry& builtinAdapters() {
  static const AdapterRegistry registry = [] {
    AdapterRegistry r;
    // Registration fails only for a name or kind registered twice: a programming error caught by the tests.
    (void)plo::registerPloAdapter(r);
    return r;
  }();
  return registry;
}

}  // namespace planbro::adapters
