// The agent's plugin catalog: one plugin::Registry (plugin/catalog.h) per plugin kind, each built-in one line in
// catalog.cc, as in SPIRE's BuiltIns(). A plugin is a reader of its plugin_data (through the strict config::Section
// reader, so unknown keys and type errors are reported with file:line:col, all at once) and a builder that takes
// the typed configuration and the kind's dependency struct:
//
//   kind               deps                  built-ins
//   NodeAttestor       NodeAttestorDeps      join_token, aws_iid
//   KeyManager         KeyManagerDeps        disk, memory
//   WorkloadAttestor   WorkloadAttestorDeps  unix
//   report provider    ReportProviderDeps    auto, tsm, sev-guest, simulated, none   (sev_snp block of aws_iid)
//
// Adding a plugin: a file with its Parse/Build functions, and one line below.
//
// Thread-safety: the registries are built once (function-local statics) and immutable; read them from any thread.
#pragma once

#include "agent/keymanager/key_manager.h"
#include "agent/nodeattest/node_attestor.h"
#include "agent/sevsnp/report_provider.h"
#include "agent/workload/workload_attestor.h"
#include "plugin/catalog.h"

namespace spirecvm::agent {

using NodeAttestorRegistry = plugin::Registry<NodeAttestorClient, NodeAttestorDeps>;
using KeyManagerRegistry = plugin::Registry<KeyManager, KeyManagerDeps>;
using WorkloadAttestorRegistry = plugin::Registry<WorkloadAttestor, WorkloadAttestorDeps>;

const NodeAttestorRegistry& NodeAttestors();
const KeyManagerRegistry& KeyManagers();
const WorkloadAttestorRegistry& WorkloadAttestors();

namespace snp {
using ReportProviderRegistry = plugin::Registry<ReportProvider, ReportProviderDeps>;
// Read from the `sev_snp` section itself (report_provider selects; see provider_config.h). "none" builds nullptr.
const ReportProviderRegistry& ReportProviders();
}  // namespace snp

}  // namespace spirecvm::agent
