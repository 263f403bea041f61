// Start-up failures: each is a ConfigError that names the file at fault.
#include <filesystem>

#include <catch2/catch.hpp>

#include "edgefed/status.hpp"
#include "edgefed/tls.hpp"
#include "tls_fixture.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

ServerTlsOptions good_server() {
  const Fleet& f = fleet();
  return {f.main() + "/server.pem", f.main() + "/server.key", f.main() + "/ca.pem", f.main() + "/crl.pem",
          ClientCertMode::kRequired};
}

// The ConfigError message from fn, or "" if it did not throw one.
template <typename Fn>
std::string config_error(Fn fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("key files open to group or others are refused", "[unit][tls]") {
  const std::string key = read_file(fleet().main() + "/server.key");
  auto [mode, refused] = GENERATE(table<unsigned, bool>({
      {0600, false}, {0400, false}, {0640, true}, {0644, true}, {0604, true}, {0660, true}, {0620, true},
  }));
  const std::string path = write_file("perm-test.key", key, mode);
  INFO("mode " << std::oct << mode);
  const std::string err = config_error([&] { check_key_permissions(path); });
  if (refused) {
    CHECK(err.find(path) != std::string::npos);
    CHECK(err.find("chmod 600") != std::string::npos);
    // And a context built with it is refused too, before the key is read.
    ServerTlsOptions o = good_server();
    o.key_file = path;
    CHECK(config_error([&] { (void)make_server_context(o); }).find(path) != std::string::npos);
  } else {
    CHECK(err.empty());
  }
}

TEST_CASE("a missing file gives a ConfigError naming it", "[unit][tls]") {
  const std::string missing = fleet().scratch + "/no-such-file.pem";
  auto field = GENERATE(as<std::string>{}, "cert", "key", "client_ca", "crl");
  ServerTlsOptions o = good_server();
  if (field == "cert") o.cert_file = missing;
  if (field == "key") o.key_file = missing;
  if (field == "client_ca") o.client_ca_file = missing;
  if (field == "crl") o.crl_file = missing;
  INFO(field);
  const std::string err = config_error([&] { (void)make_server_context(o); });
  CHECK(err.find(missing) != std::string::npos);
  CHECK(err.find("No such file") != std::string::npos);
}

TEST_CASE("client context files are checked the same way", "[unit][tls]") {
  const Fleet& f = fleet();
  const std::string missing = f.scratch + "/absent.pem";
  CHECK(config_error([&] { (void)make_client_context({missing, "", ""}); }).find(missing) != std::string::npos);
  CHECK(config_error([&] {
          (void)make_client_context({f.main() + "/ca.pem", missing, f.agent("agent-000", "key")});
        }).find(missing) != std::string::npos);
  CHECK(config_error([&] {
          (void)make_client_context({f.main() + "/ca.pem", f.agent("agent-000", "pem"), ""});
        }).find("both") != std::string::npos);
}

TEST_CASE("files that are not what they claim are refused, naming them", "[unit][tls]") {
  const Fleet& f = fleet();
  const std::string garbage = write_file("garbage.pem", "this is not PEM\n", 0600);
  auto field = GENERATE(as<std::string>{}, "cert", "key", "client_ca", "crl");
  ServerTlsOptions o = good_server();
  if (field == "cert") o.cert_file = garbage;
  if (field == "key") o.key_file = garbage;
  if (field == "client_ca") o.client_ca_file = garbage;
  if (field == "crl") o.crl_file = garbage;
  INFO(field);
  CHECK(config_error([&] { (void)make_server_context(o); }).find(garbage) != std::string::npos);
  (void)f;
}

TEST_CASE("a key that does not match its certificate is refused", "[unit][tls]") {
  ServerTlsOptions o = good_server();
  o.key_file = fleet().agent("agent-000", "key");
  const std::string err = config_error([&] { (void)make_server_context(o); });
  CHECK(err.find("does not match") != std::string::npos);
  CHECK(err.find(o.key_file) != std::string::npos);
}

TEST_CASE("required client certificates need a client CA; optional ones without a CA mean no mTLS",
          "[unit][tls]") {
  ServerTlsOptions o = good_server();
  o.client_ca_file.clear();
  o.crl_file.clear();
  CHECK(config_error([&] { (void)make_server_context(o); }).find("client CA") != std::string::npos);
  o.client_certs = ClientCertMode::kOptional;
  CHECK(config_error([&] { (void)make_server_context(o); }).empty());
  o.client_certs = ClientCertMode::kNone;
  CHECK(config_error([&] { (void)make_server_context(o); }).empty());
  o.crl_file = fleet().main() + "/crl.pem";
  CHECK(config_error([&] { (void)make_server_context(o); }).find(o.crl_file) != std::string::npos);
}

TEST_CASE("certificate names are read safely", "[unit][tls]") {
  CHECK(certificate_common_name(nullptr).empty());
  CHECK(certificate_organizational_unit(nullptr).empty());
}
