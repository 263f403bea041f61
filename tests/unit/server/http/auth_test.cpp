#include <catch2/catch.hpp>

#include "server/http/auth.hpp"

using namespace edgefed;
using namespace edgefed::server::http;

namespace {
PeerIdentity agent(const std::string& cn) { return {true, cn, "agent", "127.0.0.1:1"}; }
PeerIdentity admin_cert() { return {true, "admin", "admin", "127.0.0.1:1"}; }
PeerIdentity viewer_cert() { return {true, "alice", "viewer", "127.0.0.1:1"}; }
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
  CHECK(auth.authorize(Access::kPublic, viewer_cert(), "")->who == "viewer:alice");
}

TEST_CASE("a viewer certificate reads the status and nothing else", "[unit][http]") {
  Authenticator auth("0123456789abcdef-token");
  auto v = auth.authorize(Access::kStatus, viewer_cert(), "");
  REQUIRE(v);
  CHECK(auth.authorize(Access::kViewer, viewer_cert(), "")->full_status);
  CHECK(v->full_status);
  CHECK_FALSE(v->admin);
  CHECK(v->agent_id.empty());
  // Not an agent (its CN is not an agent id to act as), not an admin.
  CHECK(auth.authorize(Access::kAgent, viewer_cert(), "").status().code() == Code::kPermissionDenied);
  CHECK(auth.authorize(Access::kAgentOrAdmin, viewer_cert(), "").status().code() == Code::kPermissionDenied);
  CHECK(auth.authorize(Access::kAdmin, viewer_cert(), "").status().code() == Code::kPermissionDenied);
  // A viewer whose CN is an agent's id is still only a viewer.
  CHECK(auth.authorize(Access::kAgent, PeerIdentity{true, "agent-001", "viewer", ""}, "").status().code() ==
        Code::kPermissionDenied);
}

TEST_CASE("status access: viewer or admin by default, --status-anonymous for the rest", "[unit][http]") {
  const std::string token = "Bearer 0123456789abcdef-token";
  SECTION("none (default)") {
    Authenticator auth("0123456789abcdef-token");
    CHECK(auth.authorize(Access::kStatus, admin_cert(), "")->full_status);
    CHECK(auth.authorize(Access::kStatus, anonymous(), token)->full_status);
    CHECK(auth.authorize(Access::kStatus, anonymous(), "").status().code() == Code::kUnauthenticated);
    CHECK(auth.authorize(Access::kStatus, agent("agent-001"), "").status().code() == Code::kPermissionDenied);
    CHECK(auth.authorize(Access::kStatus, anonymous(), "Bearer wrong-token-wrong-token").status().code() ==
          Code::kUnauthenticated);
    // A CN of "viewer" without OU=viewer is an agent, not the viewer role.
    CHECK(auth.authorize(Access::kStatus, PeerIdentity{true, "viewer", "agent", ""}, "").status().code() ==
          Code::kPermissionDenied);
  }
  SECTION("summary") {
    Authenticator auth("0123456789abcdef-token", StatusAnonymous::kSummary);
    auto anon = auth.authorize(Access::kStatus, anonymous(), "");
    REQUIRE(anon);
    CHECK_FALSE(anon->full_status);
    auto ag = auth.authorize(Access::kStatus, agent("agent-001"), "");
    REQUIRE(ag);
    CHECK_FALSE(ag->full_status);
    CHECK(auth.authorize(Access::kStatus, viewer_cert(), "")->full_status);
    CHECK(auth.authorize(Access::kStatus, admin_cert(), "")->full_status);
    // The option opens the status routes only (not /metrics, not admin calls).
    CHECK(auth.authorize(Access::kViewer, anonymous(), "").status().code() == Code::kUnauthenticated);
    CHECK(auth.authorize(Access::kViewer, agent("agent-001"), "").status().code() == Code::kPermissionDenied);
    CHECK(auth.authorize(Access::kAdmin, anonymous(), "").status().code() == Code::kUnauthenticated);
    CHECK(auth.authorize(Access::kAgent, anonymous(), "").status().code() == Code::kUnauthenticated);
  }
  SECTION("full") {
    Authenticator auth("", StatusAnonymous::kFull);
    CHECK(auth.authorize(Access::kStatus, anonymous(), "")->full_status);
    CHECK(auth.authorize(Access::kStatus, agent("agent-001"), "")->full_status);
    CHECK(auth.authorize(Access::kAdmin, anonymous(), "").status().code() == Code::kUnauthenticated);
  }
}
