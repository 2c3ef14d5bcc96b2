#include "agent/sevsnp/provider_config.h"

#include <sys/stat.h>

#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent::snp {
namespace {

constexpr std::pair<ProviderKind, std::string_view> kKinds[] = {
    {ProviderKind::kAuto, "auto"},           {ProviderKind::kTsm, "tsm"},   {ProviderKind::kSevGuest, "sev-guest"},
    {ProviderKind::kSimulated, "simulated"}, {ProviderKind::kNone, "none"},
};

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

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

SimulatorOptions ParseSimulator(config::Section& s) {
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
  if (auto t = s.Child("tcb")) {
    sevsnp::abi::Tcb tcb;
    if (auto v = BoundedInt(*t, "bl", 0, 255)) tcb.bl = static_cast<uint8_t>(*v);
    if (auto v = BoundedInt(*t, "tee", 0, 255)) tcb.tee = static_cast<uint8_t>(*v);
    if (auto v = BoundedInt(*t, "snp", 0, 255)) tcb.snp = static_cast<uint8_t>(*v);
    if (auto v = BoundedInt(*t, "ucode", 0, 255)) tcb.ucode = static_cast<uint8_t>(*v);
    if (auto v = BoundedInt(*t, "fmc", 0, 255)) tcb.fmc = static_cast<uint8_t>(*v);
    o.tcb = tcb;
  }
  return o;
}

}  // namespace

std::string_view ProviderKindName(ProviderKind k) {
  for (const auto& [kind, name] : kKinds) {
    if (kind == k) return name;
  }
  return "unknown";
}

SevSnpConfig ParseSevSnpConfig(config::Section& section) {
  SevSnpConfig c;
  if (auto v = section.String("report_provider")) {
    bool found = false;
    for (const auto& [kind, name] : kKinds) {
      if (name == *v) {
        c.provider = kind;
        found = true;
      }
    }
    if (!found) {
      section.AddKeyError("report_provider", absl::StrCat("unknown report provider \"", *v,
                                                          "\" (want auto, tsm, sev-guest, simulated or none)"));
    }
  }
  if (auto v = section.String("tsm_path")) c.tsm_path = *v;
  if (auto v = section.String("sev_guest_device")) c.sev_guest_device = *v;
  std::optional<config::Section> sim = section.Child("simulator");
  if (sim.has_value()) {
    SimulatorOptions o = ParseSimulator(*sim);
    if (c.provider == ProviderKind::kSimulated) {
      c.simulator = std::move(o);
    } else {
      section.AddKeyError("simulator", "is only used with report_provider = \"simulated\"");
    }
  } else if (c.provider == ProviderKind::kSimulated) {
    section.AddKeyError("report_provider", "\"simulated\" needs a simulator { dir = ... } block");
  }
  return c;
}

AutoProvider::AutoProvider(std::string tsm_path, std::string device)
    : tsm_path_(std::move(tsm_path)), device_(std::move(device)) {
  TsmOptions t;
  t.root = tsm_path_;
  tsm_ = std::make_unique<TsmProvider>(std::move(t));
  SevGuestOptions g;
  g.device = device_;
  sev_guest_ = std::make_unique<SevGuestProvider>(std::move(g));
}

absl::StatusOr<std::string> AutoProvider::Select() const {
  if (Exists(tsm_path_)) return std::string("tsm");
  if (Exists(device_)) return std::string("sev-guest");
  return absl::NotFoundError(absl::StrCat(kNoDeviceMessage, " (neither ", tsm_path_, " nor ", device_, " exists)"));
}

absl::StatusOr<Report> AutoProvider::GetReport(const ReportData& report_data) {
  absl::StatusOr<std::string> which = Select();
  if (!which.ok()) return which.status();
  return *which == "tsm" ? tsm_->GetReport(report_data) : sev_guest_->GetReport(report_data);
}

absl::StatusOr<std::unique_ptr<ReportProvider>> NewReportProvider(const SevSnpConfig& config) {
  switch (config.provider) {
    case ProviderKind::kNone:
      return std::unique_ptr<ReportProvider>();
    case ProviderKind::kAuto:
      return std::unique_ptr<ReportProvider>(new AutoProvider(config.tsm_path, config.sev_guest_device));
    case ProviderKind::kTsm: {
      TsmOptions t;
      t.root = config.tsm_path;
      return std::unique_ptr<ReportProvider>(new TsmProvider(std::move(t)));
    }
    case ProviderKind::kSevGuest: {
      SevGuestOptions g;
      g.device = config.sev_guest_device;
      return std::unique_ptr<ReportProvider>(new SevGuestProvider(std::move(g)));
    }
    case ProviderKind::kSimulated: {
      if (!config.simulator.has_value()) {
        return absl::InvalidArgumentError("report_provider \"simulated\" needs a simulator block");
      }
      auto p = SimulatedProvider::Create(*config.simulator);
      if (!p.ok()) return p.status();
      return std::unique_ptr<ReportProvider>(*std::move(p));
    }
  }
  return absl::InternalError("unknown report provider kind");
}

}  // namespace spirecvm::agent::snp
