#pragma once
// gzip (RFC 1952) compression of response bodies with zlib, and the Accept-Encoding check.

#include <optional>
#include <string>
#include <string_view>

namespace planbro::gateway::http {

/** True when an Accept-Encoding value accepts gzip (a `gzip` or `*` coding whose q is not 0). */
bool acceptsGzip(std::string_view accept_encoding);

/** The gzip encoding of `data`, or nullopt if zlib fails (the caller then sends the body uncompressed). */
std::optional<std::string> gzipCompress(std::string_view data);

}  // namespace planbro::gateway::http
