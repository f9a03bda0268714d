// The PLO adapter's registration: adapters.plo turned into the running adapter (codec, mapping table, file spool,
// MSH poll loop, AppRec tracker) and the `plo` dispatch transport. Moved here from the serve setup, so the serve
// setup knows adapters only through the registry.
#include "planbro/adapters/plo/plo_registration.h"

#include "planbro/adapters/plo/plo_adapter.h"
#include "planbro/adapters/plo/plo_transport.h"
#include "planbro/adapters/plo/signature.h"

namespace planbro::adapters::plo {
namespace {

class RunningPlo final : public RunningAdapter {
 public:
  RunningPlo(const AdapterContext& context, std::unique_ptr<PloAdapter> adapter)
      : config_(context.config.adapters.plo), store_(context.store), operations_(context.operations),
        info_(context.info), adapter_(std::move(adapter)) {}

  // A `plo` subscriber sends Dialogmelding through the adapter's MSH client (adapters.plo.msh, docs/adapters.md);
  // every message is tracked until its AppRec arrives.
  Result<std::shared_ptr<gateway::dispatch::Transport>> transport(
      const gateway::config::DispatchSubscriberConfig& s) override {
    if (!adapter_->mshClient()) {
      return invalidArgument("kind " + s.kind + " needs adapters.plo.enabled and adapters.plo.msh.base_url");
    }
    PloTransportOptions to;
    to.self.name = config_.name;
    to.self.idents.push_back({config_.her_id, "HER"});
    to.tracker = adapter_->tracker();
    std::shared_ptr<MshClient> client = adapter_->mshClient();
    return makePloTransport(
        to, store_, operations_, [client](const std::string& xml, int64_t her) { return client->postMessage(xml, {her}); },
        [info = info_](const SentDialog& sent) {
          info("plo adapter: sent " + sent.msg_id + " (" + sent.status_text + ") to HER " +
               std::to_string(sent.receiver_her_id));
        });
  }

 private:
  const gateway::config::PloAdapterConfig& config_;
  gateway::store::ResourceStore& store_;
  gateway::ops::Operations& operations_;
  std::function<void(std::string_view)> info_;
  std::unique_ptr<PloAdapter> adapter_;
};

Result<std::unique_ptr<RunningAdapter>> startPlo(const AdapterContext& context) {
  namespace config = gateway::config;
  const config::PloAdapterConfig& plo = context.config.adapters.plo;
  PloAdapterOptions ao;
  ao.data_dir = plo.data_dir;
  ao.codec.max_message_bytes = static_cast<size_t>(plo.max_message_bytes);
  ao.codec.xml.max_bytes = static_cast<size_t>(plo.max_message_bytes);
  ao.codec.xml.max_depth = plo.max_depth;
  ao.codec.xml.max_attributes = context.config.limits.xml_max_attributes;
  ao.codec.xml.max_name_bytes = context.config.limits.xml_max_name_bytes;
  ao.codec.require_signature = plo.require_signature;
  if (plo.verify_signatures) {
    auto verifier = SignatureVerifier::fromFile(plo.trusted_certificates_file);
    if (!verifier.isOk()) {
      return Status(verifier.status().code(),
                    "adapters.plo.trusted_certificates_file: " + verifier.status().message());
    }
    ao.codec.signatures = std::move(verifier).value();
  }
  ao.inbound.apprec_version = plo.apprec_version;
  ao.inbound.self.name = plo.name;
  if (!plo.her_id.empty()) ao.inbound.self.idents.push_back({plo.her_id, "HER"});
  ao.spool = {plo.spool.in_dir, plo.spool.out_dir, plo.spool.error_dir, plo.spool.work_dir,
              plo.spool.max_files_per_poll, plo.spool.workers};
  ao.poll_interval = std::chrono::milliseconds(plo.spool.poll_interval_ms);
  ao.log = context.info;
  if (const config::PloMshConfig& m = plo.msh; !m.base_url.empty()) {
    PloMshOptions mo;
    mo.helseid.token_endpoint = m.token_endpoint;
    mo.helseid.client_id = m.client_id;
    mo.helseid.key_file = m.key_file;
    mo.helseid.scope = m.scope;
    mo.helseid.ca_file = m.ca_file;
    mo.helseid.connect_timeout = std::chrono::milliseconds(m.connect_timeout_ms);
    mo.helseid.timeout = std::chrono::milliseconds(m.timeout_ms);
    mo.client.base_url = m.base_url;
    mo.client.api_version = m.api_version;
    mo.client.source_system = m.source_system;
    mo.client.ca_file = m.ca_file;
    mo.client.connect_timeout = std::chrono::milliseconds(m.connect_timeout_ms);
    mo.client.timeout = std::chrono::milliseconds(m.timeout_ms);
    mo.client.max_attempts = m.max_attempts;
    mo.client.backoff_initial = std::chrono::milliseconds(m.backoff_initial_ms);
    mo.client.backoff_max = std::chrono::milliseconds(m.backoff_max_ms);
    mo.inbound.her_id = std::stoll(plo.her_id);  // validated: a positive integer, required with msh
    mo.inbound.max_messages_per_poll = m.max_messages_per_poll;
    mo.inbound.max_failures_per_message = m.max_failures_per_message;
    // Received AppRecs: counted and logged (the inbound processor has matched them to the tracked messages).
    auto* received = &context.metrics.counter("planbro_plo_apprecs_received_total",
                                       "AppRecs received through the message service, by status", {"status"});
    mo.inbound.on_apprec = [received, info = context.info](const MshMessage& envelope, const ReceivedAppRec& apprec) {
      const std::string status = mshAppRecStatus(apprec.status);
      received->withLabels({status}).inc();
      info("plo adapter: AppRec " + status + " from HER " + std::to_string(envelope.sender_her_id) + " for message " +
           apprec.original_msg_id);
      return Status::ok();
    };
    // The mailbox's traffic and the polls that could not read it, for alerting on a silent message service.
    auto* messages = &context.metrics.counter("planbro_plo_msh_messages_total",
                                       "Messages taken from the MSH mailbox, by result", {"result"});
    auto* poll_failures = &context.metrics.counter("planbro_plo_msh_poll_failures_total",
                                            "MSH polls whose message list could not be read");
    mo.on_poll = [messages, poll_failures](const Result<MshPollStats>& poll) {
      if (!poll.isOk()) return poll_failures->get().inc();
      messages->withLabels({"accepted"}).inc(poll->accepted);
      messages->withLabels({"rejected"}).inc(poll->rejected);
      messages->withLabels({"apprec"}).inc(poll->apprecs_received);
      messages->withLabels({"retry_later"}).inc(poll->retry_later);
      messages->withLabels({"set_aside"}).inc(poll->set_aside);
    };
    mo.allow_plain_http = m.allow_plain_http;
    mo.poll_interval = std::chrono::milliseconds(m.poll_interval_ms);
    ao.msh = std::move(mo);
  }
  // Every message the `plo` transport sends waits for its AppRec in the store (docs/adapters.md).
  AppRecTrackerOptions tracking;
  tracking.timeouts.timeout = std::chrono::minutes(plo.apprec_timeout_minutes);
  tracking.timeouts.max_resends = static_cast<int>(plo.apprec_max_resends);
  tracking.max_per_sweep = plo.apprec_max_per_sweep;
  auto* apprec_events = &context.metrics.counter("planbro_plo_apprec_events_total",
                                          "Messages sent and what became of them while awaiting their AppRec",
                                          {"event"});
  tracking.on_event = [apprec_events](std::string_view event) {
    apprec_events->withLabels({std::string(event)}).inc();
  };
  tracking.log = context.warn;
  ao.tracking = std::move(tracking);
  ao.store = &context.store;
  auto started = PloAdapter::start(std::move(ao), context.operations);
  if (!started.isOk()) return Status(started.status().code(), "adapters.plo: " + started.status().message());
  if (!plo.spool.in_dir.empty()) context.info("plo adapter: polling " + plo.spool.in_dir);
  if (!plo.msh.base_url.empty()) context.info("plo adapter: polling the MSH mailbox of HER " + plo.her_id);
  return std::unique_ptr<RunningAdapter>(new RunningPlo(context, std::move(started).value()));
}

}  // namespace

Status registerPloAdapter(AdapterRegistry& registry) {
  AdapterFactory factory;
  factory.name = std::string(PloAdapter::kName);
  factory.transport_kind = "plo";
  factory.enabled = [](const gateway::config::GatewayConfig& c) { return c.adapters.plo.enabled; };
  factory.start = startPlo;
  return registry.add(std::move(factory));
}

}  // namespace planbro::adapters::plo
