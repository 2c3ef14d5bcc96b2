# The two set-up commands: `make demo` and `make test`. Both install missing Debian packages first.
JOBS ?= $(shell nproc)
BUILD ?= build/release
ASAN_BUILD ?= build/asan
TSAN_BUILD ?= build/tsan

.PHONY: all deps build build-asan test test-tsan tsan-build unit e2e fuzz demo bench clean format format-check
.PHONY: interop peers install package bench-compare bench-compare-agents bench-ceiling bench-ha-pg ctest-cost-data

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSPIRECVM_SANITIZE=ON -DSPIRECVM_BENCH=OFF

build-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# Every test: unit + end-to-end (incl. the fault tests, label faults) on the AddressSanitizer/UBSan build, the
# concurrent parts under ThreadSanitizer, then every fuzzer for a short time (scripts/run-tests.sh: the interop peers
# build beside the ASan build, the TSan and fuzz builds at low priority while CTest runs).
FUZZ_TEST_SECONDS ?= 10
test: format-check deps
	ASAN_BUILD=$(ASAN_BUILD) TSAN_BUILD=$(TSAN_BUILD) JOBS=$(JOBS) FUZZ_TEST_SECONDS=$(FUZZ_TEST_SECONDS) \
	  ./scripts/run-tests.sh

# Refreshes test/ctest-cost-data.txt (the test durations run-tests.sh seeds a fresh build directory with, so that
# CTest starts the longest tests first) from the last full CTest run of the ASan build.
ctest-cost-data:
	./scripts/ctest-cost-data.sh $(ASAN_BUILD) > test/ctest-cost-data.txt

# ThreadSanitizer (SPIRECVM_TSAN, its own build dir): builds only the test binaries of the concurrent parts
# (datastore, caches, agent manager, Workload API, CA rotation) and runs their threaded suites (test/tsan/run.sh).
TSAN_TARGETS = cvm_datastore_sqlite_test cvm_server_tsan_test cvm_agent_tsan_test
$(TSAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSPIRECVM_TSAN=ON -DSPIRECVM_BENCH=OFF

tsan-build: deps $(TSAN_BUILD)/CMakeCache.txt
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target $(TSAN_TARGETS)

test-tsan: tsan-build
	./test/tsan/run.sh $(TSAN_BUILD)

# Every libFuzzer target (test/fuzz) for FUZZ_SECONDS each, one at a time; executions, coverage and crashes per
# target go to FUZZ_SUMMARY (the file docs/security.md cites). A crash fails the run.
FUZZ_SECONDS ?= 600
FUZZ_SUMMARY ?= docs/fuzzing-results.md
fuzz: deps
	FUZZ_SUMMARY=$(FUZZ_SUMMARY) ./test/fuzz/run.sh $(FUZZ_SECONDS)

DEMO_TARGETS = spire-server spire-agent imds-emulator sevsnp-sim

demo: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target $(DEMO_TARGETS)
	./scripts/demo.sh $(BUILD)

# `make install`: spire-server and spire-agent (release build) into PREFIX/bin, the sample configurations into
# /etc/spire-cvm, the hardened systemd units into /lib/systemd/system (docs/packaging.md). DESTDIR stages it.
PREFIX ?= /usr
PACKAGE_TARGETS = spire-server spire-agent
install: deps $(BUILD)/CMakeCache.txt
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD) -j $(JOBS) --target $(PACKAGE_TARGETS)
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

# `make package`: the Debian package (CPack DEB; Depends from dpkg-shlibdeps) in $(BUILD)/spire-cvm_*.deb.
package: deps $(BUILD)/CMakeCache.txt
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD) -j $(JOBS) --target $(PACKAGE_TARGETS)
	cd $(BUILD) && cpack -G DEB

bench: build
	./bench/run.sh $(BUILD)

# spire-cvm against the real SPIRE v1.13.3 server under the same load (bench/loadgen), ratios in a table; sizes
# by environment (AGENTS=1000 ENTRIES=10000 make bench-compare), see bench/compare-spire.sh and docs/benchmarks.md.
bench-compare: deps
	./bench/compare-spire.sh $(BUILD)

# spire-cvm's agent against SPIRE v1.13.3's through the Workload API (bench/wlgen): idle RSS, first-response latency,
# RSS and threads at 1,000 and 5,000 watchers, rotation fan-out; sizes by environment (WATCHERS="1000 5000"), see
# bench/compare-agents.sh and docs/benchmarks.md.
bench-compare-agents: deps
	./bench/compare-agents.sh $(BUILD)

# The sync ceiling of both servers (agents at which p99 sync latency crosses 50 ms) and docs/ceiling.png; counts by
# environment (AGENT_COUNTS="500 1000 2000"), see bench/ceiling.sh.
bench-ceiling: deps
	./bench/ceiling.sh $(BUILD)

# Two spire-cvm servers on one throwaway PostgreSQL 15, the agents split between them (bench/ha-pg.sh).
bench-ha-pg: deps
	./bench/ha-pg.sh $(BUILD)

clean:
	rm -rf build

CLANG_FORMAT ?= clang-format-14

# Formats every C++ file git tracks with the repository's .clang-format.
format: deps
	git ls-files '*.cc' '*.h' | xargs $(CLANG_FORMAT) -i

# Fails, naming the files, when any tracked C++ file is not formatted.
format-check: deps
	@bad=$$(git ls-files '*.cc' '*.h' | xargs $(CLANG_FORMAT) --dry-run 2>&1 | grep -o '^[^:]*:' | sort -u); \
	if [ -n "$$bad" ]; then echo "format-check: not formatted (run make format): $$bad"; exit 1; fi; \
	echo "format-check: $$(git ls-files '*.cc' '*.h' | wc -l) files formatted"

# Interop suite: this repository's binaries against real SPIRE v1.13.3 and go-spiffe / py-spiffe clients.
# The peers are built once per machine into ~/.cache/spire-cvm/peers (see docs/interop.md); without Go, the
# module proxy or PyPI, build-peers.sh says so in one line and the interop tests are skipped.
INTEROP_TARGETS = spire-server spire-agent cvm_spire_proto

peers:
	@./scripts/build-peers.sh all || { rc=$$?; [ $$rc -eq 77 ] && exit 0; exit $$rc; }

interop: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target $(INTEROP_TARGETS)
	@$(MAKE) --no-print-directory peers
	cd $(ASAN_BUILD) && ctest -L interop --output-on-failure
