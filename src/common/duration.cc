#include "common/duration.h"

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"

namespace spirecvm {
namespace {

constexpr uint64_t kNs = 1;
constexpr uint64_t kUs = 1000 * kNs;
constexpr uint64_t kMs = 1000 * kUs;
constexpr uint64_t kSec = 1000 * kMs;
constexpr uint64_t kMin = 60 * kSec;
constexpr uint64_t kHour = 60 * kMin;
constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

absl::Status Bad(std::string_view s, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid duration \"", ToAbsl(s), "\": ", ToAbsl(why)));
}

// The nanoseconds in one `unit` (Go's unit names, including both spellings of micro); 0 for an unknown unit.
uint64_t UnitNanos(std::string_view unit) {
  if (unit == "ns") return kNs;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return kUs;
  if (unit == "ms") return kMs;
  if (unit == "s") return kSec;
  if (unit == "m") return kMin;
  if (unit == "h") return kHour;
  return 0;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Consumes one "<digits>[.<digits>]<unit>" term from the front of `s`; returns its nanoseconds.
absl::StatusOr<uint64_t> ParseTerm(std::string_view& s, std::string_view orig) {
  if (!(s[0] == '.' || IsDigit(s[0]))) return Bad(orig, "expected a number");
  uint64_t v = 0;
  bool pre = false;
  size_t i = 0;
  for (; i < s.size() && IsDigit(s[i]); ++i) {
    pre = true;
    uint64_t d = s[i] - '0';
    if (v > (kMax - d) / 10) return Bad(orig, "out of range");
    v = v * 10 + d;
  }
  s.remove_prefix(i);
  uint64_t frac = 0, scale = 1;
  bool post = false;
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    for (i = 0; i < s.size() && IsDigit(s[i]); ++i) {
      post = true;
      // Extra digits beyond what fits are dropped, as Go does.
      if (scale <= kMax / 10 && frac <= (kMax - 9) / 10) {
        frac = frac * 10 + (s[i] - '0');
        scale *= 10;
      }
    }
    s.remove_prefix(i);
  }
  if (!pre && !post) return Bad(orig, "expected digits around '.'");
  i = 0;
  while (i < s.size() && s[i] != '.' && !IsDigit(s[i])) ++i;
  std::string_view unit = s.substr(0, i);
  s.remove_prefix(i);
  if (unit.empty()) return Bad(orig, "missing unit (one of ns, us, ms, s, m, h)");
  const uint64_t mult = UnitNanos(unit);
  if (mult == 0) return Bad(orig, absl::StrCat("unknown unit \"", ToAbsl(unit), "\" (want ns, us, ms, s, m or h)"));
  if (v > kMax / mult) return Bad(orig, "out of range");
  v *= mult;
  if (frac > 0) {
    v += static_cast<uint64_t>(static_cast<long double>(frac) * (static_cast<long double>(mult) / scale));
    if (v > kMax) return Bad(orig, "out of range");
  }
  return v;
}

}  // namespace

// Mirrors Go's time.ParseDuration (without the sign, which we reject), including its overflow limit of
// int64 nanoseconds (~292 years), so a value SPIRE accepts we accept and vice versa.
absl::StatusOr<absl::Duration> ParseGoDuration(std::string_view orig) {
  std::string_view s = orig;
  if (s.empty()) return Bad(orig, "empty (want e.g. \"1h30m\", \"90s\", \"300ms\")");
  if (s[0] == '-') return Bad(orig, "negative durations are not allowed");
  if (s[0] == '+') s.remove_prefix(1);
  if (s == "0") return absl::ZeroDuration();
  if (s.empty()) return Bad(orig, "no number");
  uint64_t total = 0;
  while (!s.empty()) {
    ASSIGN_OR_RETURN(uint64_t v, ParseTerm(s, orig));
    if (total > kMax - v) return Bad(orig, "out of range");
    total += v;
  }
  return absl::Nanoseconds(static_cast<int64_t>(total));
}

namespace {
// Go's fmtFrac: writes ".ddd" for the low `prec` digits of v without trailing zeros; returns v / 10^prec.
uint64_t FmtFrac(std::string& out, uint64_t v, int prec) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    int d = static_cast<int>(v % 10);
    print = print || d != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + d));
    v /= 10;
  }
  if (print) out += "." + digits;
  return v;
}
}  // namespace

std::string FormatGoDuration(absl::Duration d) {
  int64_t ns = absl::ToInt64Nanoseconds(d);
  bool neg = ns < 0;
  uint64_t u = neg ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  std::string out;
  if (u < kSec) {
    if (u == 0) return "0s";
    std::string unit;
    int prec = 0;
    if (u < kUs) {
      unit = "ns";
    } else if (u < kMs) {
      prec = 3;
      unit = "\xC2\xB5s";
    } else {
      prec = 6;
      unit = "ms";
    }
    std::string frac;
    u = FmtFrac(frac, u, prec);
    out = absl::StrCat(u, frac, unit);
  } else {
    std::string frac;
    u = FmtFrac(frac, u, 9);
    out = absl::StrCat(u % 60, frac, "s");
    u /= 60;
    if (u > 0) {
      out = absl::StrCat(u % 60, "m", out);
      u /= 60;
      if (u > 0) out = absl::StrCat(u, "h", out);
    }
  }
  return neg ? "-" + out : out;
}

}  // namespace spirecvm
