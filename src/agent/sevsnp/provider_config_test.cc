#include "agent/sevsnp/provider_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/hcl.h"

namespace spirecvm::agent::snp {
namespace {

using ::testing::HasSubstr;

// Parses `text` as the body of a sev_snp block; returns the config and Finish()'s status.
std::pair<SevSnpConfig, absl::Status> Parse(const std::string& text) {
  auto body = hcl::Parse(text, "agent.conf");
  EXPECT_TRUE(body.ok()) << body.status();
  config::Section s = config::Section::FromBody(*body, "sev_snp", "agent.conf");
  SevSnpConfig c = ParseSevSnpConfig(s);
  return {c, s.Finish()};
}

// The `simulator` block of `text` (a sev_snp body) read alone.
std::pair<SimulatorOptions, absl::Status> ParseSimulator(const std::string& text) {
  auto body = hcl::Parse(text, "agent.conf");
  EXPECT_TRUE(body.ok()) << body.status();
  config::Section s = config::Section::FromBody(*body, "sev_snp", "agent.conf");
  s.MarkKnown("report_provider");
  s.MarkKnown("tsm_path");
  s.MarkKnown("sev_guest_device");
  SimulatorOptions o = ParseSimulatedProvider(s);
  return {o, s.Finish()};
}

TEST(SevSnpConfig, DefaultsToAuto) {
  auto [c, st] = Parse("");
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(c.provider, "auto");
  auto p = NewReportProvider(c);
  ASSERT_TRUE(p.ok()) << p.status();
  auto* a = dynamic_cast<AutoProvider*>(p->get());
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->tsm_path(), "/sys/kernel/config/tsm/report");
  EXPECT_EQ(a->device(), "/dev/sev-guest");
}

TEST(SevSnpConfig, AutoReadsBothPaths) {
  auto [c, st] = Parse("tsm_path = \"/x/tsm\"\nsev_guest_device = \"/x/dev\"\n");
  ASSERT_TRUE(st.ok()) << st;
  auto p = NewReportProvider(c);
  ASSERT_TRUE(p.ok()) << p.status();
  auto* a = dynamic_cast<AutoProvider*>(p->get());
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->tsm_path(), "/x/tsm");
  EXPECT_EQ(a->device(), "/x/dev");
}

TEST(SevSnpConfig, ReadsEveryKey) {
  const std::string text = R"(
    report_provider = "simulated"
    tsm_path = "/x/tsm"
    sev_guest_device = "/x/dev"
    simulator {
      dir = "/var/lib/sim"
      measurement = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
      policy = "0x30000"
      vmpl = 2
      version = 5
      guest_svn = 4
      report_id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      host_data = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
      signing_key = "VCEK"
      debug = true
      corrupt = "signature"
      tcb { bl = 2  tee = 1  snp = 5  ucode = 68 }
    }
  )";
  auto [c, st] = Parse(text);
  ASSERT_TRUE(st.ok()) << st;  // tsm_path and sev_guest_device are accepted with every provider
  EXPECT_EQ(c.provider, "simulated");
  ASSERT_TRUE(c.build);
  auto [s, sim_st] = ParseSimulator(text);
  ASSERT_TRUE(sim_st.ok()) << sim_st;
  EXPECT_EQ(s.dir, "/var/lib/sim");
  ASSERT_TRUE(s.measurement.has_value());
  EXPECT_EQ((*s.measurement)[47], 0x2f);
  EXPECT_EQ(s.policy, 0x30000u);
  EXPECT_EQ(s.vmpl, 2u);
  EXPECT_EQ(s.version, 5u);
  EXPECT_EQ(s.guest_svn, 4u);
  EXPECT_EQ((*s.report_id)[0], 0xaa);
  EXPECT_EQ((*s.host_data)[31], 0xbb);
  EXPECT_EQ(s.signing_key, sevsnp::abi::SigningKey::kVcek);
  EXPECT_TRUE(s.debug);
  EXPECT_EQ(s.corrupt, Corruption::kSignature);
  ASSERT_TRUE(s.tcb.has_value());
  EXPECT_EQ(s.tcb->bl, 2);
  EXPECT_EQ(s.tcb->tee, 1);
  EXPECT_EQ(s.tcb->snp, 5);
  EXPECT_EQ(s.tcb->ucode, 68);
}

TEST(SevSnpConfig, PolicyAsANumber) {
  auto [s, st] = ParseSimulator("report_provider = \"simulated\"\nsimulator {\n dir = \"/d\"\n policy = 196608\n}\n");
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(s.policy, 0x30000u);
}

TEST(SevSnpConfig, ReportsEveryProblemAtOnce) {
  auto [c, st] = Parse(R"(
    report_provider = "simulated"
    colour = "blue"
    simulator {
      measurement = "abcd"
      policy = "0xZZ"
      vmpl = 4
      version = 1
      signing_key = "ark"
      corrupt = "everything"
      report_id = "zz"
      extra = 1
    }
  )");
  ASSERT_FALSE(st.ok());
  const std::string m(st.message());
  EXPECT_THAT(m, HasSubstr("simulator.dir must be set"));
  EXPECT_THAT(m, HasSubstr("measurement: want 96 hex digits"));
  EXPECT_THAT(m, HasSubstr("policy"));
  EXPECT_THAT(m, HasSubstr("vmpl: must be between 0 and 3"));
  EXPECT_THAT(m, HasSubstr("version: must be between 2 and 5"));
  EXPECT_THAT(m, HasSubstr("unknown signing key \"ark\""));
  EXPECT_THAT(m, HasSubstr("unknown corruption \"everything\""));
  EXPECT_THAT(m, HasSubstr("report_id: want 64 hex digits"));
  EXPECT_THAT(m, HasSubstr("\"colour\""));
  EXPECT_THAT(m, HasSubstr("\"extra\""));
}

TEST(SevSnpConfig, SimulatorBlockOnlyWithSimulatedAndViceVersa) {
  auto [c1, st1] = Parse("report_provider = \"tsm\"\nsimulator {\n dir = \"/d\"\n}\n");
  EXPECT_THAT(std::string(st1.message()), HasSubstr("only used with report_provider = \"simulated\""));
  auto [c2, st2] = Parse("report_provider = \"simulated\"\n");
  EXPECT_THAT(std::string(st2.message()), HasSubstr("needs a simulator"));
  auto [c3, st3] = Parse("report_provider = \"sgx\"\n");
  EXPECT_THAT(std::string(st3.message()), HasSubstr("unknown report provider \"sgx\""));
}

TEST(NewReportProvider, BuildsEachKind) {
  auto [none_cfg, none_st] = Parse("report_provider = \"none\"\n");
  ASSERT_TRUE(none_st.ok()) << none_st;
  auto none = NewReportProvider(none_cfg);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  for (std::string name : {"auto", "tsm", "sev-guest"}) {
    auto [c, st] = Parse("report_provider = \"" + name + "\"\n");
    ASSERT_TRUE(st.ok()) << st;
    EXPECT_EQ(c.provider, name);
    auto p = NewReportProvider(c);
    ASSERT_TRUE(p.ok()) << p.status();
    ASSERT_NE(*p, nullptr);
    EXPECT_EQ((*p)->name(), name);
  }
  EXPECT_FALSE(NewReportProvider(SevSnpConfig{"sgx", nullptr}).ok());
}

TEST(NewReportProvider, UnknownNameListsTheCatalog) {
  auto [c, st] = Parse("report_provider = \"sgx\"\n");
  EXPECT_THAT(std::string(st.message()), HasSubstr("agent.conf:1:1: sev_snp.report_provider: unknown report provider "
                                                   "\"sgx\" (want auto, tsm, sev-guest, simulated, none)"));
  EXPECT_FALSE(c.build);
}

}  // namespace
}  // namespace spirecvm::agent::snp
