#pragma once
// A `planbro serve` node for the Subscription tests: the real server (makeRestServeSetup) on 127.0.0.1:0 over a
// SQLite store in a fresh directory, run on a thread of its own until the object goes. Every wait is bounded.
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "planbro/gateway/rest/serve_setup.h"
#include "planbro/gateway/serve.h"
#include "rest_fixture.h"

namespace planbro::gateway::subscriptions::testing {

using rest::testing::HttpResult;

inline const std::vector<std::pair<std::string, std::string>> kJson = {{"Content-Type", "application/fhir+json"}};

class ServedNode {
 public:
  /** `config_yaml`: the node's planbro.yaml (listen and data_dir are set here). */
  explicit ServedNode(const std::string& config_yaml) {
    dir_ = (std::filesystem::temp_directory_path() / "planbro-subs-node-XXXXXX").string();
    if (mkdtemp(dir_.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp";
      return;
    }
    std::ofstream(dir_ + "/planbro.yaml") << config_yaml;
    std::promise<uint16_t> port;
    auto port_future = port.get_future();
    thread_ = std::thread([this, p = std::move(port)]() mutable {
      ServeOptions options;
      options.config_path = dir_ + "/planbro.yaml";
      options.overrides.listen = "127.0.0.1:0";
      options.overrides.data_dir = dir_;
      options.setup = rest::makeRestServeSetup();
      bool announced = false;
      options.on_started = [&](uint16_t bound, std::function<void()> stop) {
        announced = true;
        p.set_value(bound);
        released_.get_future().wait();
        stop();
      };
      std::ostringstream err;
      exit_code_ = runServe(options, err);
      errors_ = err.str();
      if (!announced) p.set_value(0);
    });
    if (port_future.wait_for(std::chrono::seconds(60)) == std::future_status::ready) port_ = port_future.get();
    EXPECT_NE(port_, 0) << "the node did not start";
  }
  ~ServedNode() {
    if (port_ != 0) released_.set_value();
    if (thread_.joinable()) thread_.join();
    EXPECT_EQ(exit_code_, 0) << errors_;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ServedNode(const ServedNode&) = delete;
  ServedNode& operator=(const ServedNode&) = delete;

  uint16_t port() const { return port_; }
  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }

  HttpResult get(const std::string& target) const { return rest::testing::request(port_, "GET", target); }
  HttpResult put(const std::string& target, const std::string& body) const {
    return rest::testing::request(port_, "PUT", target, body, kJson);
  }
  HttpResult post(const std::string& target, const std::string& body = "") const {
    return rest::testing::request(port_, "POST", target, body, body.empty() ? decltype(kJson){} : kJson);
  }
  HttpResult del(const std::string& target) const { return rest::testing::request(port_, "DELETE", target); }

  /** Reads `target` until `done` holds for it, at most `tries` times; the last answer. */
  HttpResult getUntil(const std::string& target, const std::function<bool(const HttpResult&)>& done,
                      int tries = 3000) const {
    HttpResult r;
    for (int i = 0; i < tries; ++i) {
      r = get(target);
      if (done(r)) break;
      std::this_thread::yield();
    }
    return r;
  }
  /** Reads Subscription/<id> until its status is `status` (bounded); the last status seen. */
  std::string waitForStatus(const std::string& id, const std::string& status) const {
    return getUntil("/Subscription/" + id, [&](const HttpResult& r) { return r.str("status") == status; })
        .str("status");
  }

 private:
  std::string dir_;
  std::thread thread_;
  std::promise<void> released_;
  uint16_t port_ = 0;
  int exit_code_ = 0;
  std::string errors_;
};

}  // namespace planbro::gateway::subscriptions::testing
