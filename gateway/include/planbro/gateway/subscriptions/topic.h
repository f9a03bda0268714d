#pragma once
// The gateway's own SubscriptionTopics (R5 Backport IG, topic-based Subscriptions). R4 has no SubscriptionTopic
// resource; as the IG does for R4 each topic is a Basic (code fhir-types#SubscriptionTopic) with the R5
// cross-version extensions. They come from the conformance package (conformance/ip/input/fsh/subscriptions.fsh, the
// Basic-*.json files in conformance/ip/package), read once at start; a topic-based Subscription names one by its
// canonical URL in Subscription.criteria.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/status.h"

namespace planbro::gateway::subscriptions {

inline constexpr std::string_view kTopicExtension = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic";

struct Topic {
  std::string id;     // the Basic's id
  std::string url;    // the canonical URL Subscriptions name
  std::string title;
  /** The resource types whose create, update or delete triggers it (resourceTrigger.resource). */
  std::vector<std::string> types;
  /** Per type, the search parameters a Subscription may filter by (canFilterBy). */
  std::map<std::string, std::vector<std::string>> filters;
  std::string json;   // the Basic, as served
};

/** Immutable once loaded; any number of threads may read it. */
class TopicCatalog {
 public:
  /**
   * Reads every Basic-*.json in `dir` (not below it) whose code is fhir-types#SubscriptionTopic. Errors
   * (kInvalidArgument naming the file): a file that does not parse, a topic without a url or without a resource
   * trigger, a trigger naming no resource type, two topics with one url.
   */
  static Result<std::shared_ptr<const TopicCatalog>> loadDirectory(const std::filesystem::path& dir);
  /** From Basic resources given as JSON (tests). Same errors. */
  static Result<std::shared_ptr<const TopicCatalog>> fromJson(const std::vector<std::string>& basics);

  /** The topic with this canonical URL (a `|version` suffix is ignored), or nullptr. */
  const Topic* find(std::string_view url) const;
  /** Whether `id` is the id of a topic's Basic. */
  bool hasId(std::string_view id) const;
  const std::vector<Topic>& topics() const { return topics_; }

 private:
  std::vector<Topic> topics_;
};

/** Whether `basic` (a Basic resource) is coded as a SubscriptionTopic. */
bool isTopicBasic(const fhir::JsonValue& basic);

}  // namespace planbro::gateway::subscriptions
