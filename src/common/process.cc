#include "common/process.h"

#include <malloc.h>

#include "absl/synchronization/mutex.h"

// gperftools' C entry point, present only when the binary links tcmalloc (weak: null otherwise).
extern "C" void MallocExtension_ReleaseFreeMemory(void) __attribute__((weak));

namespace spirecvm {

void ConfigureProcessRuntime() {
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
}

void ReleaseFreeHeapMemory() {
  if (MallocExtension_ReleaseFreeMemory != nullptr) {
    MallocExtension_ReleaseFreeMemory();
    return;
  }
  malloc_trim(0);
}

}  // namespace spirecvm
