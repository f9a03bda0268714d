#pragma once
// Rules that span the entries of a Bundle, the data of an Attachment, and the links of a narrative: what the
// structural walk in validator.cc cannot see from one element.
//
//  - Bundle references resolve as the specification's "Resolving references in Bundles" says: an absolute reference
//    or a urn:uuid:/urn:oid: one matches an entry's fullUrl; a relative one ("Patient/1") is made absolute against
//    the base of the referring entry's RESTful fullUrl; a versioned one ("/_history/2") must find that
//    meta.versionId. What an unresolved reference means depends on the Bundle type: in a document every reference
//    must resolve (error) and every entry should be reachable from the Composition (warning); in a message, a
//    transaction or a batch urn: references must resolve (error); elsewhere an unresolved urn: is a warning.
//  - Two entries with one identity (the same resource type and id, or the same fullUrl, without different
//    versionIds) are an error outside history bundles, and a RESTful fullUrl must name its resource's type and id.
//  - Attachment.size and Attachment.hash (base64 SHA-1) agree with Attachment.data.
//  - A narrative link to "#id" names an id or name attribute in the narrative, a contained resource or an element id.

#include <string>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/operation_outcome.h"

namespace planbro::fhir::validation {

/** `location` is the Bundle's path ("Bundle", "Bundle.entry[0].resource"). */
void checkBundleRules(const JsonValue& bundle, const std::string& location, OperationOutcome& out);

/** `location` is the Attachment's path. */
void checkAttachment(const JsonValue& attachment, const std::string& location, OperationOutcome& out);

/** `location` is the resource's path; checks resource.text.div. */
void checkNarrativeLinks(const JsonValue& resource, const std::string& location, OperationOutcome& out);

}  // namespace planbro::fhir::validation
