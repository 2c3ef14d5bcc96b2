// A simulated SPIRE agent: its own P-256 key, join-token attestation over a fresh TLS connection, then its own
// mTLS channel with its agent SVID for SyncAuthorizedEntries / GetAuthorizedEntries, BatchNewX509SVID for its
// workloads' entries and RenewAgent. Every call is asynchronous (gRPC's callback API): the methods start the call
// and return; completion is recorded in the Phase passed in, with latency measured from `scheduled`.
// Thread-safety: every method may be called from any thread; calls of one agent may overlap (open loop).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "crypto/ssl_ptr.h"
#include "grpcpp/grpcpp.h"
#include "loadgen/phase.h"
#include "loadgen/scheduler.h"
#include "spire/api/types/x509svid.pb.h"

namespace spirecvm::loadgen {

// Where the agents connect and what they trust.
struct Target {
  std::string address;       // host:port of the server's agent API
  std::string trust_domain;  // e.g. example.org
  std::string bundle_pem;    // the server's trust bundle (spire-server bundle show)
  std::chrono::milliseconds rpc_timeout{30000};
};

// Workload CSRs (P-256, DER) shared by all agents: the server does the same work for each (parse, verify the
// self-signature, sign), and the load generator does not spend the machine's CPU making thousands of keys.
using CsrPool = std::vector<std::string>;
absl::StatusOr<CsrPool> MakeCsrPool(size_t n);

class SimAgent {
 public:
  SimAgent(const Target& target, std::string join_token);
  absl::Status Init();  // generates the key and the agent CSR

  void Attest(TimePoint scheduled, Phase* phase);
  void Sync(TimePoint scheduled, Phase* phase);  // SyncAuthorizedEntries, all rounds of the stream
  void GetEntries(TimePoint scheduled, Phase* phase);
  void BatchNewSvids(TimePoint scheduled, Phase* phase, const CsrPool& pool);
  void Renew(TimePoint scheduled, Phase* phase);

  bool Attested() const;
  bool RenewDue(std::chrono::system_clock::time_point now) const;  // past half of the agent SVID's life
  size_t EntryCount() const;
  const std::string& token() const { return token_; }

  // Completion hooks of the calls (public for the reactors in agent.cc).
  void OnSvid(const spire::api::types::X509SVID& svid);
  void OnEntries(std::vector<std::string> ids);

 private:
  std::shared_ptr<grpc::Channel> MakeChannel(const std::string& chain_pem) const;  // empty: no client cert
  std::shared_ptr<grpc::Channel> AgentChannel() const;

  const Target& target_;
  const std::string token_;
  ssl::EvpPkeyPtr key_;
  std::string key_pem_;
  std::string csr_der_;

  mutable std::mutex mu_;
  std::shared_ptr<grpc::Channel> channel_;
  std::chrono::system_clock::time_point issued_{}, expires_{};
  bool renewing_ = false;
  std::vector<std::string> entry_ids_;
};

}  // namespace spirecvm::loadgen
