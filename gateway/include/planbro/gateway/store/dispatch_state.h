#pragma once
// The dispatcher's durable state, kept in the same database as the outbox (schema version 5): per subscriber a
// fixed number of partitions, each with a position (every outbox event at or below it that belongs to the partition
// is delivered or dead-lettered) and a lease (which dispatcher node works it, until when); and per event that failed
// at least once, its delivery record (attempts, next attempt, dead-lettered). See docs/dispatch.md.
//
// Leases make several nodes on one PostgreSQL database share the work with no double sending: a node works only the
// partitions it holds, every progress commit is fenced on the lease (a node that lost its lease writes nothing),
// and a lease a dead node held is taken over once it expires. On SQLite one process dispatches; the same code runs.
// Everything here blocks on the database (worker threads only). Thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::store {

/** A partition this node holds a lease on, with its durable position. */
struct HeldPartition {
  int partition = 0;
  int64_t position = 0;
  bool taken = false;  // newly taken (not this owner's before this call): drop anything held of it and reload
};

enum class DeliveryStatus {
  kRetrying = 0,            // failed, will be sent again at next_attempt (position above the partition's position)
  kDead = 1,                // gave up: kept for the admin API (retry / discard)
  kRedeliverRequested = 2,  // a dead letter an operator asked to retry: sent again by the partition's holder
};

/** One event's delivery state for one subscriber (only events that failed at least once have one). */
struct DeliveryRecord {
  int64_t position = 0;
  int partition = 0;
  int attempts = 0;
  Timestamp first_attempt{};
  Timestamp next_attempt{};
  DeliveryStatus status = DeliveryStatus::kRetrying;
  std::string last_error;
};

/** What one work round of a held partition commits, atomically and only while the lease is still `owner`'s. */
struct PartitionProgress {
  std::string subscriber;
  int partition = 0;
  std::string owner;
  int64_t position = 0;                  // the new position (never lowered by progress; replay lowers it)
  std::vector<DeliveryRecord> upserts;   // failed or dead-lettered events
  std::vector<int64_t> delivered;        // events whose record (if any) goes: delivered, or filtered
};

struct SubscriberSummary {
  std::string subscriber;
  int partitions = 0;
  int64_t min_position = 0;  // the lowest partition position: the subscriber has everything at or below it
  int64_t retrying = 0;
  int64_t dead = 0;
};

class DispatchState {
 public:
  virtual ~DispatchState() = default;

  /**
   * Creates partitions 0..partitions-1 of `subscriber` at `start_position` unless it has some already; returns the
   * number of partitions stored (a later start with another count keeps the stored one: events already assigned to
   * a partition must stay there, or per-plan order breaks). partitions 1..4096.
   */
  virtual Result<int> ensureSubscriber(std::string_view subscriber, int partitions, int64_t start_position) = 0;

  /**
   * Records `owner` as a live node, then takes or renews leases on `subscriber`'s partitions until now + ttl: the
   * ones it holds, then free or expired ones, up to its fair share (the partitions divided by the nodes seen within
   * the ttl, rounded up). A partition it holds beyond that share is released (the caller commits progress first).
   * Returns the partitions held, by partition. PostgreSQL: candidates are locked FOR UPDATE SKIP LOCKED, so two
   * nodes never take the same partition and never wait for each other.
   */
  virtual Result<std::vector<HeldPartition>> acquireLeases(std::string_view subscriber, std::string_view owner,
                                                           Timestamp now, std::chrono::microseconds ttl) = 0;

  /** Gives up every lease `owner` holds on `subscriber` (a clean stop); once it holds none of any subscriber, the
   *  node leaves the fair share at once (its dispatch_node row goes). */
  virtual Status releaseLeases(std::string_view subscriber, std::string_view owner) = 0;

  /**
   * Commits the progress of several partitions in one transaction (one fsync). Per entry: true when committed, false
   * when the partition's lease is no longer the owner's (taken over, or cleared by a replay); nothing of that entry
   * is written then, and the caller must drop what it holds of that partition.
   */
  virtual Result<std::vector<bool>> commitProgress(std::span<const PartitionProgress> progress) = 0;

  /** One partition's progress: kFailedPrecondition, writing nothing, when the lease is no longer the owner's. */
  Status commitProgress(const PartitionProgress& progress) {
    ASSIGN_OR_RETURN(std::vector<bool> done, commitProgress(std::span<const PartitionProgress>(&progress, 1)));
    if (!done[0]) {
      return failedPrecondition("the lease on " + progress.subscriber + " partition " +
                                std::to_string(progress.partition) + " is no longer held by " + progress.owner);
    }
    return Status::ok();
  }

  /** The delivery records of one partition with position > after, by position (a new lease holder resumes with them). */
  virtual Result<std::vector<DeliveryRecord>> deliveries(std::string_view subscriber, int partition, int64_t after) = 0;

  /** Records with `status` of `subscriber`, position > after, by position, at most limit (1..kMaxPageSize). */
  virtual Result<std::vector<DeliveryRecord>> recordsWithStatus(std::string_view subscriber, DeliveryStatus status,
                                                                int64_t after, size_t limit) = 0;

  /** One record, or nullopt. */
  virtual Result<std::optional<DeliveryRecord>> record(std::string_view subscriber, int64_t position) = 0;

  /** A dead letter goes back to be sent (kRedeliverRequested, attempts 0). kNotFound when it is not dead. */
  virtual Status requestRedelivery(std::string_view subscriber, int64_t position, Timestamp now) = 0;

  /** Deletes a dead letter for good. kNotFound when it is not dead. */
  virtual Status discardDeadLetter(std::string_view subscriber, int64_t position) = 0;

  /**
   * Replay: every partition of `subscriber` goes back to `position` (events above it are sent again), leases are
   * cleared (holders are fenced off and reload) and retry records above it are dropped. kNotFound for an unknown
   * subscriber.
   */
  virtual Status rewind(std::string_view subscriber, int64_t position) = 0;

  /** The last outbox position before the first event at or after `at` (replay from a time). Scans the outbox. */
  virtual Result<int64_t> positionBefore(Timestamp at) = 0;

  /** Every subscriber's summary, by name. */
  virtual Result<std::vector<SubscriberSummary>> summaries() = 0;
};

}  // namespace planbro::gateway::store
