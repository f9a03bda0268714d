#pragma once
// Set-up shared by the MSH tests: a loopback message service, and for each party a HelseID client (its own key
// file) and an MSH client against it.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "msh_loopback.h"
#include "planbro/adapters/plo/inbound.h"
#include "planbro/gateway/search/search_executor.h"
#include "planbro/adapters/plo/msh_client.h"
#include "plo_test_support.h"

namespace planbro::adapters::plo::testing {

// The two parties of the scenario, by the HER-id of their units (what Party::herId() reads from a MsgHead).
inline constexpr int64_t kHospitalHer = 90998;       // St. Olavs hospital, Ortopedisk kirurgi
inline constexpr int64_t kMunicipalityHer = 112375;  // Trondheim kommune, koordinerende enhet

inline std::string makeTempDir(const std::string& name) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (name + "-XXXXXX")).string();
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

inline void replaceBetween(std::string& text, const std::string& open, const std::string& close,
                           const std::string& with) {
  const size_t from = text.find(open);
  const size_t to = from == std::string::npos ? from : text.find(close, from);
  EXPECT_NE(to, std::string::npos) << open;
  if (to != std::string::npos) text.replace(from, to + close.size() - from, with);
}

inline std::string organisation(const std::string& name, int64_t her, const std::string& unit, int64_t unit_her) {
  const auto ident = [](int64_t id) {
    return "<Ident><Id>" + std::to_string(id) +
           "</Id><TypeId V=\"HER\" DN=\"HER-id\" S=\"2.16.578.1.12.4.1.1.9051\"/></Ident>";
  };
  return "<Organisation><OrganisationName>" + name + "</OrganisationName>" + ident(her) +
         "<Organisation><OrganisationName>" + unit + "</OrganisationName>" + ident(unit_her) +
         "</Organisation></Organisation>";
}

/** The hospital's need-for-IP notice to the municipality: the Helsefaglig dialog sample, from the hospital ward to
 *  the municipality's coordinating unit, with the need-for-IP topic and `msg_id`. */
inline std::string needForIpMessage(const std::string& msg_id = "d93cebe5-ac91-4022-8969-4f93300d8171") {
  std::string message =
      readFile(samplesDir() / "dialogmelding-1.1/Helsefaglig_dialog_angi_profesjon_hos_mottaker.xml");
  replaceBetween(message, "<Sender>", "</Sender>",
                 "<Sender>" + organisation("ST OLAVS HOSPITAL HF", 59, "Ortopedisk kirurgi", kHospitalHer) +
                     "</Sender>");
  replaceBetween(message, "<Receiver>", "</Receiver>",
                 "<Receiver>" +
                     organisation("TRONDHEIM KOMMUNE", 112374, "Koordinerende enhet", kMunicipalityHer) +
                     "</Receiver>");
  replaceBetween(message, "<MsgId>", "</MsgId>", "<MsgId>" + msg_id + "</MsgId>");
  replaceBetween(message, "<Tema>", "</Tema>", "<Tema>Behov for individuell plan</Tema>");
  return message;
}

/** A municipality's planbro without the server: the durable (SQLite) store in `dir`, the operations layer over
 *  it, and the inbound processor writing through it. */
struct PloStore {
  std::unique_ptr<gateway::store::ResourceStore> store;
  std::unique_ptr<gateway::search::SearchExecutor> executor;
  std::unique_ptr<gateway::ops::Operations> operations;
  std::unique_ptr<InboundProcessor> processor;

  void open(const std::string& dir) {
    gateway::store::SqliteStoreOptions so;
    so.path = dir + "/planbro.db";
    auto s = gateway::store::openSqliteStore(so);
    ASSERT_TRUE(s.isOk()) << s.status().message();
    store = std::move(s).value();
    executor = std::make_unique<gateway::search::SearchExecutor>(*store, gateway::search::ExecutorOptions{});
    operations = std::make_unique<gateway::ops::Operations>(*store, *executor);
    ASSERT_NE(sharedCodec(), nullptr);
    processor = std::make_unique<InboundProcessor>(sharedCodec(), operations.get(), InboundOptions{});
  }
  ~PloStore() { close(); }
  void close() {
    processor.reset();
    operations.reset();
    executor.reset();
    store.reset();
  }
  size_t count(const std::string& type) {
    auto ids = operations->findIds(type, {{"_lastUpdated", "ge2000-01-01"}}, 1000);
    EXPECT_TRUE(ids.isOk()) << ids.status().message();
    return ids.isOk() ? ids->size() : 0;
  }
};

/** One party at the message service: its key file and client registration. */
struct MshParty {
  std::string client_id;
  std::string key_file;
  std::shared_ptr<HelseIdClient> helseid;
  std::unique_ptr<MshClient> client;
};

inline MshClientOptions loopbackClientOptions(const MshLoopback& loopback) {
  MshClientOptions o;
  o.base_url = loopback.baseUrl();
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.timeout = std::chrono::milliseconds(10000);
  o.backoff_initial = std::chrono::milliseconds(1);
  o.backoff_max = std::chrono::milliseconds(4);
  return o;
}

/** Registers `client_id` for `her_id` at the loopback and writes its key to `dir`. */
inline MshParty makeParty(MshLoopback& loopback, const std::string& dir, const std::string& client_id, int64_t her_id,
                          MshClientOptions options = {}) {
  MshParty party;
  party.client_id = client_id;
  const TestJwk jwk = makeTestJwk();
  party.key_file = dir + "/" + client_id + ".jwk";
  writePrivateFile(party.key_file, jwk.private_jwk);
  loopback.registerClient(client_id, jwk.public_jwk, {her_id});
  HelseIdOptions h;
  h.token_endpoint = loopback.tokenEndpoint();
  h.client_id = client_id;
  h.key_file = party.key_file;
  h.scope = "nhn:msh/api";
  auto helseid = HelseIdClient::create(h);
  EXPECT_TRUE(helseid.isOk()) << helseid.status().message();
  if (!helseid.isOk()) return party;
  party.helseid = std::move(helseid).value();
  if (options.base_url.empty()) options = loopbackClientOptions(loopback);
  auto client = MshClient::create(options, party.helseid, /*allow_plain_http=*/true);
  EXPECT_TRUE(client.isOk()) << client.status().message();
  if (client.isOk()) party.client = std::move(client).value();
  return party;
}

}  // namespace planbro::adapters::plo::testing
