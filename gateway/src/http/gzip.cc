#include "gzip.h"

#include <zlib.h>

#include <cctype>
#include <cstdlib>
#include <limits>

namespace planbro::gateway::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

bool acceptsGzip(std::string_view header) {
  bool star = false;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    std::string_view coding = trim(item.substr(0, item.find(';')));
    bool zero = false;
    if (size_t q = item.find("q="); q != std::string_view::npos) {
      std::string_view v = trim(item.substr(q + 2));
      zero = !v.empty() && v.find_first_not_of("0.") == std::string_view::npos;
    }
    if (equalsIgnoreCase(coding, "gzip") || equalsIgnoreCase(coding, "x-gzip")) return !zero;
    if (coding == "*") star = !zero;
  }
  return star;
}

std::optional<std::string> gzipCompress(std::string_view data) {
  if (data.size() > std::numeric_limits<uInt>::max()) return std::nullopt;  // one deflate() call's input limit
  z_stream zs{};
  // windowBits 15 + 16 selects the gzip wrapper; level 1 is nearly as small for JSON and several times faster.
  if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return std::nullopt;
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  out.resize(produced);
  return out;
}

}  // namespace planbro::gateway::http
