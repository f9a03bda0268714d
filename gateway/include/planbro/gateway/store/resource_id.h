#pragma once

#include <string>

namespace planbro::gateway::store {

/**
 * A new server-assigned resource id: a version 7 UUID (RFC 9562) in lower-case text form. The first 48 bits are the
 * Unix time in milliseconds and the next 12 the fraction of that millisecond, so ids sort by creation time; the last
 * 62 bits are random (OpenSSL's generator, drawn 64 ids at a time per thread). Thread-safe.
 *
 * Why time-ordered: every table and index that ends in the id (the resource head, the version history, the search
 * index's per-resource and per-value indexes) then receives new rows at its end instead of on a random page. Rows
 * that share a value (gender, status, subject) go to one hot leaf, which a group commit writes once for all its
 * members, instead of one leaf per row (docs/performance.md). The id reveals when the resource was created, which
 * meta.lastUpdated of its first version does anyway.
 */
std::string newResourceId();

}  // namespace planbro::gateway::store
