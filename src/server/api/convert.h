// Conversions between DataStore records and the wire types of the agent and admin APIs.
#pragma once

#include <string>

#include "server/ca/ca_manager.h"
#include "server/datastore/datastore.h"
#include "types.pb.h"

namespace spirecvm::server {

void ToProto(const datastore::RegistrationEntry& e, types::Entry* out);
datastore::RegistrationEntry FromProto(const types::Entry& e);
void ToProto(const datastore::AttestedNode& n, types::AttestedNode* out);
void ToProto(const datastore::BundleRecord& b, types::Bundle* out);
// A signed X509-SVID (chain leaf first) for `spiffe_id` as the wire type.
void SetSvid(const std::string& spiffe_id, const SignedX509Svid& svid, types::X509SVID* out);

}  // namespace spirecvm::server
