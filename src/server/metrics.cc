#include "server/metrics.h"

#include "absl/strings/str_cat.h"

namespace spirecvm::server {
namespace {

void Counter(std::string& out, const char* name, const char* help, uint64_t v) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " counter\n", name, " ", v, "\n");
}
void Gauge(std::string& out, const char* name, const char* help, int64_t v) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " gauge\n", name, " ", v, "\n");
}

}  // namespace

std::string Metrics::Render(int64_t entries, int64_t agents, size_t cached_entries) const {
  std::string out;
  Counter(out, "spire_server_node_attestations_total", "Successful node attestations.", attestations_ok.load());
  Counter(out, "spire_server_node_attestation_failures_total", "Refused node attestations.",
          attestations_failed.load());
  Counter(out, "spire_server_x509_svids_minted_total", "X509-SVIDs signed (agents, workloads, x509 mint).",
          x509_svids_minted.load());
  Counter(out, "spire_server_jwt_svids_minted_total", "JWT-SVIDs signed.", jwt_svids_minted.load());
  Counter(out, "spire_server_agent_auth_failures_total", "Agent API calls refused by authentication or authorization.",
          agent_auth_failures.load());
  Counter(out, "spire_server_entry_cache_refreshes_total", "Incremental entry cache refreshes.",
          entry_cache_refreshes.load());
  Gauge(out, "spire_server_registration_entries", "Registration entries in the DataStore.", entries);
  Gauge(out, "spire_server_attested_agents", "Attested agents in the DataStore.", agents);
  Gauge(out, "spire_server_entry_cache_entries", "Entries in this server's authorized-entries cache.",
        static_cast<int64_t>(cached_entries));
  return out;
}

}  // namespace spirecvm::server
