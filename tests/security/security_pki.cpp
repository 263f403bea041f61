#include "security_pki.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace edgefed::testing {
namespace {

struct Fleet {
  Pki pki;
  Fleet() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/edgefed-sec-pki-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    pki.dir = tmpl;
    const std::string tool = std::string(EDGEFED_SOURCE_DIR) + "/deploy/certs/edgefed-certs";
    auto run = [&](std::vector<std::string> argv) {
      argv.insert(argv.begin(), tool);
      if (run_command(argv) != 0) throw std::runtime_error("edgefed-certs " + argv[1] + " failed");
    };
    run({"init", "--out", pki.dir, "--server-san", "127.0.0.1,localhost", "--agents", "8"});
    run({"add-agent", "--out", pki.dir, "agent-expired", "--valid-from", "20200101000000Z", "--valid-until",
         "20200102000000Z"});
    run({"revoke", "--out", pki.dir, Pki::agent_id(kRevokedAgent)});
  }
  ~Fleet() {
    std::error_code ec;
    std::filesystem::remove_all(pki.dir, ec);
  }
};

}  // namespace

const Pki& security_pki() {
  static const Fleet f;
  return f.pki;
}

std::vector<std::string> crl_flags() { return {"--crl", security_pki().crl()}; }

}  // namespace edgefed::testing
