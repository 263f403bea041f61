// Real TLS handshakes over loopback between contexts made by tls.cpp, with
// certificates made by deploy/certs/edgefed-certs.
#include <catch2/catch.hpp>
#include <openssl/ssl.h>

#include "edgefed/tls.hpp"
#include "tls_fixture.hpp"

using namespace edgefed;
using namespace edgefed::testing;
namespace ssl = boost::asio::ssl;

namespace {

ServerTlsOptions server_options(ClientCertMode mode = ClientCertMode::kRequired, bool with_crl = false) {
  const Fleet& f = fleet();
  ServerTlsOptions o;
  o.cert_file = f.main() + "/server.pem";
  o.key_file = f.main() + "/server.key";
  o.client_ca_file = f.main() + "/ca.pem";
  if (with_crl) o.crl_file = f.main() + "/crl.pem";
  o.client_certs = mode;
  return o;
}

ClientTlsOptions agent_options(const std::string& id) {
  const Fleet& f = fleet();
  return {f.main() + "/ca.pem", f.agent(id, "pem"), f.agent(id, "key")};
}

void explain(const Exchange& e) {
  UNSCOPED_INFO("server: " << (e.server_ok ? "ok" : e.server_error));
  UNSCOPED_INFO("client: " << (e.client_ok ? "ok" : e.client_error));
}

}  // namespace

TEST_CASE("TLS 1.3 with a client certificate succeeds and the server reads the CN", "[unit][tls]") {
  auto server = make_server_context(server_options(ClientCertMode::kRequired, true));
  auto client = make_client_context(agent_options("agent-000"));
  const auto e = exchange(server, client);
  explain(e);
  CHECK(e.server_ok);
  CHECK(e.client_ok);
  CHECK(e.version == TLS1_3_VERSION);
  CHECK(e.peer_cn == "agent-000");
  CHECK(e.peer_ou == "agent");
}

TEST_CASE("the admin certificate carries the admin role", "[unit][tls]") {
  const Fleet& f = fleet();
  auto server = make_server_context(server_options());
  auto client = make_client_context({f.main() + "/ca.pem", f.main() + "/admin.pem", f.main() + "/admin.key"});
  const auto e = exchange(server, client);
  explain(e);
  REQUIRE(e.server_ok);
  CHECK(e.peer_cn == "admin");
  CHECK(e.peer_ou == "admin");
}

TEST_CASE("a TLS 1.2-only client is refused", "[unit][tls]") {
  auto server = make_server_context(server_options(ClientCertMode::kOptional));
  ssl::context client(ssl::context::tls_client);
  SSL_CTX_set_max_proto_version(client.native_handle(), TLS1_2_VERSION);
  client.set_verify_mode(ssl::verify_none);
  const auto e = exchange(server, client);
  explain(e);
  CHECK_FALSE(e.server_ok);
  CHECK_FALSE(e.client_ok);
  CHECK(e.server_error.find("handshake") != std::string::npos);
}

TEST_CASE("a client without a certificate is refused when one is required", "[unit][tls]") {
  auto server = make_server_context(server_options(ClientCertMode::kRequired));
  auto client = make_client_context({fleet().main() + "/ca.pem", "", ""});
  const auto e = exchange(server, client);
  explain(e);
  CHECK_FALSE(e.server_ok);
  CHECK_FALSE(e.client_ok);
  CHECK(e.server_error.find("certificate") != std::string::npos);
}

TEST_CASE("a client without a certificate passes when certificates are optional", "[unit][tls]") {
  auto server = make_server_context(server_options(ClientCertMode::kOptional));
  auto client = make_client_context({fleet().main() + "/ca.pem", "", ""});
  const auto e = exchange(server, client);
  explain(e);
  CHECK(e.server_ok);
  CHECK(e.client_ok);
  CHECK(e.peer_cn.empty());
}

TEST_CASE("a client certificate from another CA is refused", "[unit][tls]") {
  const Fleet& f = fleet();
  auto mode = GENERATE(ClientCertMode::kRequired, ClientCertMode::kOptional);
  auto server = make_server_context(server_options(mode));
  auto client = make_client_context(
      {f.main() + "/ca.pem", f.other() + "/agents/agent-000.pem", f.other() + "/agents/agent-000.key"});
  const auto e = exchange(server, client);
  explain(e);
  CHECK_FALSE(e.server_ok);
  CHECK_FALSE(e.client_ok);
  CHECK(e.peer_cn.empty());
}

TEST_CASE("a revoked client certificate is refused once the CRL is loaded", "[unit][tls]") {
  SECTION("without the CRL the certificate is still good") {
    auto server = make_server_context(server_options(ClientCertMode::kRequired, false));
    auto client = make_client_context(agent_options("agent-001"));
    const auto e = exchange(server, client);
    explain(e);
    CHECK(e.server_ok);
  }
  SECTION("with the CRL it is refused, and others are not") {
    auto server = make_server_context(server_options(ClientCertMode::kRequired, true));
    auto revoked = make_client_context(agent_options("agent-001"));
    const auto e = exchange(server, revoked);
    explain(e);
    CHECK_FALSE(e.server_ok);
    CHECK_FALSE(e.client_ok);
    CHECK(e.server_error.find("handshake") != std::string::npos);
    auto good = make_client_context(agent_options("agent-000"));
    CHECK(exchange(server, good).server_ok);
  }
}

TEST_CASE("an expired client certificate is refused", "[unit][tls]") {
  auto server = make_server_context(server_options(ClientCertMode::kRequired, true));
  auto client = make_client_context(agent_options("expired-agent"));
  const auto e = exchange(server, client);
  explain(e);
  CHECK_FALSE(e.server_ok);
  CHECK_FALSE(e.client_ok);
  CHECK(e.peer_cn.empty());
}

TEST_CASE("a client refuses a server certificate from another CA", "[unit][tls]") {
  auto server = make_server_context(server_options(ClientCertMode::kOptional));
  auto client = make_client_context({fleet().other() + "/ca.pem", "", ""});
  const auto e = exchange(server, client);
  explain(e);
  CHECK_FALSE(e.client_ok);
  CHECK(e.client_error.find("handshake") != std::string::npos);
}

TEST_CASE("a client certificate session can be resumed", "[unit][tls]") {
  // Without a session id context OpenSSL fails such resumptions outright.
  auto server = make_server_context(server_options(ClientCertMode::kRequired, true));
  auto client = make_client_context(agent_options("agent-000"));
  const auto first = exchange(server, client);
  explain(first);
  REQUIRE(first.client_ok);
  REQUIRE(first.session);
  const auto second = exchange(server, client, first.session.get());
  explain(second);
  CHECK(second.server_ok);
  CHECK(second.client_ok);
  CHECK(second.resumed);
  CHECK(second.peer_cn == "agent-000");
}

TEST_CASE("contexts allow TLS 1.3 only", "[unit][tls]") {
  auto server = make_server_context(server_options());
  auto client = make_client_context(agent_options("agent-000"));
  for (SSL_CTX* ctx : {server.native_handle(), client.native_handle()}) {
    CHECK(SSL_CTX_get_min_proto_version(ctx) == TLS1_3_VERSION);
    CHECK(SSL_CTX_get_max_proto_version(ctx) == TLS1_3_VERSION);
  }
}
