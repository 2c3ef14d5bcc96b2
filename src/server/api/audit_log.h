// The server's audit log (server.audit_log_enabled, as SPIRE's): one structured line per agent-API and admin-API
// call, written by a gRPC server interceptor when the call ends:
//
//   type=audit method=/spire.api.server.agent.v1.Agent/AttestAgent caller_addr=ipv4:127.0.0.1:40000
//       caller_id=spiffe://example.org/spire/agent/...   (presented_id= when the call was refused: not verified)
//       status=error status_code=PermissionDenied status_message="..." request.params.data.type="aws_iid"
//
// Request fields are those of the call's first request message (SPIRE logs the non-secret fields of each call):
// strings, numbers, booleans and enums, nested messages flattened with dots. Never logged: bytes fields (CSRs,
// payloads, challenge responses, keys, certificates) and any field whose name says it holds a secret (token, nonce,
// key, secret, svid, csr, payload, challenge). Agent- and workload-controlled text is quoted, escaped and truncated,
// so a caller cannot forge an audit line. On the admin socket the caller address is the socket (gRPC does not hand
// the peer's credentials to interceptors; the socket's directory mode 0750 admits only its owner and group).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/message.h"
#include "grpcpp/support/server_interceptor.h"

namespace spirecvm::server {

struct AuditRecord {
  std::string method;
  std::string caller_addr;
  std::string caller_id;  // the SPIFFE ID of the peer certificate's URI SAN, if any
  bool caller_verified = false;
  int status_code = 0;  // grpc::StatusCode
  std::string status_message;
  std::vector<std::pair<std::string, std::string>> fields;  // request.<path> -> value (already quoted if text)
};

// Whether calls of `method` ("/pkg.Service/Method") receive a generated protobuf message the audit line may read:
// false for gRPC's raw-ByteBuffer health service and for methods not compiled into this binary.
bool HasProtobufRequest(std::string_view method);

// The non-secret fields of a request message, as above.
std::vector<std::pair<std::string, std::string>> AuditRequestFields(const google::protobuf::Message& m);

// SPIRE's batch answers (BatchNewX509SVID, BatchCreateEntry, ...: `results[i].status {code, message}`): the first
// item refused, found by reflection so every batch method is covered; nullopt when every item succeeded or the
// message has no such results.
struct BatchItemFailure {
  int index = 0;
  int code = 0;  // grpc::StatusCode
  std::string message;
};
std::optional<BatchItemFailure> FirstFailedItem(const google::protobuf::Message& response);

// The single line for one call.
std::string FormatAuditLine(const AuditRecord& r);

// Installs the audit interceptor on a server builder's interceptor list (grpc::ServerBuilder::
// experimental().SetInterceptorCreators). Thread-safe: each call has its own interceptor instance.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewAuditLogInterceptorFactory();

}  // namespace spirecvm::server
