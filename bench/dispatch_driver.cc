// The dispatcher against the gateway's own durable write rate (docs/performance.md, "Dispatch").
//   build/release/bench/dispatch_driver [seconds per phase: 10] [writer threads: 16] [max_in_flight: 64]
//                                       [max_parallel: 8]
// SQLite store on this machine's disk (synchronous=FULL, group commit), one rest-hook subscriber (payload full,
// 8 plans at once) on a loopback receiver (tests/gateway/dispatch/test_receiver.h), the dispatcher's own threads.
// Phase 1: writers create Goals (200 plans) as fast as they can while the dispatcher runs: creates/s and delivered/s
// over the same window, and how far delivery lags at its end. Phase 2: writers paced at half of phase 1's rate:
// commit-to-receiver latency (occurred_at to the receiver's answer, as the latency histogram measures it).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "../tests/gateway/dispatch/test_receiver.h"
#include "planbro/gateway/dispatch/dispatcher.h"
#include "planbro/gateway/dispatch/rest_hook_transport.h"

using namespace planbro;
using namespace planbro::gateway;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 10;
  const int writers = argc > 2 ? std::atoi(argv[2]) : 16;
  const size_t in_flight = argc > 3 ? static_cast<size_t>(std::atoi(argv[3])) : 64;
  const size_t parallel = argc > 4 ? static_cast<size_t>(std::atoi(argv[4])) : 8;
  const auto dir = std::filesystem::temp_directory_path() / ("planbro-dispatch-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  store::SqliteStoreOptions so;
  so.path = (dir / "bench.db").string();
  so.pool_size = static_cast<size_t>(writers) + 4;
  auto opened = store::openSqliteStore(so);
  if (!opened.isOk()) return std::fprintf(stderr, "%s\n", opened.status().message().c_str()), 1;
  auto store = std::move(opened).value();
  dispatch::testing::TestReceiver receiver;
  dispatch::RestHookOptions ro;
  ro.endpoint = receiver.url() + "/fhir";
  ro.payload = dispatch::RestHookOptions::Payload::kFull;
  ro.allow_plain_http = true;
  ro.max_parallel = parallel;
  dispatch::SubscriberSpec spec;
  spec.name = "bench";
  spec.transport = *dispatch::makeRestHookTransport(ro);
  std::mutex latency_mutex;
  std::vector<double> latencies;
  std::vector<double> write_latencies;  // the writers' own commit, same phase: the part of the latency before dispatch
  std::atomic<bool> record_latency{false};
  dispatch::DispatcherOptions o;
  o.node_id = "bench";
  o.poll_interval = std::chrono::milliseconds(5);
  o.max_in_flight = in_flight;
  o.on_delivered = [&](const std::string&, std::chrono::microseconds l) {
    if (!record_latency) return;
    std::lock_guard lock(latency_mutex);
    latencies.push_back(static_cast<double>(l.count()) / 1000.0);
  };
  auto d = dispatch::Dispatcher::create(*store, o, {spec});
  if (!d.isOk()) return std::fprintf(stderr, "%s\n", d.status().message().c_str()), 1;
  (*d)->start();

  auto phase = [&](double rate_per_writer) {
    std::atomic<int64_t> created{0};
    const auto start = Clock::now();
    const auto end = start + std::chrono::seconds(seconds);
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
      threads.emplace_back([&, w] {
        int64_t n = 0;
        while (Clock::now() < end) {
          if (rate_per_writer > 0) {  // paced: the n-th write of this writer is due at start + n / rate
            const auto due = start + std::chrono::microseconds(static_cast<int64_t>(1e6 * n / rate_per_writer));
            if (due > Clock::now()) std::this_thread::sleep_until(due);
          }
          const std::string json = R"({"resourceType":"Goal","subject":{"reference":"Patient/p)" +
                                   std::to_string((w * 7919 + n) % 200) + R"("}})";
          const auto began = Clock::now();
          Status s = store->runTransaction({"bench", "rest"}, [&](store::WriteTransaction& t) {
            return t.create("Goal", {json, {}}).status();
          });
          if (record_latency) {
            const double ms = std::chrono::duration<double, std::milli>(Clock::now() - began).count();
            std::lock_guard lock(latency_mutex);
            write_latencies.push_back(ms);
          }
          if (s.isOk()) {
            ++created;
            (*d)->wake();  // as planbro serve does after each committed write (serve_setup.cc)
          }
          ++n;
        }
      });
    }
    const size_t delivered_before = receiver.acceptedCount();
    for (auto& t : threads) t.join();
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    const size_t delivered = receiver.acceptedCount() - delivered_before;
    return std::make_tuple(static_cast<double>(created) / secs, static_cast<double>(delivered) / secs, created.load());
  };

  // Warm-up: the subscriber's partitions and the first connections; then wait until it is all delivered.
  auto [c0, d0, n0] = phase(0.5);
  (void)c0;
  (void)d0;
  receiver.waitForAccepted(static_cast<size_t>(n0), std::chrono::seconds(120));
  const size_t base = receiver.acceptedCount();
  auto [creates, delivered, n1] = phase(0);
  const int64_t lag_at_end = static_cast<int64_t>(base) + n1 - static_cast<int64_t>(receiver.acceptedCount());
  std::printf("max_in_flight %zu, max_parallel %zu\n", in_flight, parallel);
  std::printf("phase 1 (%d writers, %d s): %.0f creates/s, %.0f delivered/s, %lld behind at the end\n", writers,
              seconds, creates, delivered, static_cast<long long>(lag_at_end));
  receiver.waitForAccepted(base + static_cast<size_t>(n1), std::chrono::seconds(120));
  record_latency = true;
  const double half = creates / 2 / writers;
  auto [creates2, delivered2, n2] = phase(half);
  receiver.waitForAccepted(base + static_cast<size_t>(n1 + n2), std::chrono::seconds(120));
  record_latency = false;
  std::lock_guard lock(latency_mutex);
  std::sort(latencies.begin(), latencies.end());
  std::sort(write_latencies.begin(), write_latencies.end());
  auto pct_of = [](const std::vector<double>& v, double p) {
    return v.empty() ? 0 : v[static_cast<size_t>(p * (v.size() - 1))];
  };
  auto pct = [&](double p) { return pct_of(latencies, p); };
  std::printf("phase 2 (paced at %.0f creates/s): %.0f creates/s, %.0f delivered/s; commit->receiver latency "
              "p50 %.1f ms, p99 %.1f ms, max %.1f ms over %zu deliveries\n",
              half * writers, creates2, delivered2, pct(0.5), pct(0.99), pct(1.0), latencies.size());
  std::printf("phase 2 writers' own transaction (begin to durable commit): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
              pct_of(write_latencies, 0.5), pct_of(write_latencies, 0.99), pct_of(write_latencies, 1.0));
  (*d)->stop();
  d->reset();
  store.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
