#include "common/telemetry/registry.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace spirecvm::telemetry {
namespace {

// Label values escaped as the text format asks: backslash, double quote and newline.
std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", labels[i].first, "=\"", Escape(labels[i].second), "\"");
  }
  return out + "}";
}

}  // namespace

std::string_view StatusLabel(int code) {
  static constexpr std::string_view kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) return "Unknown";
  return kNames[code];
}

std::string Registry::Name(std::string_view key) const { return absl::StrCat(service_, "_", ToAbsl(key)); }

void Registry::Add(std::string_view key, const Labels& labels, uint64_t n, std::string_view help) {
  std::lock_guard<std::mutex> l(mu_);
  Family& f = families_[Name(key)];
  if (f.help.empty()) f.help = std::string(help);
  f.series[RenderLabels(labels)] += n;
}

void Registry::CountCall(std::string_view key, const absl::Status& result, std::string_view help) {
  Add(key, {{"status", std::string(StatusLabel(static_cast<int>(result.code())))}}, 1, help);
}

void Registry::Gauge(std::string_view key, std::string_view help, std::function<int64_t()> read) {
  std::lock_guard<std::mutex> l(mu_);
  Family& f = families_[Name(key)];
  f.help = std::string(help);
  f.gauge = std::move(read);
}

uint64_t Registry::Value(std::string_view key, const Labels& labels) const {
  std::lock_guard<std::mutex> l(mu_);
  auto f = families_.find(Name(key));
  if (f == families_.end()) return 0;
  auto s = f->second.series.find(RenderLabels(labels));
  return s == f->second.series.end() ? 0 : s->second;
}

std::string Registry::Render() const {
  std::vector<std::pair<std::string, Family>> snapshot;
  {
    std::lock_guard<std::mutex> l(mu_);
    snapshot.assign(families_.begin(), families_.end());
  }
  std::string out;
  for (const auto& [name, f] : snapshot) {  // gauges are read outside the lock: they may take their own
    if (!f.help.empty()) absl::StrAppend(&out, "# HELP ", name, " ", f.help, "\n");
    absl::StrAppend(&out, "# TYPE ", name, f.gauge ? " gauge\n" : " counter\n");
    if (f.gauge) {
      absl::StrAppend(&out, name, " ", f.gauge(), "\n");
      continue;
    }
    for (const auto& [labels, v] : f.series) absl::StrAppend(&out, name, labels, " ", v, "\n");
  }
  return out;
}

}  // namespace spirecvm::telemetry
