// Process-wide runtime settings a production binary applies once, first thing in main().
#pragma once

namespace spirecvm {

// In a release build (NDEBUG): turns off Abseil's Mutex deadlock detector. Debian builds Abseil without NDEBUG,
// so the detector is on by default and records a lock-order graph on every absl::Mutex acquisition — gRPC's
// included — which was about 7 % of the server's CPU under attestation load (perf, docs/benchmarks.md). Debug and
// sanitizer builds (every test) keep it on. Not thread-safe: call before any thread starts.
void ConfigureProcessRuntime();

// Returns the heap's free pages to the operating system, after a phase that allocated and freed much (the server's
// start-up builds its entry cache from the DataStore). With gperftools' tcmalloc as the allocator (spire-server's
// release build, docs/architecture.md) its MallocExtension does it; with glibc malloc, malloc_trim. Thread-safe.
void ReleaseFreeHeapMemory();

}  // namespace spirecvm
