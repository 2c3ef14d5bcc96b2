// imds-emulator: TEST ONLY emulator of the EC2 instance metadata service (IMDSv2) for tests and
// the demo. See docs/aws-iid.md. It never talks to AWS, and the key it signs with is a local
// test key: a server trusts it only if its certificate is put in aws_certificates_path.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "attestation/awsiid/document.h"
#include "attestation/awsiid/testing/test_signer.h"
#include "common/files.h"
#include "imds_emulator/imds_emulator.h"

namespace {

namespace awsiid = spirecvm::awsiid;
namespace emu = spirecvm::imds_emulator;

constexpr char kUsage[] = R"(imds-emulator: TEST ONLY emulator of the EC2 instance metadata service (IMDSv2).

Serves /latest/api/token (PUT) and /latest/dynamic/instance-identity/{document,rsa2048,signature}
behind the IMDSv2 token flow (401 without a valid token).

Generated mode (default): a document built from flags, signed on the fly by a TEST "AWS" key.
  --account-id ID        12 digits (default 123456789012)
  --region REGION        (default us-east-1)
  --az AZ                (default <region>a)
  --instance-id ID       (default i-0123456789abcdef0)
  --image-id AMI         (default ami-0123456789abcdef0)
  --instance-type TYPE   (default m6a.large)
  --pending-time RFC3339 (default: now)
  --cms-form FORM        with-signed-attributes (default, the newer AWS form) | without-signed-attributes
  --state-dir DIR        keep the test key + certificate in DIR (generated on first use);
                         without it a fresh key is made for this run
  --certs-dir DIR        write the test certificate as DIR/rsa2048/<region>.pem and
                         DIR/rsa/<region>.pem: use DIR as the server's aws_certificates_path

Files mode: serve given files as-is (e.g. a real document and its signatures).
  --document FILE --rsa2048 FILE [--signature FILE] [--pkcs7 FILE]

Common:
  --listen HOST:PORT     (default 127.0.0.1:0; port 0 picks a free port and prints it)
  --ready-file FILE      write the chosen port to FILE once listening
  --imdsv1-only          answer the token PUT with 405 and serve GETs without a token
                         (to test the agent's IMDSv1-only error)
  --help
)";

int Fail(const std::string& msg) {
  std::cerr << "imds-emulator: " << msg << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  static const std::set<std::string> kValueFlags = {
      "--account-id",   "--region",   "--az",        "--instance-id", "--image-id", "--instance-type",
      "--pending-time", "--cms-form", "--state-dir", "--certs-dir",   "--document", "--rsa2048",
      "--signature",    "--pkcs7",    "--listen",    "--ready-file"};
  std::map<std::string, std::string> flags;
  bool imdsv1_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg == "--imdsv1-only") {
      imdsv1_only = true;
      continue;
    }
    std::string value;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (kValueFlags.count(arg) && i + 1 < argc) {
      value = argv[++i];
    } else if (kValueFlags.count(arg)) {
      return Fail(absl::StrCat(arg, " needs a value"));
    }
    if (!kValueFlags.count(arg)) return Fail(absl::StrCat("unknown flag ", arg, " (see --help)"));
    flags[arg] = value;
  }
  auto flag = [&](const std::string& name, const std::string& def = "") {
    auto it = flags.find(name);
    return it == flags.end() ? def : it->second;
  };

  emu::Options options;
  options.imdsv1_only = imdsv1_only;
  std::string listen = flag("--listen", "127.0.0.1:0");
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &options.port) || options.port < 0 ||
      options.port > 65535) {
    return Fail(absl::StrCat("--listen \"", listen, "\" is not HOST:PORT"));
  }
  options.host = listen.substr(0, colon);

  const bool files_mode = flags.count("--document") > 0;
  if (files_mode) {
    for (const char* gen : {"--account-id", "--region", "--az", "--instance-id", "--image-id", "--instance-type",
                            "--pending-time", "--cms-form", "--certs-dir", "--state-dir"}) {
      if (flags.count(gen)) return Fail(absl::StrCat(gen, " cannot be combined with --document"));
    }
    if (!flags.count("--rsa2048") && !flags.count("--signature")) {
      return Fail("--document needs --rsa2048 and/or --signature");
    }
    const std::pair<const char*, std::string*> files[] = {{"--document", &options.content.document},
                                                          {"--rsa2048", &options.content.rsa2048},
                                                          {"--signature", &options.content.signature},
                                                          {"--pkcs7", &options.content.pkcs7}};
    for (const auto& [name, dst] : files) {
      if (!flags.count(name)) continue;
      auto data = spirecvm::files::ReadFile(flags[name]);
      if (!data.ok()) return Fail(absl::StrCat("cannot read ", name, ": ", data.status().message()));
      *dst = std::move(*data);
    }
  } else {
    for (const char* f : {"--rsa2048", "--signature", "--pkcs7"}) {
      if (flags.count(f)) return Fail(absl::StrCat(f, " needs --document (files mode)"));
    }
    awsiid::testing::DocumentFields fields;
    fields.account_id = flag("--account-id", fields.account_id);
    fields.region = flag("--region", fields.region);
    fields.availability_zone = flag("--az");
    fields.instance_id = flag("--instance-id", fields.instance_id);
    fields.image_id = flag("--image-id", fields.image_id);
    fields.instance_type = flag("--instance-type", fields.instance_type);
    fields.pending_time = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
    if (flags.count("--pending-time")) {
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, flags["--pending-time"], &fields.pending_time, &err)) {
        return Fail(absl::StrCat("--pending-time: ", err));
      }
    }
    awsiid::testing::CmsForm form = awsiid::testing::CmsForm::kWithSignedAttributes;
    std::string cms_form = flag("--cms-form", "with-signed-attributes");
    if (cms_form == "without-signed-attributes") {
      form = awsiid::testing::CmsForm::kWithoutSignedAttributes;
    } else if (cms_form != "with-signed-attributes") {
      return Fail(
          absl::StrCat("--cms-form \"", cms_form, "\": expected with-signed-attributes or without-signed-attributes"));
    }
    options.content.document = awsiid::testing::MakeDocument(fields);
    // The generated document must be one the server accepts: check it with the real parser.
    if (auto doc = awsiid::ParseDocument(options.content.document); !doc.ok()) {
      return Fail(absl::StrCat("flags make an invalid document: ", doc.status().message()));
    }
    auto signer = flags.count("--state-dir") ? awsiid::testing::TestAwsSigner::LoadOrCreate(flags["--state-dir"])
                                             : awsiid::testing::TestAwsSigner::Generate();
    if (!signer.ok()) return Fail(std::string(signer.status().message()));
    auto rsa2048 = awsiid::testing::SignRsa2048(*signer, options.content.document, form);
    if (!rsa2048.ok()) return Fail(std::string(rsa2048.status().message()));
    auto signature = awsiid::testing::SignRsaSignature(*signer, options.content.document);
    if (!signature.ok()) return Fail(std::string(signature.status().message()));
    options.content.rsa2048 = *rsa2048;
    options.content.signature = *signature;
    if (flags.count("--certs-dir")) {
      if (auto s = signer->WriteCertsDir(flags["--certs-dir"], fields.region); !s.ok()) {
        return Fail(std::string(s.message()));
      }
    }
  }

  // Block the stop signals before any thread starts, then wait for them here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto server = emu::ImdsEmulator::Start(options);
  if (!server.ok()) return Fail(std::string(server.status().message()));
  if (flags.count("--ready-file")) {
    const std::string path = flags["--ready-file"];
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << (*server)->port() << "\n";
      if (!out) return Fail(absl::StrCat("cannot write --ready-file ", path));
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) return Fail(absl::StrCat("cannot write --ready-file ", path, ": ", ec.message()));
  }
  std::cout << "imds-emulator (TEST ONLY, not AWS) listening on " << (*server)->endpoint()
            << (imdsv1_only ? " [IMDSv1 only]" : "") << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  (*server)->Stop();
  return 0;
}
