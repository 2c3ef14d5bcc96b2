#include "common/process.h"

#include "absl/synchronization/mutex.h"

namespace spirecvm {

void ConfigureProcessRuntime() {
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
}

}  // namespace spirecvm
