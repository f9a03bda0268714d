#include "planbro/adapters/adapter_registry.h"

namespace planbro::adapters {

Status AdapterRegistry::add(AdapterFactory factory) {
  if (factory.name.empty() || !factory.start || !factory.enabled) {
    return invalidArgument("an adapter needs a name, an enabled test and a start function");
  }
  if (find(factory.name) != nullptr) return invalidArgument("adapter " + factory.name + " is registered twice");
  if (!factory.transport_kind.empty() && forTransportKind(factory.transport_kind) != nullptr) {
    return invalidArgument("transport kind " + factory.transport_kind + " is registered twice");
  }
  factories_.push_back(std::move(factory));
  return Status::ok();
}

const AdapterFactory* AdapterRegistry::find(std::string_view name) const {
  for (const AdapterFactory& f : factories_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const AdapterFactory* AdapterRegistry::forTransportKind(std::string_view kind) const {
  for (const AdapterFactory& f : factories_) {
    if (!f.transport_kind.empty() && f.transport_kind == kind) return &f;
  }
  return nullptr;
}

}  // namespace planbro::adapters
