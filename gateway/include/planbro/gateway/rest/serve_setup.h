#pragma once
// Plugs the FHIR REST layer and the store into `planbro serve` (serve.h's ServeSetup hook).

#include <chrono>
#include <string>

#include "planbro/gateway/serve.h"

namespace planbro::gateway::rest {

struct RestServeOptions {
  /** The transaction Bundle loaded into an empty store when demo_data.load_once is set; empty: the repository's
   *  conformance/demo/individual-plan-demo.json (path fixed at build time). A missing file is logged, not fatal. */
  std::string demo_bundle_path;
  /** A folder of conformance resources (StructureDefinitions, ValueSets, CodeSystems) writes are validated against
   *  besides the R4 core profiles, when a resource claims them in meta.profile; empty: the repository's
   *  individual-plan package, conformance/ip/package (path fixed at build time). A missing folder is logged, and
   *  the core profiles are used alone; a folder that does not load stops the start. */
  std::string profile_package_dir;
  /** How often, at most, a commit refreshes the outbox gauges (planbro_outbox_backlog, ..._newest_position) with
   *  one store query on its write thread; 0: after every commit (tests). */
  std::chrono::milliseconds outbox_refresh_interval{1000};
};

/**
 * A ServeSetup that opens the configured store (SQLite at store.sqlitePath(), creating data_dir; or PostgreSQL at
 * store.postgres_url) with a pool that fits the I/O + worker threads, builds the RestHandler over it, loads the demo
 * Bundle once into an empty store, and adds a "store" readiness check. The store lives in
 * ServeComponents::keep_alive. Errors (store cannot open, demo bundle rejected): the Status aborts start-up.
 */
ServeSetup makeRestServeSetup(RestServeOptions options = {});

}  // namespace planbro::gateway::rest
