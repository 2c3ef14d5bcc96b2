#include "agent/workload/attestor_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spirecvm::agent {
namespace {

using ::testing::ElementsAre;

class Fixed final : public WorkloadAttestor {
 public:
  Fixed(std::string name, absl::StatusOr<std::vector<std::string>> out) : name_(std::move(name)), out_(out) {}
  std::string name() const override { return name_; }
  absl::StatusOr<std::vector<std::string>> Attest(const CallerInfo&) override { return out_; }

 private:
  std::string name_;
  absl::StatusOr<std::vector<std::string>> out_;
};

std::vector<std::unique_ptr<WorkloadAttestor>> Two(absl::StatusOr<std::vector<std::string>> second) {
  std::vector<std::unique_ptr<WorkloadAttestor>> v;
  v.push_back(std::make_unique<Fixed>("unix", std::vector<std::string>{"unix:uid:1"}));
  v.push_back(std::make_unique<Fixed>("docker", std::move(second)));
  return v;
}

TEST(AttestorSetTest, ConcatenatesSelectorsInOrder) {
  AttestorSet set(Two(std::vector<std::string>{"docker:label:a", "docker:label:b"}));
  EXPECT_EQ(set.name(), "unix,docker");
  auto s = set.Attest(CallerInfo{});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(*s, ElementsAre("unix:uid:1", "docker:label:a", "docker:label:b"));
}

TEST(AttestorSetTest, AnErrorFailsTheCall) {
  AttestorSet set(Two(absl::PermissionDeniedError("container is gone")));
  auto s = set.Attest(CallerInfo{});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace spirecvm::agent
