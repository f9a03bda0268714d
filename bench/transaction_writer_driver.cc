// A 500-entry transaction Bundle through the real RestHandler on a real SQLite store: how long the transaction
// holds the store's single writer turn (begin() to commit()/rollback()), the whole request's time, and entries per
// second. The store is wrapped so the writer turn is timed outside the code under test: the same driver measures
// any version of the write path. See docs/performance.md.
//
//   transaction_writer_driver [--runs N] [--entries N]     (defaults: 10 runs of 500 entries)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "planbro/fhir-model/norwegian_ids.h"
#include "planbro/gateway/rest/rest_handler.h"
#include "planbro/gateway/store/resource_store.h"

namespace {

using namespace planbro;
using namespace planbro::gateway;
using SteadyClock = std::chrono::steady_clock;

// The time every write transaction of the store was open, summed.
struct WriterTurnTimer {
  std::chrono::nanoseconds held{0};
  size_t transactions = 0;
};

class TimedTransaction : public store::WriteTransaction {
 public:
  TimedTransaction(std::unique_ptr<store::WriteTransaction> inner, WriterTurnTimer& timer)
      : inner_(std::move(inner)), timer_(timer), started_(SteadyClock::now()) {}
  ~TimedTransaction() override { finish(); }

  Result<store::WriteResult> create(std::string_view type, store::ResourceContent content,
                                    std::optional<std::string_view> id) override {
    return inner_->create(type, content, id);
  }
  Result<store::WriteResult> update(std::string_view type, std::string_view id, store::ResourceContent content,
                                    std::optional<int64_t> expected) override {
    return inner_->update(type, id, content, expected);
  }
  Result<store::WriteResult> remove(std::string_view type, std::string_view id,
                                    std::optional<int64_t> expected) override {
    return inner_->remove(type, id, expected);
  }
  Result<store::ClaimResult> claimKey(const store::BusinessKey& key, std::string_view id) override {
    return inner_->claimKey(key, id);
  }
  Status releaseKey(const store::BusinessKey& key) override { return inner_->releaseKey(key); }
  Status releaseKeyHeldBy(const store::BusinessKey& key, std::string_view id) override {
    return inner_->releaseKeyHeldBy(key, id);
  }
  Status replaceIndex(std::string_view type, std::string_view id, const std::vector<store::IndexRow>& rows) override {
    return inner_->replaceIndex(type, id, rows);
  }
  Status addIndex(std::string_view type, std::string_view id, const std::vector<store::IndexRow>& rows) override {
    return inner_->addIndex(type, id, rows);
  }
  Result<store::ResourceVersion> read(std::string_view type, std::string_view id) override {
    return inner_->read(type, id);
  }
  Status commit() override {
    Status s = inner_->commit();
    finish();
    return s;
  }
  void rollback() override {
    inner_->rollback();
    finish();
  }
  bool retryable() const override { return inner_->retryable(); }

 private:
  void finish() {
    if (done_) return;
    done_ = true;
    timer_.held += SteadyClock::now() - started_;
    ++timer_.transactions;
  }
  std::unique_ptr<store::WriteTransaction> inner_;
  WriterTurnTimer& timer_;
  SteadyClock::time_point started_;
  bool done_ = false;
};

class TimedStore : public store::ResourceStore {
 public:
  TimedStore(store::ResourceStore& inner, WriterTurnTimer& timer) : inner_(inner), timer_(timer) {}
  std::string_view engine() const override { return inner_.engine(); }
  Result<store::ResourceVersion> read(std::string_view type, std::string_view id) override {
    return inner_.read(type, id);
  }
  std::shared_ptr<const store::ResourceVersion> readCached(std::string_view type, std::string_view id) override {
    return inner_.readCached(type, id);
  }
  Result<store::ResourceVersion> vread(std::string_view type, std::string_view id, int64_t version) override {
    return inner_.vread(type, id, version);
  }
  Result<store::HistoryPage> history(const store::HistoryQuery& query) override { return inner_.history(query); }
  Result<std::unique_ptr<store::WriteTransaction>> begin(const store::WriteContext& context) override {
    auto tx = inner_.begin(context);
    if (!tx.isOk()) return tx.status();
    return std::unique_ptr<store::WriteTransaction>(std::make_unique<TimedTransaction>(std::move(tx).value(), timer_));
  }
  Result<std::vector<store::OutboxEvent>> readOutbox(int64_t after, size_t limit) override {
    return inner_.readOutbox(after, limit);
  }
  Result<std::optional<std::string>> findKeyOwner(const store::BusinessKey& key) override {
    return inner_.findKeyOwner(key);
  }
  Result<store::IndexPage> searchIndex(const store::IndexQuery& query) override { return inner_.searchIndex(query); }
  Result<std::string> serverSecret(std::string_view name) override { return inner_.serverSecret(name); }
  Result<store::OutboxStats> outboxStats() override { return inner_.outboxStats(); }

 private:
  store::ResourceStore& inner_;
  WriterTurnTimer& timer_;
};

// A valid synthetic fødselsnummer, different for every `n` (born 1 January 1990 + n days' worth of individnummer).
std::string fodselsnummer(int n) {
  for (int individ = 100 + n * 3;; ++individ) {
    char nine[16];
    std::snprintf(nine, sizeof nine, "010190%03d", individ % 500);
    if (auto fnr = fhir::no::withCheckDigits(nine)) return *fnr;
  }
}

// Entry 0: the Patient (conditional on its fødselsnummer). Then Goals and CarePlans for her, each conditional on an
// identifier of its own, referring to the Patient's placeholder: the shape of a plan imported from a vendor system.
std::string transactionBundle(int run, int entries, const std::string& fnr) {
  std::string b = R"({"resourceType":"Bundle","type":"transaction","entry":[)";
  b += R"({"fullUrl":"urn:uuid:00000000-0000-4000-8000-000000000000","resource":{"resourceType":"Patient",)"
       R"("identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":")" + fnr +
       R"("}],"name":[{"family":"Testesen","given":["Kari"]}],"gender":"female","birthDate":"1990-01-01"},)"
       R"("request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:oid:2.16.578.1.12.4.1.4.1|)" +
       fnr + R"("}})";
  for (int i = 1; i < entries; ++i) {
    std::string key = "run" + std::to_string(run) + "-" + std::to_string(i);
    bool goal = i % 2 == 1;
    b += ",";
    if (goal) {
      b += R"({"resource":{"resourceType":"Goal","identifier":[{"system":"urn:bench:goal","value":")" + key +
           R"("}],"lifecycleStatus":"active","description":{"text":"Mål )" + key +
           R"("},"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000000"},"startDate":"2026-03"},)"
           R"("request":{"method":"POST","url":"Goal","ifNoneExist":"identifier=urn:bench:goal|)" + key + R"("}})";
    } else {
      b += R"({"resource":{"resourceType":"CarePlan","identifier":[{"system":"urn:bench:plan","value":")" + key +
           R"("}],"status":"active","intent":"plan","title":"Individuell plan )" + key +
           R"(","subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000000"},)"
           R"("period":{"start":"2026-03-01"}},)"
           R"("request":{"method":"POST","url":"CarePlan","ifNoneExist":"identifier=urn:bench:plan|)" + key + R"("}})";
    }
  }
  return b + "]}";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 10;
  int entries = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--runs") runs = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--entries") entries = std::max(1, std::atoi(argv[i + 1]));
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "planbro-txbench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return 1;
  int rc = 0;
  {
    store::SqliteStoreOptions so;
    so.path = tmpl + "/planbro.db";
    so.read_cache_bytes = 64u << 20;  // as `planbro serve` runs
    auto opened = store::openSqliteStore(so);
    if (!opened.isOk()) {
      std::fprintf(stderr, "cannot open the store: %s\n", opened.status().message().c_str());
      return 1;
    }
    WriterTurnTimer timer;
    TimedStore timed(**opened, timer);
    rest::RestHandler handler(timed);
    std::vector<double> total_ms, held_ms;
    for (int run = 0; run < runs && rc == 0; ++run) {
      std::string bundle = transactionBundle(run, entries, fodselsnummer(run));
      timer = WriterTurnTimer{};
      http::RequestContext context;
      context.request_id = "bench";
      auto start = SteadyClock::now();
      http::Response r = handler.processBundle(bundle, context);
      auto elapsed = SteadyClock::now() - start;
      if (r.status != 200) {
        std::fprintf(stderr, "run %d: HTTP %d: %.400s\n", run, r.status, r.body.c_str());
        rc = 1;
        break;
      }
      total_ms.push_back(std::chrono::duration<double, std::milli>(elapsed).count());
      held_ms.push_back(std::chrono::duration<double, std::milli>(timer.held).count());
      std::printf("run %2d: %8.1f ms in all, %8.1f ms holding the writer (%zu transaction%s)\n", run,
                  total_ms.back(), held_ms.back(), timer.transactions, timer.transactions == 1 ? "" : "s");
    }
    if (rc == 0) {
      double t = median(total_ms), h = median(held_ms);
      std::printf("median of %d runs of %d entries: %.1f ms in all, %.1f ms holding the writer (%.0f%%), "
                  "%.0f entries/s\n",
                  runs, entries, t, h, t > 0 ? 100.0 * h / t : 0.0, t > 0 ? entries * 1000.0 / t : 0.0);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  return rc;
}
