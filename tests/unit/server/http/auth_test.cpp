#include <catch2/catch.hpp>

#include "server/http/auth.hpp"

using namespace edgefed;
using namespace edgefed::server::http;

namespace {
PeerIdentity agent(const std::string& cn) { return {true, cn, "agent", "127.0.0.1:1"}; }
PeerIdentity admin_cert() { return {true, "admin", "admin", "127.0.0.1:1"}; }
PeerIdentity anonymous() { return {}; }
}  // namespace

TEST_CASE("agent calls need a verified agent certificate", "[unit][http]") {
  Authenticator auth("0123456789abcdef-token");
  auto ok = auth.authorize(Access::kAgent, agent("agent-001"), "");
  REQUIRE(ok);
  CHECK(ok->agent_id == "agent-001");
  CHECK(!ok->admin);
  CHECK(auth.authorize(Access::kAgent, anonymous(), "").status().code() == Code::kUnauthenticated);
  CHECK(auth.authorize(Access::kAgent, admin_cert(), "").status().code() == Code::kPermissionDenied);
  CHECK(auth.authorize(Access::kAgent, agent("bad id"), "").status().code() == Code::kPermissionDenied);
  // A token does not make anyone an agent.
  CHECK(auth.authorize(Access::kAgent, anonymous(), "Bearer 0123456789abcdef-token").status().code() ==
        Code::kUnauthenticated);
}

TEST_CASE("admin calls need OU=admin or the bearer token", "[unit][http]") {
  Authenticator auth("0123456789abcdef-token");
  CHECK(auth.authorize(Access::kAdmin, admin_cert(), "")->admin);
  CHECK(auth.authorize(Access::kAdmin, anonymous(), "Bearer 0123456789abcdef-token")->who == "token");
  CHECK(auth.authorize(Access::kAdmin, anonymous(), "Bearer 0123456789abcdef-toke").status().code() ==
        Code::kUnauthenticated);
  CHECK(auth.authorize(Access::kAdmin, anonymous(), "Basic x").status().code() == Code::kUnauthenticated);
  CHECK(auth.authorize(Access::kAdmin, anonymous(), "").status().code() == Code::kUnauthenticated);
  CHECK(auth.authorize(Access::kAdmin, agent("agent-001"), "").status().code() == Code::kPermissionDenied);
  // A CN of "admin" without OU=admin is not the admin role.
  CHECK(auth.authorize(Access::kAdmin, PeerIdentity{true, "admin", "agent", ""}, "").status().code() ==
        Code::kPermissionDenied);
  Authenticator no_token("");
  CHECK(no_token.authorize(Access::kAdmin, anonymous(), "Bearer ").status().code() == Code::kUnauthenticated);
}

TEST_CASE("agent-or-admin and public access", "[unit][http]") {
  Authenticator auth("0123456789abcdef-token");
  CHECK(auth.authorize(Access::kAgentOrAdmin, agent("agent-001"), "")->agent_id == "agent-001");
  CHECK(auth.authorize(Access::kAgentOrAdmin, admin_cert(), "")->admin);
  CHECK(auth.authorize(Access::kAgentOrAdmin, anonymous(), "").status().code() == Code::kUnauthenticated);
  CHECK(auth.authorize(Access::kPublic, anonymous(), "")->agent_id.empty());
}
