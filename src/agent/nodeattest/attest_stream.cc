#include "agent/nodeattest/attest_stream.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace spirecvm::agent {

using agentv1::AttestAgentRequest;
using agentv1::AttestAgentResponse;

absl::StatusOr<AttestAgentResponse::Result> AttestOverStream(AttestStream& stream, NodeAttestorClient& attestor,
                                                             const AttestationKeyInfo& key) {
  ASSIGN_OR_RETURN(auto session, attestor.Start(key));
  auto payload = session->Payload();
  if (!payload.ok()) return Annotate(payload, absl::StrCat(attestor.type(), " attestor"));
  AttestAgentRequest first;
  first.mutable_params()->mutable_data()->set_type(attestor.type());
  first.mutable_params()->mutable_data()->set_payload(std::move(*payload));
  first.mutable_params()->mutable_params()->set_csr(key.csr_der);
  // A failed write means the server ended the call: its status (read via Finish) says why.
  if (!stream.Write(first)) {
    absl::Status st = stream.Finish();
    return st.ok() ? absl::UnavailableError("attestation stream closed before the first message was sent") : st;
  }
  for (int round = 0;; ++round) {
    AttestAgentResponse resp;
    if (!stream.Read(&resp)) {
      absl::Status st = stream.Finish();
      return st.ok() ? absl::UnavailableError("server closed the attestation stream without a result") : st;
    }
    if (resp.has_result()) {
      AttestAgentResponse::Result result = resp.result();
      RETURN_IF_ERROR(stream.Finish());
      if (result.svid().cert_chain_size() == 0) return absl::InternalError("attestation result has no SVID");
      return result;
    }
    if (!resp.has_challenge()) return absl::InternalError("attestation response has neither challenge nor result");
    if (round >= kMaxChallengeRounds) {
      return absl::ResourceExhaustedError(absl::StrCat("server sent more than ", kMaxChallengeRounds, " challenges"));
    }
    auto answer = session->AnswerChallenge(resp.challenge());
    if (!answer.ok()) return Annotate(answer, absl::StrCat(attestor.type(), " attestor challenge"));
    AttestAgentRequest next;
    next.set_challenge_response(std::move(*answer));
    if (!stream.Write(next)) {
      absl::Status st = stream.Finish();
      return st.ok() ? absl::UnavailableError("attestation stream closed while answering a challenge") : st;
    }
  }
}

}  // namespace spirecvm::agent
