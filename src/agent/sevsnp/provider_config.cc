#include "agent/sevsnp/provider_config.h"

#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/catalog.h"
#include "common/encoding.h"
#include "common/status.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent::snp {
namespace {

// A hex string of exactly N bytes.
template <size_t N>
std::optional<std::array<uint8_t, N>> HexField(config::Section& s, std::string_view key) {
  std::optional<std::string> text = s.String(key);
  if (!text.has_value()) return std::nullopt;
  absl::StatusOr<std::string> raw = HexDecode(*text);
  if (!raw.ok() || raw->size() != N) {
    s.AddKeyError(key, absl::StrCat("want ", N * 2, " hex digits (", N, " bytes)"));
    return std::nullopt;
  }
  std::array<uint8_t, N> out{};
  std::copy(raw->begin(), raw->end(), out.begin());
  return out;
}

std::optional<uint32_t> BoundedInt(config::Section& s, std::string_view key, int64_t lo, int64_t hi) {
  std::optional<int64_t> v = s.Int(key);
  if (!v.has_value()) return std::nullopt;
  if (*v < lo || *v > hi) {
    s.AddKeyError(key, absl::StrCat("must be between ", lo, " and ", hi));
    return std::nullopt;
  }
  return static_cast<uint32_t>(*v);
}

// POLICY as a number or a string ("0x30000" or decimal): operators copy it from tools that print hex.
std::optional<uint64_t> PolicyField(config::Section& s, std::string_view key) {
  std::optional<hcl::Value> v = s.Raw(key);
  if (!v.has_value()) return std::nullopt;
  std::string text;
  if (v->kind == hcl::Value::Kind::kNumber) {
    text = v->number_text;
  } else if (v->kind == hcl::Value::Kind::kString) {
    text = v->str;
  } else {
    s.AddKeyError(key, "want a number or a string such as \"0x30000\"");
    return std::nullopt;
  }
  std::string_view digits = text;
  int base = 10;
  if (absl::StartsWithIgnoreCase(ToAbsl(digits), "0x")) {
    digits.remove_prefix(2);
    base = 16;
  }
  uint64_t out = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out, base);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) {
    s.AddKeyError(key, absl::StrCat("\"", text, "\" is not a 64-bit number"));
    return std::nullopt;
  }
  return out;
}

sevsnp::abi::Tcb ParseTcb(config::Section& t) {
  sevsnp::abi::Tcb tcb;
  if (auto v = BoundedInt(t, "bl", 0, 255)) tcb.bl = static_cast<uint8_t>(*v);
  if (auto v = BoundedInt(t, "tee", 0, 255)) tcb.tee = static_cast<uint8_t>(*v);
  if (auto v = BoundedInt(t, "snp", 0, 255)) tcb.snp = static_cast<uint8_t>(*v);
  if (auto v = BoundedInt(t, "ucode", 0, 255)) tcb.ucode = static_cast<uint8_t>(*v);
  if (auto v = BoundedInt(t, "fmc", 0, 255)) tcb.fmc = static_cast<uint8_t>(*v);
  return tcb;
}

}  // namespace

SimulatorOptions ParseSimulatorOptions(config::Section& s) {
  SimulatorOptions o;
  if (auto v = s.String("dir")) o.dir = *v;
  if (o.dir.empty()) s.AddError(s.pos(), "simulator.dir must be set (where the simulated AMD hierarchy lives)");
  o.measurement = HexField<48>(s, "measurement");
  if (auto v = PolicyField(s, "policy")) o.policy = *v;
  if (auto v = s.Bool("debug")) o.debug = *v;
  if (auto v = BoundedInt(s, "vmpl", 0, 3)) o.vmpl = *v;
  if (auto v = BoundedInt(s, "version", 2, 5)) o.version = *v;
  if (auto v = BoundedInt(s, "guest_svn", 0, 0xFFFFFFFFll)) o.guest_svn = *v;
  o.report_id = HexField<32>(s, "report_id");
  o.host_data = HexField<32>(s, "host_data");
  if (auto v = s.String("csp_id")) o.csp_id = *v;
  if (auto v = s.String("signing_key")) {
    const std::string k = absl::AsciiStrToLower(*v);
    if (k == "vlek") {
      o.signing_key = sevsnp::abi::SigningKey::kVlek;
    } else if (k == "vcek") {
      o.signing_key = sevsnp::abi::SigningKey::kVcek;
    } else {
      s.AddKeyError("signing_key", absl::StrCat("unknown signing key \"", *v, "\" (want vlek or vcek)"));
    }
  }
  if (auto v = s.String("corrupt")) {
    absl::StatusOr<Corruption> c = ParseCorruption(*v);
    if (c.ok()) {
      o.corrupt = *c;
    } else {
      s.AddKeyError("corrupt", std::string(c.status().message()));
    }
  }
  if (auto t = s.Child("tcb")) o.tcb = ParseTcb(*t);
  return o;
}

SevSnpConfig ParseSevSnpConfig(config::Section& section) {
  SevSnpConfig c;
  if (auto v = section.String("report_provider")) c.provider = *v;
  const ReportProviderRegistry& providers = ReportProviders();
  if (!providers.Has(c.provider)) {
    section.AddKeyError("report_provider", absl::StrCat("unknown report provider \"", c.provider, "\" (want ",
                                                        absl::StrJoin(providers.Names(), ", "), ")"));
    section.MarkKnown("simulator");
  } else if (absl::StatusOr<ReportProviderBuilder> b = providers.Parse(c.provider, section); b.ok()) {
    c.build = *std::move(b);
  }
  section.MarkKnown("tsm_path");
  section.MarkKnown("sev_guest_device");
  if (c.provider != "simulated" && section.Has("simulator")) {
    section.MarkKnown("simulator");
    section.AddKeyError("simulator", "is only used with report_provider = \"simulated\"");
  }
  return c;
}

absl::StatusOr<std::unique_ptr<ReportProvider>> NewReportProvider(const SevSnpConfig& config) {
  if (!config.build) {
    return absl::InvalidArgumentError(absl::StrCat("unknown report provider \"", config.provider, "\""));
  }
  return config.build(ReportProviderDeps{});
}

NoProviderConfig ParseNoProvider(config::Section&) { return {}; }

absl::StatusOr<std::unique_ptr<ReportProvider>> BuildNoProvider(const NoProviderConfig&, const ReportProviderDeps&) {
  return std::unique_ptr<ReportProvider>();
}

AutoProviderConfig ParseAutoProvider(config::Section& sev_snp) {
  AutoProviderConfig c;
  if (auto v = sev_snp.String("tsm_path")) c.tsm_path = *v;
  if (auto v = sev_snp.String("sev_guest_device")) c.sev_guest_device = *v;
  return c;
}

absl::StatusOr<std::unique_ptr<ReportProvider>> BuildAutoProvider(const AutoProviderConfig& c,
                                                                  const ReportProviderDeps&) {
  return std::unique_ptr<ReportProvider>(new AutoProvider(c.tsm_path, c.sev_guest_device));
}

TsmOptions ParseTsmProvider(config::Section& sev_snp) {
  TsmOptions o;
  if (auto v = sev_snp.String("tsm_path")) o.root = *v;
  return o;
}

absl::StatusOr<std::unique_ptr<ReportProvider>> BuildTsmProvider(const TsmOptions& o, const ReportProviderDeps&) {
  return std::unique_ptr<ReportProvider>(new TsmProvider(o));
}

SevGuestOptions ParseSevGuestProvider(config::Section& sev_snp) {
  SevGuestOptions o;
  if (auto v = sev_snp.String("sev_guest_device")) o.device = *v;
  return o;
}

absl::StatusOr<std::unique_ptr<ReportProvider>> BuildSevGuestProvider(const SevGuestOptions& o,
                                                                      const ReportProviderDeps&) {
  return std::unique_ptr<ReportProvider>(new SevGuestProvider(o));
}

SimulatorOptions ParseSimulatedProvider(config::Section& sev_snp) {
  std::optional<config::Section> sim = sev_snp.Child("simulator");
  if (!sim.has_value()) {
    sev_snp.AddKeyError("report_provider", "\"simulated\" needs a simulator { dir = ... } block");
    return {};
  }
  return ParseSimulatorOptions(*sim);
}

absl::StatusOr<std::unique_ptr<ReportProvider>> BuildSimulatedProvider(const SimulatorOptions& o,
                                                                       const ReportProviderDeps&) {
  ASSIGN_OR_RETURN(std::unique_ptr<SimulatedProvider> p, SimulatedProvider::Create(o));
  return std::unique_ptr<ReportProvider>(std::move(p));
}

}  // namespace spirecvm::agent::snp
