// Random (version 4) UUIDs, drawn from an injected Random so tests can make them deterministic.
#pragma once

#include <string>

#include "common/random.h"

namespace spirecvm {

// RFC 9562 version 4, variant 10xx, lowercase "xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx".
std::string NewUuidV4(Random& random);

}  // namespace spirecvm
