#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <istream>
#include <string>

#include "planbro/gateway/cli.h"

#if __has_include("planbro/fhir-model/fhir_xml.h")
#include "planbro/fhir-model/fhir_xml.h"
#define PLANBRO_CLI_HAVE_XML 1
#endif

namespace planbro::gateway::cli {
namespace {

constexpr size_t kChunkBytes = 64u << 10;

std::string tooLarge(std::string_view path, size_t max_bytes) {
  return std::string(path) + ": input is larger than the limit of " + std::to_string(max_bytes) +
         " bytes (raise it with --max-bytes)";
}

// Closes the descriptor on every return path.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Result<std::string> readStream(std::string_view name, size_t max_bytes, std::istream& in) {
  std::string data;
  std::string chunk(kChunkBytes, '\0');
  // Bounded: each round adds at least one byte or stops, and we stop once past max_bytes.
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    if (data.size() + got > max_bytes) return resourceExhausted(tooLarge(name, max_bytes));
    data.append(chunk.data(), got);
  }
  if (in.bad()) return invalidArgument(std::string(name) + ": read error");
  return data;
}

}  // namespace

Result<std::string> readInput(std::string_view path, size_t max_bytes, std::istream& in) {
  if (path == "-") return readStream("stdin", max_bytes, in);

  const std::string p(path);
  FileDescriptor fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int e = errno;
    if (e == ENOENT) return notFound(p + ": no such file");
    return invalidArgument(p + ": cannot open (" + std::strerror(e) + ")");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return invalidArgument(p + ": cannot read its size");
  if (S_ISDIR(st.st_mode)) return invalidArgument(p + ": is a directory, not a file");
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes) {
    // Rejected by size alone: a huge file is never read into memory.
    return resourceExhausted(p + ": file is " + std::to_string(st.st_size) + " bytes, larger than the limit of " +
                             std::to_string(max_bytes) + " bytes (raise it with --max-bytes)");
  }

  std::string data;
  if (S_ISREG(st.st_mode)) data.reserve(static_cast<size_t>(st.st_size));
  std::string chunk(kChunkBytes, '\0');
  // A regular file may still grow while read, and pipes have no size: enforce the limit on what is read too.
  for (;;) {
    const ssize_t got = ::read(fd.get(), chunk.data(), chunk.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      return invalidArgument(p + ": read error (" + std::strerror(errno) + ")");
    }
    if (got == 0) break;
    if (data.size() + static_cast<size_t>(got) > max_bytes) return resourceExhausted(tooLarge(p, max_bytes));
    data.append(chunk.data(), static_cast<size_t>(got));
  }
  return data;
}

bool looksLikeXml(std::string_view bytes) {
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  for (char c : bytes) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '<';
  }
  return false;
}

Result<fhir::JsonDocument> parseResource(std::string bytes, const InputLimits& limits,
                                         fhir::JsonErrorPosition* position, fhir::OperationOutcome* xml_issues) {
  if (looksLikeXml(bytes)) {
#ifdef PLANBRO_CLI_HAVE_XML
    fhir::XmlLimits xml_limits;
    xml_limits.max_bytes = limits.max_bytes;
    if (limits.max_depth != 0) xml_limits.max_depth = limits.max_depth;
    if (xml_issues != nullptr) return fhir::fhirXmlToJson(bytes, xml_limits, *xml_issues);
    return fhir::fhirXmlToJson(bytes, xml_limits);
#else
    return Status(StatusCode::kUnsupported, "FHIR XML input is not supported by this build");
#endif
  }
  fhir::JsonLimits json_limits;
  json_limits.max_bytes = limits.max_bytes;
  if (limits.max_depth != 0) json_limits.max_depth = limits.max_depth;
  if (limits.max_number_length != 0) json_limits.max_number_length = limits.max_number_length;
  return fhir::JsonDocument::parse(std::move(bytes), json_limits, position);
}

}  // namespace planbro::gateway::cli
