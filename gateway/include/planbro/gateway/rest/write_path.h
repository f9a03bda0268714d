#pragma once
// The write pipeline moved to the operations layer (planbro/gateway/ops/write_pipeline.h); these names stay for the
// REST layer's callers.

#include "planbro/gateway/ops/write_pipeline.h"

namespace planbro::gateway::rest {

using ops::AppliedWrite;
using ops::BusinessRules;
using ops::isValidId;
using ops::PreparedWrite;
using ops::ResourceWriter;
using ops::WriteIntent;
using ops::WriteKind;
using ops::WriterOptions;

}  // namespace planbro::gateway::rest
