#include "agent/nodeattest/attest_stream.h"

#include "absl/strings/str_cat.h"

namespace spirecvm::agent {

using spirecvm::agent::v1::AttestAgentRequest;
using spirecvm::agent::v1::AttestAgentResponse;

absl::StatusOr<AttestAgentResponse::Result> AttestOverStream(AttestStream& stream, NodeAttestorClient& attestor,
                                                             const AttestationKeyInfo& key) {
  auto session = attestor.Start(key);
  if (!session.ok()) return session.status();
  auto payload = (*session)->Payload();
  if (!payload.ok()) {
    return absl::Status(payload.status().code(),
                        absl::StrCat(attestor.type(), " attestor: ", payload.status().message()));
  }
  AttestAgentRequest first;
  first.mutable_params()->mutable_data()->set_type(attestor.type());
  first.mutable_params()->mutable_data()->set_payload(std::move(*payload));
  first.mutable_params()->set_csr(key.csr_der);
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
      absl::Status st = stream.Finish();
      if (!st.ok()) return st;
      if (result.svid().cert_chain_size() == 0) return absl::InternalError("attestation result has no SVID");
      return result;
    }
    if (!resp.has_challenge()) return absl::InternalError("attestation response has neither challenge nor result");
    if (round >= kMaxChallengeRounds) {
      return absl::ResourceExhaustedError(absl::StrCat("server sent more than ", kMaxChallengeRounds, " challenges"));
    }
    auto answer = (*session)->AnswerChallenge(resp.challenge());
    if (!answer.ok()) {
      return absl::Status(answer.status().code(),
                          absl::StrCat(attestor.type(), " attestor challenge: ", answer.status().message()));
    }
    AttestAgentRequest next;
    next.set_challenge_response(std::move(*answer));
    if (!stream.Write(next)) {
      absl::Status st = stream.Finish();
      return st.ok() ? absl::UnavailableError("attestation stream closed while answering a challenge") : st;
    }
  }
}

}  // namespace spirecvm::agent
