// The PLO codec on arbitrary bytes: decode never crashes, hangs or leaks, and the AppRec it would answer with always
// validates against its own schema (an answer the sender could not read would be the worst failure).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "planbro/adapters/plo/apprec.h"
#include "planbro/adapters/plo/codec.h"

using namespace planbro::adapters::plo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const Codec> codec = [] {
    auto loaded = loadCodec(PLANBRO_PLO_SOURCE_DIR);
    if (!loaded.isOk()) std::abort();
    return *loaded;
  }();
  const DecodedMessage message = codec->decode(std::string_view(reinterpret_cast<const char*>(data), size));
  if (message.apprec) return 0;
  Party self;
  self.name = "planbro";
  const std::string apprec =
      encodeAppRec(answerFor(message, "1.1", "8d018d60-336b-11de-8bd7-0002a5d5c51b", "2026-12-07T01:00:00Z", self));
  const DecodedMessage answer = codec->decode(apprec);
  if (answer.status != AppRecStatus::kOk || !answer.apprec) std::abort();
  return 0;
}
