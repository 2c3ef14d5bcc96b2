// Conversions between DataStore records and the wire types of the agent and admin APIs.
#pragma once

#include "server/datastore/datastore.h"
#include "types.pb.h"

namespace spirecvm::server {

void ToProto(const datastore::RegistrationEntry& e, types::Entry* out);
datastore::RegistrationEntry FromProto(const types::Entry& e);
void ToProto(const datastore::AttestedNode& n, types::AttestedNode* out);
void ToProto(const datastore::BundleRecord& b, types::Bundle* out);

}  // namespace spirecvm::server
