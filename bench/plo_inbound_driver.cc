// Inbound PLO / Dialogmelding messages per second through the whole inbound path on the durable SQLite store:
// hardened parse → schema validation (MsgHead + Dialogmelding / PLO) → person-number check → FHIR mapping → the
// operations layer's transaction (validation, business keys, conditional creates) → AppRec. Every message has a
// new MsgId, so each one writes; half are Helsefaglig dialog (Communication), half PLO Innleggelsesrapport
// (Communication + proposed CareTeam). See docs/performance.md.
//
//   plo_inbound_driver [--messages N] [--threads N] [--stage decode|check|write|spool]
//     (defaults: 4000 messages on 2 threads, the whole path; `decode`: the codec alone, `check`: the codec and the
//     pipeline's validation without the store — where the time goes; `spool`: the messages as files through the
//     file spool with N workers, AppRecs written and files removed)
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "planbro/adapters/plo/file_spool.h"
#include "planbro/adapters/plo/inbound.h"
#include "planbro/gateway/search/search_executor.h"
#include "planbro/gateway/store/resource_store.h"

namespace {

using namespace planbro;
using namespace planbro::adapters::plo;

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The message with its MsgId (and conversation) replaced by `id`.
std::string withMessageId(const std::string& message, const std::string& id) {
  std::string out = message;
  const size_t start = out.find("<MsgId>") + 7;
  const size_t end = out.find("</MsgId>");
  out.replace(start, end - start, id);
  const size_t conversation = out.find("<ConversationRef>");
  if (conversation != std::string::npos) {
    out.erase(conversation, out.find("</ConversationRef>") + 18 - conversation);
  }
  return out;
}

// CPU seconds (user + system) this process has used: the figure that does not depend on what else the machine runs.
double cpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  size_t messages = 4000;
  size_t threads = 2;
  std::string stage = "write";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--stage") == 0) stage = argv[i + 1];
    if (std::strcmp(argv[i], "--messages") == 0) messages = std::strtoul(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--threads") == 0) threads = std::strtoul(argv[i + 1], nullptr, 10);
  }
  const std::filesystem::path samples = std::filesystem::path(PLANBRO_SHARED_DIR) / "plo" / "samples";
  const std::string dialog = readFile(samples / "dialogmelding-1.1/Helsefaglig_dialog_angi_profesjon_hos_mottaker.xml");
  const std::string plo = readFile(samples / "plo-1.6/innleggelsesrapport_1_6_mottak/Innleggelsesrapport_v1-6_Ny.xml");

  char dir_template[] = "/tmp/planbro-plo-bench-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return 1;
  const std::string dir = dir_template;
  gateway::store::SqliteStoreOptions so;
  so.path = dir + "/planbro.db";
  so.pool_size = threads + 1;
  auto store = gateway::store::openSqliteStore(so);
  if (!store.isOk()) {
    std::fprintf(stderr, "store: %s\n", store.status().message().c_str());
    return 1;
  }
  gateway::search::SearchExecutor executor(**store);
  gateway::ops::Operations operations(**store, executor);
  auto codec = loadCodec(PLANBRO_PLO_SOURCE_DIR);
  if (!codec.isOk()) {
    std::fprintf(stderr, "codec: %s\n", codec.status().message().c_str());
    return 1;
  }
  const InboundProcessor processor(*codec, stage == "write" ? &operations : nullptr, InboundOptions{});

  // The inputs are made before the clock starts.
  std::vector<std::string> inputs;
  inputs.reserve(messages);
  for (size_t i = 0; i < messages; ++i) inputs.push_back(withMessageId(i % 2 == 0 ? dialog : plo, randomUuid()));

  if (stage == "spool") {
    SpoolOptions options{dir + "/in", dir + "/out", dir + "/error", "", messages, threads};
    auto spool = FileSpool::open(options, processor);
    if (!spool.isOk()) return 1;
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::ofstream(dir + "/in/m" + std::to_string(100000 + i) + ".xml", std::ios::binary) << inputs[i];
    }
    const auto begin = std::chrono::steady_clock::now();
    const double cpu_begin = cpuSeconds();
    auto stats = spool->pollOnce();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    const double cpu = cpuSeconds() - cpu_begin;
    if (!stats.isOk()) return 1;
    std::printf("plo inbound (spool): %zu files (%zu accepted, %zu rejected) on %zu workers in %.2f s: %.0f messages/s;"
                " CPU %.3f ms per message\n",
                messages, stats->accepted, stats->rejected, threads, seconds,
                static_cast<double>(stats->accepted) / seconds, 1000.0 * cpu / static_cast<double>(messages));
    store->reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return stats->accepted == messages ? 0 : 1;
  }

  std::atomic<size_t> next{0}, ok{0}, failed{0};
  const auto started = std::chrono::steady_clock::now();
  const double cpu_started = cpuSeconds();
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < inputs.size(); i = next++) {
        if (stage == "decode") {
          if ((*codec)->decode(inputs[i]).status == AppRecStatus::kOk) {
            ++ok;
          } else {
            ++failed;
          }
          continue;
        }
        auto result = processor.process(inputs[i]);
        if (result.isOk() && result->message.status == AppRecStatus::kOk && result->apprec) {
          ++ok;
        } else {
          if (failed++ == 0) {
            std::fprintf(stderr, "first failure: %s\n",
                         result.isOk() ? result->message.summary.c_str() : result.status().message().c_str());
          }
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double cpu = cpuSeconds() - cpu_started;
  std::printf("plo inbound (%s): %zu messages (%zu OK, %zu failed) on %zu threads in %.2f s: %.0f messages/s;"
              " CPU %.3f ms per message\n", stage.c_str(), messages, ok.load(), failed.load(), threads, seconds,
              static_cast<double>(ok.load()) / seconds, 1000.0 * cpu / static_cast<double>(messages));
  store->reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return failed.load() == 0 ? 0 : 1;
}
