# The libFuzzer targets, built by test/fuzz/run.sh (`make -f test/fuzz/fuzz.mk -j2` from the repository root).
# clang++-14 (GCC has no libFuzzer), ASan + UBSan, straight from the product sources each target fuzzes: every
# source is compiled once into build/fuzz/obj with -fsanitize=fuzzer-no-link and shared by the targets that need
# it; header dependencies are tracked (-MMD), so an edited parser rebuilds the targets that link it.
# The CMake build (GCC) is not involved: clang needs neither the gRPC nor the protobuf parts.
FUZZ_CXX ?= clang++-14
CCACHE ?= $(shell command -v ccache)
OUT := build/fuzz
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
CXXFLAGS := -std=c++20 -O1 -g -fno-omit-frame-pointer $(SAN) -fsanitize=fuzzer-no-link -Isrc -Itest/fuzz
ABSL := absl_status absl_statusor absl_strings absl_str_format absl_time absl_flat_hash_set absl_hash
LIBS := $(shell pkg-config --libs $(ABSL)) -lsqlite3 -lcurl -lcpp-httplib -lssl -lcrypto -lspdlog -lfmt

# Product sources, in groups.
ABI := src/attestation/sevsnp/abi/report.cc src/attestation/sevsnp/abi/cert_table.cc
ENCODING := src/common/encoding.cc
FILES := src/common/files.cc
CRYPTO := src/crypto/keys.cc src/crypto/x509.cc src/crypto/signer.cc $(ENCODING)
AMD_CERTS := $(ABI) src/attestation/sevsnp/certs/endorsement.cc src/attestation/sevsnp/certs/chain.cc \
             src/attestation/sevsnp/certs/sources.cc $(FILES)
AMD_SIM := src/attestation/sevsnp/sim/test_only_amd_signer.cc
SPIFFE := src/spiffe/spiffe_id.cc src/spiffe/jwt_svid.cc src/spiffe/bundle.cc $(CRYPTO)
AWSIID := src/attestation/awsiid/document.cc src/attestation/awsiid/signature.cc src/attestation/awsiid/certs.cc \
          src/attestation/awsiid/verifier.cc $(ENCODING)
SQLITE := src/server/datastore/sqlite_datastore.cc src/server/datastore/sqlite_error.cc src/server/datastore/sql_datastore.cc \
          src/server/datastore/schema.cc src/common/uuid.cc
HCL := src/common/hcl.cc src/common/json_config.cc src/common/config_reader.cc src/common/duration.cc $(FILES)
# The configuration readers check log_format through the logger (common/logging.cc).
LOGGING := src/common/logging.cc

# One line per target: <name>_SRCS (the target's own test/fuzz/<name>.cc is added).
sevsnp_report_fuzz_SRCS := $(ABI)
sevsnp_certtable_fuzz_SRCS := $(ABI)
sevsnp_answer_fuzz_SRCS := src/attestation/sevsnp_binding/binding.cc $(ENCODING) src/crypto/keys.cc
iid_document_fuzz_SRCS := src/attestation/awsiid/document.cc
csr_fuzz_SRCS := src/crypto/csr.cc src/crypto/ecdsa_verify.cc src/crypto/keys.cc
endorsement_fuzz_SRCS := $(AMD_CERTS) $(AMD_SIM) $(CRYPTO)
kds_fuzz_SRCS := $(AMD_CERTS) $(AMD_SIM) $(CRYPTO)
crl_fuzz_SRCS := $(AMD_CERTS) $(AMD_SIM) $(CRYPTO)
iid_signature_fuzz_SRCS := $(AWSIID)
attestation_payload_fuzz_SRCS := $(AWSIID) $(SPIFFE) src/server/nodeattest/join_token_attestor.cc $(SQLITE)
jwt_svid_fuzz_SRCS := $(SPIFFE)
spiffe_id_fuzz_SRCS := src/spiffe/spiffe_id.cc
bundle_fuzz_SRCS := $(SPIFFE)
hcl_fuzz_SRCS := $(HCL)
server_config_fuzz_SRCS := src/server/config/server_config.cc src/common/telemetry/config.cc src/server/config/federation_config.cc \
                           src/common/url.cc $(HCL) $(LOGGING) $(SPIFFE)
json_config_fuzz_SRCS := $(HCL) src/common/expand_env.cc
url_fuzz_SRCS := src/common/url.cc
node_facts_fuzz_SRCS := src/crypto/der.cc src/cvm/node_facts.cc src/cvm/facts_extension.cc $(ENCODING)
agent_config_fuzz_SRCS := src/agent/config/agent_config.cc src/common/telemetry/config.cc src/agent/adminapi/admin_socket.cc \
                          src/common/unix_socket.cc src/agent/manager/bundle_url.cc src/common/http_client.cc \
                          src/common/url.cc $(HCL) $(LOGGING) $(SPIFFE)
# Debian's libcpp-httplib is compiled with these; the header's class layouts depend on them.
$(OUT)/obj/src/common/http_client.o: CXXFLAGS += -DCPPHTTPLIB_OPENSSL_SUPPORT -DCPPHTTPLIB_ZLIB_SUPPORT \
                                                 -DCPPHTTPLIB_BROTLI_SUPPORT

TARGETS := sevsnp_report_fuzz sevsnp_certtable_fuzz sevsnp_answer_fuzz iid_document_fuzz csr_fuzz \
           endorsement_fuzz kds_fuzz crl_fuzz iid_signature_fuzz attestation_payload_fuzz jwt_svid_fuzz \
           spiffe_id_fuzz bundle_fuzz hcl_fuzz json_config_fuzz server_config_fuzz agent_config_fuzz node_facts_fuzz \
           url_fuzz

all: $(addprefix $(OUT)/,$(TARGETS))
print-targets:
	@echo $(TARGETS)
.PHONY: all print-targets

objs = $(patsubst %.cc,$(OUT)/obj/%.o,$(sort $(1)))
define LINK_TARGET
$(OUT)/$(1): $(call objs,test/fuzz/$(1).cc $($(1)_SRCS))
	@echo "link $(1)"
	@$(FUZZ_CXX) $(CXXFLAGS) -fsanitize=fuzzer $$^ $(LIBS) -o $$@
endef
$(foreach t,$(TARGETS),$(eval $(call LINK_TARGET,$(t))))

$(OUT)/obj/%.o: %.cc
	@mkdir -p $(@D)
	@echo "compile $<"
	@$(CCACHE) $(FUZZ_CXX) $(CXXFLAGS) -MMD -MP -c $< -o $@

-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)
