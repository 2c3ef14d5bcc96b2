// The AWS EC2 instance identity document (IID): parsed strictly, with the exact bytes kept.
//
// The signatures cover the bytes IMDS served, so `raw` is what gets verified; the fields are only
// trusted after a signature over `raw` verified (see verifier.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace spirecvm::awsiid {

// Upper bound on a document we are willing to parse; real ones are about 500 bytes.
inline constexpr size_t kMaxDocumentBytes = 16 * 1024;

struct InstanceIdentityDocument {
  std::string raw;  // exact bytes as served by IMDS, never re-serialised

  // Required (present, string, non-empty, shape-checked).
  std::string account_id;         // accountId: 12 digits
  std::string region;             // region: e.g. us-west-2, us-gov-east-1
  std::string availability_zone;  // availabilityZone: starts with the region, e.g. us-west-2a
  std::string instance_id;        // instanceId: i- followed by 8 or 17 hex digits
  std::string image_id;           // imageId: ami- followed by hex digits
  std::string instance_type;      // instanceType: e.g. t2.nano
  absl::Time pending_time;        // pendingTime: RFC 3339

  // Optional (string when present; null or absent gives empty).
  std::string architecture;                            // architecture
  std::string private_ip;                              // privateIp
  std::string version;                                 // version, e.g. 2017-09-30
  std::string kernel_id;                               // kernelId
  std::string ramdisk_id;                              // ramdiskId
  std::vector<std::string> billing_products;           // billingProducts (null -> empty)
  std::vector<std::string> marketplace_product_codes;  // marketplaceProductCodes
  std::vector<std::string> devpay_product_codes;       // devpayProductCodes
};

// Parses `raw` (UTF-8 JSON object). Rejects: more than kMaxDocumentBytes, invalid JSON, a
// non-object, duplicate top-level keys, a required field missing/empty/not a string or of the
// wrong shape, optional fields of the wrong type. Unknown fields are allowed (AWS adds fields).
absl::StatusOr<InstanceIdentityDocument> ParseDocument(absl::string_view raw);

// Shape checks, exposed for configuration validation and tests.
bool IsValidAccountId(absl::string_view s);   // exactly 12 ASCII digits
bool IsValidRegion(absl::string_view s);      // [a-z]+(-[a-z]+)+-[0-9]+
bool IsValidInstanceId(absl::string_view s);  // i-[0-9a-f]{8} or i-[0-9a-f]{17}

}  // namespace spirecvm::awsiid
