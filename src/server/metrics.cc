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
  // SPIRE's names (server_ca.sign.x509_svid, server_ca.sign.jwt_svid, entry.cache.reload) where SPIRE counts the same.
  Counter(out, "spire_server_server_ca_sign_x509_svid", "X509-SVIDs signed (agents, workloads, x509 mint).",
          x509_svids_minted.load());
  Counter(out, "spire_server_server_ca_sign_jwt_svid", "JWT-SVIDs signed.", jwt_svids_minted.load());
  Counter(out, "spire_server_agent_auth_failures_total", "Agent API calls refused by authentication or authorization.",
          agent_auth_failures.load());
  absl::StrAppend(&out, "# HELP spire_server_entry_cache_reload Entry cache refreshes from the DataStore.\n",
                  "# TYPE spire_server_entry_cache_reload counter\n", "spire_server_entry_cache_reload{status=\"OK\"} ",
                  entry_cache_refreshes.load(), "\n");
  Gauge(out, "spire_server_registration_entries", "Registration entries in the DataStore.", entries);
  Gauge(out, "spire_server_attested_agents", "Attested agents in the DataStore.", agents);
  Gauge(out, "spire_server_entry_cache_entries", "Entries in this server's authorized-entries cache.",
        static_cast<int64_t>(cached_entries));
  return out;
}

}  // namespace spirecvm::server
