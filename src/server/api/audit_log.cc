#include "server/api/audit_log.h"

#include <algorithm>
#include <array>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "crypto/ssl_ptr.h"
#include "crypto/x509.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/auth_context.h"
#include "openssl/pem.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server {
namespace {

namespace pb = google::protobuf;

constexpr size_t kMaxValue = 256;
constexpr int kMaxDepth = 4;
constexpr size_t kMaxRepeated = 8;
constexpr size_t kMaxFields = 32;

bool SecretName(std::string_view name) {
  static constexpr std::array<std::string_view, 9> kSecret = {"token", "nonce",   "key",       "secret",  "svid",
                                                              "csr",   "payload", "challenge", "password"};
  const std::string lower = absl::AsciiStrToLower(std::string(name));
  return std::any_of(kSecret.begin(), kSecret.end(), [&](std::string_view s) { return lower.find(s) != lower.npos; });
}

std::string Quote(std::string_view text) {
  std::string v(text.substr(0, kMaxValue));
  if (text.size() > kMaxValue) v += "...";
  std::string out = logging::EscapeForLog(v);
  std::string quoted = "\"";
  for (char c : out) {
    if (c == '"') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

std::string Scalar(const pb::Message& m, const pb::Reflection& r, const pb::FieldDescriptor& f, int i) {
  using FD = pb::FieldDescriptor;
  const bool rep = f.is_repeated();
  switch (f.cpp_type()) {
    case FD::CPPTYPE_STRING:
      return Quote(rep ? r.GetRepeatedString(m, &f, i) : r.GetString(m, &f));
    case FD::CPPTYPE_INT32:
      return absl::StrCat(rep ? r.GetRepeatedInt32(m, &f, i) : r.GetInt32(m, &f));
    case FD::CPPTYPE_INT64:
      return absl::StrCat(rep ? r.GetRepeatedInt64(m, &f, i) : r.GetInt64(m, &f));
    case FD::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r.GetRepeatedUInt32(m, &f, i) : r.GetUInt32(m, &f));
    case FD::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r.GetRepeatedUInt64(m, &f, i) : r.GetUInt64(m, &f));
    case FD::CPPTYPE_BOOL:
      return (rep ? r.GetRepeatedBool(m, &f, i) : r.GetBool(m, &f)) ? "true" : "false";
    case FD::CPPTYPE_ENUM:
      return (rep ? r.GetRepeatedEnum(m, &f, i) : r.GetEnum(m, &f))->name();
    default:
      return "";  // floating point: nothing in SPIRE's requests
  }
}

void Collect(const pb::Message& m, const std::string& prefix, int depth,
             std::vector<std::pair<std::string, std::string>>& out) {
  const pb::Reflection& r = *m.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r.ListFields(m, &fields);  // only the fields that are set
  for (const pb::FieldDescriptor* f : fields) {
    if (out.size() >= kMaxFields) return;
    if (SecretName(f->name()) || f->type() == pb::FieldDescriptor::TYPE_BYTES) continue;
    const std::string name = prefix + f->name();
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (depth >= kMaxDepth) continue;
      if (!f->is_repeated()) {
        Collect(r.GetMessage(m, f), name + ".", depth + 1, out);
        continue;
      }
      const int n = r.FieldSize(m, f);
      out.emplace_back(name + ".count", absl::StrCat(n));
      for (int i = 0; i < n && static_cast<size_t>(i) < kMaxRepeated; ++i) {
        Collect(r.GetRepeatedMessage(m, f, i), absl::StrCat(name, ".", i, "."), depth + 1, out);
      }
      continue;
    }
    if (!f->is_repeated()) {
      out.emplace_back(name, Scalar(m, r, *f, 0));
      continue;
    }
    std::vector<std::string> values;
    const int n = r.FieldSize(m, f);
    for (int i = 0; i < n && static_cast<size_t>(i) < kMaxRepeated; ++i) values.push_back(Scalar(m, r, *f, i));
    if (static_cast<size_t>(n) > kMaxRepeated) values.push_back("...");
    out.emplace_back(name, absl::StrCat("[", absl::StrJoin(values, ","), "]"));
  }
}

// The URI SAN of the TLS peer's leaf certificate (as presented; the services verify it).
std::string PeerSpiffeId(const grpc::ServerContextBase* ctx) {
  if (ctx == nullptr) return "";
  std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
  if (auth == nullptr) return "";
  std::vector<grpc::string_ref> pem = auth->FindPropertyValues("x509_pem_cert");
  if (pem.empty()) return "";
  auto certs = crypto::ParseCertsPem(std::string_view(pem[0].data(), pem[0].size()));
  if (!certs.ok() || certs->empty()) return "";
  std::vector<std::string> uris = crypto::UriSans((*certs)[0].get());
  return uris.size() == 1 ? uris[0] : "";
}

std::string CodeName(int code) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  return code >= 0 && code < static_cast<int>(kNames.size()) ? std::string(kNames[code]) : absl::StrCat(code);
}

}  // namespace

// Whether the method's received message is a generated protobuf message. gRPC hands interceptors an untyped
// pointer; services built on raw ByteBuffers (gRPC's own default health service, grpc.health.v1) must never be read
// as a Message. Our services are generated from protos compiled into this binary, so their methods are in the
// generated pool; "/pkg.Service/Method" -> "pkg.Service.Method".
bool HasProtobufRequest(std::string_view method) {
  if (method.size() < 4 || method.front() != '/' || method.starts_with("/grpc.health.v1.")) return false;
  std::string full(method.substr(1));
  const size_t slash = full.rfind('/');
  if (slash == std::string::npos) return false;
  full[slash] = '.';
  return pb::DescriptorPool::generated_pool()->FindMethodByName(full) != nullptr;
}

std::optional<BatchItemFailure> FirstFailedItem(const pb::Message& resp) {
  const pb::FieldDescriptor* results = resp.GetDescriptor()->FindFieldByName("results");
  if (results == nullptr || !results->is_repeated() || results->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
    return std::nullopt;
  }
  const pb::Reflection& r = *resp.GetReflection();
  for (int i = 0; i < r.FieldSize(resp, results); ++i) {
    const pb::Message& item = r.GetRepeatedMessage(resp, results, i);
    const pb::FieldDescriptor* st = item.GetDescriptor()->FindFieldByName("status");
    if (st == nullptr || st->is_repeated() || st->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const pb::Message& status = item.GetReflection()->GetMessage(item, st);
    const pb::FieldDescriptor* c = status.GetDescriptor()->FindFieldByName("code");
    const pb::FieldDescriptor* m = status.GetDescriptor()->FindFieldByName("message");
    if (c == nullptr || c->is_repeated() || c->cpp_type() != pb::FieldDescriptor::CPPTYPE_INT32) continue;
    const int v = status.GetReflection()->GetInt32(status, c);
    if (v == 0) continue;
    BatchItemFailure f{i, v, {}};
    if (m != nullptr && !m->is_repeated() && m->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
      f.message = status.GetReflection()->GetString(status, m);
    }
    return f;
  }
  return std::nullopt;
}

namespace {

class AuditInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit AuditInterceptor(grpc::experimental::ServerRpcInfo* info) : info_(info) {
    rec_.method = info->method() != nullptr ? info->method() : "";
    typed_request_ = HasProtobufRequest(rec_.method);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using H = grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(H::POST_RECV_MESSAGE) && typed_request_ && !have_request_) {
      if (const void* msg = methods->GetRecvMessage(); msg != nullptr) {
        rec_.fields = AuditRequestFields(*static_cast<const pb::Message*>(msg));
        have_request_ = true;
      }
    }
    if (methods->QueryInterceptionHookPoint(H::PRE_SEND_MESSAGE) && typed_request_ && item_code_ == 0) {
      if (const void* msg = methods->GetSendMessage(); msg != nullptr) {
        if (auto f = FirstFailedItem(*static_cast<const pb::Message*>(msg)); f.has_value()) {
          item_code_ = f->code;
          item_message_ = std::move(f->message);
        }
      }
    }
    if (methods->QueryInterceptionHookPoint(H::PRE_SEND_STATUS)) {
      grpc::Status st = methods->GetSendStatus();
      rec_.status_code = st.error_code();
      rec_.status_message = st.error_message();
      if (st.ok() && item_code_ != 0) {  // a batch call refused an item: SPIRE audits the refusal, so do we
        rec_.status_code = item_code_;
        rec_.status_message = absl::StrCat("batch item refused: ", item_message_);
      }
      const grpc::ServerContextBase* ctx = info_->server_context();
      if (ctx != nullptr) rec_.caller_addr = ctx->peer();
      rec_.caller_id = PeerSpiffeId(ctx);
      rec_.caller_verified = st.ok();
      spdlog::info("{}", FormatAuditLine(rec_));
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;
  AuditRecord rec_;
  bool typed_request_ = false;
  int item_code_ = 0;
  std::string item_message_;
  bool have_request_ = false;
};

class AuditFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new AuditInterceptor(info);
  }
};

}  // namespace

std::vector<std::pair<std::string, std::string>> AuditRequestFields(const google::protobuf::Message& m) {
  std::vector<std::pair<std::string, std::string>> out;
  Collect(m, "request.", 0, out);
  return out;
}

std::string FormatAuditLine(const AuditRecord& r) {
  std::string line = absl::StrCat("type=audit method=", Quote(r.method), " caller_addr=", Quote(r.caller_addr));
  if (!r.caller_id.empty()) {
    absl::StrAppend(&line, r.caller_verified ? " caller_id=" : " presented_id=", Quote(r.caller_id));
  }
  absl::StrAppend(&line, " status=", r.status_code == 0 ? "success" : "error",
                  " status_code=", CodeName(r.status_code));
  if (r.status_code != 0) absl::StrAppend(&line, " status_message=", Quote(r.status_message));
  for (const auto& [k, v] : r.fields) absl::StrAppend(&line, " ", k, "=", v);
  return line;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewAuditLogInterceptorFactory() {
  return std::make_unique<AuditFactory>();
}

}  // namespace spirecvm::server
