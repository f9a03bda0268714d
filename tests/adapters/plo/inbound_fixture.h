#pragma once
// The inbound path on a durable store, for the tests of the PLO adapter: a SQLite store in a fresh temporary
// directory, the operations layer over it and an InboundProcessor with the shared codec (plo_test_support.h).

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "planbro/adapters/plo/inbound.h"
#include "planbro/gateway/search/search_executor.h"
#include "plo_test_support.h"

namespace planbro::adapters::plo::testing {

class InboundStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "planbro-plo-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    gateway::store::SqliteStoreOptions so;
    so.path = dir_ + "/planbro.db";
    auto s = gateway::store::openSqliteStore(so);
    ASSERT_TRUE(s.isOk()) << s.status().message();
    store_ = std::move(s).value();
    executor_ = std::make_unique<gateway::search::SearchExecutor>(*store_, gateway::search::ExecutorOptions{});
    operations_ = std::make_unique<gateway::ops::Operations>(*store_, *executor_);
    ASSERT_NE(sharedCodec(), nullptr);
    processor_ = std::make_unique<InboundProcessor>(sharedCodec(), operations_.get(), InboundOptions{});
  }
  void TearDown() override {
    processor_.reset();
    operations_.reset();
    executor_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /** How many resources of `type` the store holds (up to 1000). */
  size_t count(const std::string& type) {
    auto ids = operations_->findIds(type, {{"_lastUpdated", "ge2000-01-01"}}, 1000);
    EXPECT_TRUE(ids.isOk()) << ids.status().message();
    return ids.isOk() ? ids->size() : 0;
  }

  /** Stores a Patient with this fødselsnummer and an active CarePlan for it; the CarePlan's id (empty on failure,
   * with the test failed). */
  std::string createPatientWithPlan(const std::string& fodselsnummer) {
    gateway::ops::WriteContext context;
    context.source_system = "test";
    auto patient = fhir::JsonDocument::parse(
        R"({"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":")" +
        fodselsnummer + R"("}]})");
    EXPECT_TRUE(patient.isOk());
    if (!patient.isOk()) return {};
    auto created = operations_->create(context, "Patient", patient->root(), {}, nullptr);
    EXPECT_TRUE(created.isOk()) << created.status().message();
    if (!created.isOk()) return {};
    auto plan = fhir::JsonDocument::parse(R"({"resourceType":"CarePlan","status":"active","intent":"plan",)"
                                          R"("subject":{"reference":"Patient/)" + created->version.id + R"("}})");
    EXPECT_TRUE(plan.isOk());
    if (!plan.isOk()) return {};
    auto plan_created = operations_->create(context, "CarePlan", plan->root(), {}, nullptr);
    EXPECT_TRUE(plan_created.isOk()) << plan_created.status().message();
    return plan_created.isOk() ? plan_created->version.id : std::string();
  }

  std::string dir_;
  std::unique_ptr<gateway::store::ResourceStore> store_;
  std::unique_ptr<gateway::search::SearchExecutor> executor_;
  std::unique_ptr<gateway::ops::Operations> operations_;
  std::unique_ptr<InboundProcessor> processor_;
};

}  // namespace planbro::adapters::plo::testing
