#!/usr/bin/env bash
# Mechanical call-site edits of the "one utility layer" change (issue 10), written so they can be re-applied
# after other branches' rewrites are merged. Idempotent: running it twice changes nothing the second time.
#   - common/hex.h -> common/encoding.h; crypto::Base64*/crypto::HexEncode -> the one codec in common/encoding.h
#   - crypto/absl_sv.h Av() -> common/strings.h ToAbsl()
#   - server/api/status_map.h and the agent's private ToGrpc/FromGrpc -> common/grpc_status.h
#   - admin_service's private NewUuid -> common/uuid.h NewUuidV4
#   - hand-written ASCII case loops -> absl::AsciiStrToLower / absl::AsciiStrToUpper
# Usage: scripts/dev/util-renames.sh   (from anywhere inside the work tree; clang-format-14 must be installed)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

mapfile -t FILES < <(git ls-files src tools bench test | grep -E '\.(cc|h)$')
[[ ${#FILES[@]} -gt 0 ]] || exit 0

# with_pattern REGEX: the files (of FILES) whose text matches the Perl regex.
with_pattern() { grep -lP -- "$1" "${FILES[@]}" 2>/dev/null || true; }

# add_include FILE HEADER: adds #include "HEADER" after the last #include unless present (clang-format regroups).
add_include() {
  grep -qF "#include \"$2\"" "$1" && return 0
  H="$2" perl -0pi -e 's/\A(.*#include [^\n]*\n)/$1#include "$ENV{H}"\n/s' "$1"
}

# --- one codec -----------------------------------------------------------------------------------------------
for f in $(with_pattern '"common/hex\.h"'); do
  perl -pi -e 's#"common/hex\.h"#"common/encoding.h"#' "$f"
done
for f in $(with_pattern '\bcrypto::(Base64UrlEncode|Base64UrlDecode|Base64Encode|Base64Decode|HexEncode)\b'); do
  perl -pi -e 's/\bcrypto::(Base64UrlEncode|Base64UrlDecode|Base64Encode|Base64Decode|HexEncode)\b/$1/g' "$f"
done
# Every user of the codec includes it (code inside namespace crypto called the old copy unqualified).
for f in $(with_pattern '(?<![\w:.>])(Base64UrlEncode|Base64UrlDecode|Base64Encode|Base64Decode|HexEncode|HexDecode)\('); do
  [[ "$f" == src/common/encoding.* ]] || add_include "$f" common/encoding.h
done

# --- one string_view bridge ----------------------------------------------------------------------------------
for f in $(with_pattern '"crypto/absl_sv\.h"'); do
  perl -pi -e 's/(?<![\w:.>])Av\(/ToAbsl(/g' "$f"
  if grep -qF '#include "common/strings.h"' "$f"; then
    perl -ni -e 'print unless m{^#include "crypto/absl_sv\.h"}' "$f"
  else
    perl -pi -e 's#"crypto/absl_sv\.h"#"common/strings.h"#' "$f"
  fi
done

# --- one gRPC status map -------------------------------------------------------------------------------------
for f in $(with_pattern '"server/api/status_map\.h"'); do
  perl -pi -e 's#"server/api/status_map\.h"#"common/grpc_status.h"#' "$f"
done
# Private copies: a ToGrpc/FromGrpc definition (body: the ok check and one return) or a ToGrpc declaration.
for f in $(with_pattern '^(grpc::Status ToGrpc|absl::Status FromGrpc)\(const (absl|grpc)::Status& \w+\)'); do
  [[ "$f" == src/common/grpc_status.h ]] && continue
  perl -0pi -e 's/^grpc::Status ToGrpc\(const absl::Status& \w+\) \{\n[^\n]*\n[^\n]*\n\}\n\n?//mg;
                s/^absl::Status FromGrpc\(const grpc::Status& \w+\) \{\n[^\n]*\n[^\n]*\n\}\n\n?//mg;
                s/^grpc::Status ToGrpc\(const absl::Status& \w+\);\n//mg' "$f"
  [[ "$f" == *.h ]] || add_include "$f" common/grpc_status.h  # a header only loses its declaration
done

# --- one UUID generator ----------------------------------------------------------------------------------------
for f in $(with_pattern '^std::string NewUuid\(Random& \w+\) \{'); do
  perl -0pi -e 's/^std::string NewUuid\(Random& \w+\) \{\n.*?\n\}\n\n?//ms' "$f"
  perl -pi -e 's/\bNewUuid\(/NewUuidV4(/g' "$f"
  add_include "$f" common/uuid.h
done

# --- absl ASCII case conversion instead of loops -------------------------------------------------------------
CASE_LOOP='for \(auto& (\w+) : (\w+)\) \1 = static_cast<char>\(to(lower|upper)\((?:static_cast<unsigned char>\(\1\)|\1)\)\);'
for f in $(with_pattern "$CASE_LOOP"); do
  perl -pi -e 's/for \(auto& (\w+) : (\w+)\) \1 = static_cast<char>\(tolower\((?:static_cast<unsigned char>\(\1\)|\1)\)\);/absl::AsciiStrToLower(&$2);/g;
               s/for \(auto& (\w+) : (\w+)\) \1 = static_cast<char>\(toupper\((?:static_cast<unsigned char>\(\1\)|\1)\)\);/absl::AsciiStrToUpper(&$2);/g' "$f"
  add_include "$f" absl/strings/ascii.h
done

# --- format what changed -------------------------------------------------------------------------------------
mapfile -t CHANGED < <(git diff --name-only -- src tools bench test | grep -E '\.(cc|h)$' || true)
for f in "${CHANGED[@]}"; do [[ -f "$f" ]] && clang-format-14 -i "$f"; done
exit 0
