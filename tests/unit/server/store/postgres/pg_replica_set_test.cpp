// PgReplicaSet against a real PostgreSQL server: one leader among the
// replicas of a schema, taken over when the leader's session dies (as when
// its process is SIGKILLed) and never held by two; a live replica with
// another configuration refuses a join, naming what differs; clock skew is
// measured against the database's clock.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "postgres_instance.hpp"
#include "server/store/postgres/pg_connection.hpp"
#include "server/store/postgres/pg_replica_set.hpp"
#include "server/store/postgres/pg_store.hpp"

using edgefed::Code;
using edgefed::server::PgConnection;
using edgefed::server::PgConnectOptions;
using edgefed::server::PgParam;
using edgefed::server::PgReplicaSet;
using edgefed::server::PgStore;
using edgefed::server::ReplicaView;

namespace replica_set_test {

edgefed::testing::PostgresInstance& replica_pg() {
  static edgefed::testing::PostgresInstance pg("replicas");
  return pg;
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A fresh schema with the store's tables; the conninfo that selects it.
std::string fresh_schema(const std::string& schema) {
  auto admin = PgConnection::connect(replica_pg().socket_conninfo());
  REQUIRE(admin.is_ok());
  REQUIRE(admin->exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema).is_ok());
  const std::string conninfo = replica_pg().socket_conninfo() + " options='-c search_path=" + schema + "'";
  REQUIRE(PgStore::open(conninfo).is_ok());
  return conninfo;
}

std::unique_ptr<PgReplicaSet> replica(const std::string& conninfo, const std::string& name) {
  PgConnectOptions options;
  options.application_name = "replica-" + name;
  auto r = PgReplicaSet::open(conninfo, options, name);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

ReplicaView tick(PgReplicaSet& r, int64_t version = 0) {
  auto v = r.tick(version, unix_ms());
  INFO(v.status().to_string());
  REQUIRE(v.is_ok());
  return *v;
}

// What a SIGKILL does to the leader's session: the server ends it.
void kill_session(const std::string& name) {
  auto admin = PgConnection::connect(replica_pg().socket_conninfo());
  REQUIRE(admin.is_ok());
  auto res = admin->query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                          {PgParam::text("replica-" + name)});
  REQUIRE(res.is_ok());
  REQUIRE(res->rows() == 1);
}

}  // namespace replica_set_test

using namespace replica_set_test;

TEST_CASE("replica set: one leader; another takes over when its session dies; never two", "[pg][replicas]") {
  const std::string conninfo = fresh_schema("replicas_lead");
  auto a = replica(conninfo, "a");
  auto b = replica(conninfo, "b");
  auto c = replica(conninfo, "c");
  REQUIRE(a->join(R"({"mode":"async"})", unix_ms()).is_ok());
  REQUIRE(b->join(R"({"mode":"async"})", unix_ms()).is_ok());
  REQUIRE(c->join(R"({"mode":"async"})", unix_ms()).is_ok());
  const ReplicaView va = tick(*a, 7);
  CHECK(va.leading);
  CHECK(va.leader == "a");
  CHECK(va.newest_version == -1);  // no version in the fresh schema
  const ReplicaView vb = tick(*b);
  CHECK_FALSE(vb.leading);
  CHECK(vb.leader == "a");
  CHECK(vb.live_replicas == 3);  // a join is a heartbeat
  c->leave();
  CHECK(tick(*b).live_replicas == 2);
  REQUIRE(c->join(R"({"mode":"async"})", unix_ms()).is_ok());
  CHECK(tick(*c).live_replicas == 3);
  CHECK(tick(*a).leading);  // kept, tick after tick

  // The leader's session dies: the next replica to tick leads, the others
  // see it; the old leader, back on a new session, does not lead.
  kill_session("a");
  const ReplicaView vb2 = tick(*b);
  CHECK(vb2.leading);
  CHECK_FALSE(tick(*c).leading);
  CHECK(tick(*c).leader == "b");
  auto again = a->tick(0, unix_ms());  // the broken session, then a new one
  if (!again.is_ok()) again = a->tick(0, unix_ms());
  REQUIRE(again.is_ok());
  CHECK_FALSE(again->leading);
  CHECK(again->leader == "b");
  int leaders = 0;
  for (auto* r : {a.get(), b.get(), c.get()}) leaders += tick(*r).leading ? 1 : 0;
  CHECK(leaders == 1);

  // A clean leave hands the leadership on at once.
  b->leave();
  CHECK_FALSE(b->leading());
  const bool a_leads = tick(*a).leading;
  const bool c_leads = tick(*c).leading;
  CHECK(a_leads != c_leads);
}

TEST_CASE("replica set: a live replica with another configuration refuses the join", "[pg][replicas]") {
  const std::string conninfo = fresh_schema("replicas_config");
  auto a = replica(conninfo, "a");
  REQUIRE(a->join(R"({"mode":"async","model":"mlp:784-128-10","buffer_k":10})", unix_ms()).is_ok());
  tick(*a);
  auto b = replica(conninfo, "b");
  const auto refused = b->join(R"({"mode":"async","model":"cnn-fmnist","buffer_k":20})", unix_ms());
  CHECK(refused.code() == Code::kConflict);
  CHECK_THAT(refused.message(), Catch::Contains("replica a") && Catch::Contains("model") &&
                                    Catch::Contains("buffer_k") && !Catch::Contains("mode,"));
  // The same configuration joins; once `a` left, the other one does too.
  auto c = replica(conninfo, "c");
  CHECK(c->join(R"({"mode":"async","model":"mlp:784-128-10","buffer_k":10})", unix_ms()).is_ok());
  c->leave();
  a->leave();
  CHECK(b->join(R"({"mode":"async","model":"cnn-fmnist","buffer_k":20})", unix_ms()).is_ok());
}

TEST_CASE("replica set: clock skew is measured on the database's clock", "[pg][replicas]") {
  const std::string conninfo = fresh_schema("replicas_clock");
  auto a = replica(conninfo, "a");
  REQUIRE(a->join("{}", unix_ms()).is_ok());
  CHECK(std::abs(tick(*a).clock_skew_s) < 1.0);
  auto ahead = a->tick(0, unix_ms() + 90000);  // a clock 90 s fast
  REQUIRE(ahead.is_ok());
  CHECK(ahead->clock_skew_s > 89.0);
  CHECK(ahead->clock_skew_s < 91.0);
  CHECK(ahead->leading);  // the leadership does not depend on it
}
