#include "agent/catalog.h"

#include "agent/keymanager/key_manager.h"
#include "agent/nodeattest/aws_iid.h"
#include "agent/nodeattest/join_token.h"
#include "agent/sevsnp/provider_config.h"
#include "agent/workload/unix_attestor.h"

namespace spirecvm::agent {

using plugin::Plugin;

const NodeAttestorRegistry& NodeAttestors() {
  using P = NodeAttestorClient;
  using D = NodeAttestorDeps;
  static const NodeAttestorRegistry r{"NodeAttestor",
                                      {
                                          Plugin<P, D>("join_token", ParseJoinTokenConfig, BuildJoinTokenAttestor),
                                          Plugin<P, D>(kAwsIidPluginName, ParseAwsIidConfig, BuildAwsIidAttestor),
                                      }};
  return r;
}

const KeyManagerRegistry& KeyManagers() {
  using P = KeyManager;
  using D = KeyManagerDeps;
  static const KeyManagerRegistry r{"KeyManager",
                                    {
                                        Plugin<P, D>("disk", ParseDiskKeyManagerConfig, BuildDiskKeyManager),
                                        Plugin<P, D>("memory", ParseMemoryKeyManagerConfig, BuildMemoryKeyManager),
                                    }};
  return r;
}

const WorkloadAttestorRegistry& WorkloadAttestors() {
  using P = WorkloadAttestor;
  using D = WorkloadAttestorDeps;
  static const WorkloadAttestorRegistry r{"WorkloadAttestor",
                                          {
                                              Plugin<P, D>("unix", ParseUnixAttestorConfig, BuildUnixAttestor),
                                          }};
  return r;
}

namespace snp {

const ReportProviderRegistry& ReportProviders() {
  using P = ReportProvider;
  using D = ReportProviderDeps;
  static const ReportProviderRegistry r{"report provider",
                                        {
                                            Plugin<P, D>("auto", ParseAutoProvider, BuildAutoProvider),
                                            Plugin<P, D>("tsm", ParseTsmProvider, BuildTsmProvider),
                                            Plugin<P, D>("sev-guest", ParseSevGuestProvider, BuildSevGuestProvider),
                                            Plugin<P, D>("simulated", ParseSimulatedProvider, BuildSimulatedProvider),
                                            Plugin<P, D>("none", ParseNoProvider, BuildNoProvider),
                                        }};
  return r;
}

}  // namespace snp
}  // namespace spirecvm::agent
