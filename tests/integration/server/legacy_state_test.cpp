// A state directory written before model specs opens with today's server:
// the checkpoint's MLP tensors are renamed to PyTorch's Sequential names
// under the MLP spec, and the update acknowledged then (for the old
// layout) still merges, together with a new one for the new layout.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "../../support/scratch_dir.hpp"
#include "server_process.hpp"
#include "test_updates.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

// Decompresses the committed fixture into `path`.
void gunzip_to(const std::string& gz, const std::string& path) {
  gzFile in = gzopen(gz.c_str(), "rb");
  REQUIRE(in != nullptr);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  char buf[65536];
  int n = 0;
  while ((n = gzread(in, buf, sizeof buf)) > 0) out.write(buf, n);
  gzclose(in);
  REQUIRE(n == 0);
  REQUIRE(out.good());
}

}  // namespace

TEST_CASE("a state directory written before model specs opens: tensors renamed, the pending update merges",
          "[integration][server]") {
  ScratchDir dir("edgefed-legacy");
  std::filesystem::create_directories(dir.file("state"));
  std::filesystem::permissions(dir.file("state"), std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
  gunzip_to(std::string(EDGEFED_SOURCE_DIR) + "/tests/integration/server/fixtures/legacy-mlp-784-4-10.sqlite.gz",
            dir.file("state") + "/edgefed.sqlite");
  ServerProcess server(fleet_pki(), dir.file("state"),
                       {"--mode", "async", "--buffer-k", "2", "--buffer-timeout", "0", "--staleness-fn", "constant"});
  server.start();
  auto agent = server.agent(1);
  auto admin = server.admin();  // /v1/status in full

  auto r = agent->get("/v1/model");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(*r->header("X-Model-Version") == "0");
  const auto model = decode_model_or_throw(r->body);
  const auto& t = model.model.layout.tensors();
  REQUIRE(t.size() == 4);
  CHECK(t[0].name == "layers.0.weight");
  CHECK(t[0].shape == std::vector<int64_t>{4, 784});
  CHECK(t[2].name == "layers.2.weight");  // was layers.1.weight
  CHECK(t[2].shape == std::vector<int64_t>{10, 4});
  CHECK_THAT(model.metadata.at("model_spec"), Catch::Contains("\"name\":\"mlp:784-4-10\""));
  CHECK(model.model.layout.describe() == "mlp:784-4-10");

  // The old ledger's pending update waits in the buffer; one new update
  // for the upgraded layout fills it (K = 2) and a version commits.
  auto status = admin->get("/v1/status");
  REQUIRE(status);
  const auto before = nlohmann::json::parse(status->body);
  CHECK(before["updates_accepted"] == 1);
  CHECK(before["updates_merged"] == 0);
  auto ack = agent->post("/v1/updates", make_update(model.model.layout, Pki::agent_id(1), "new-1", 0, 10, 0.5f));
  REQUIRE(ack);
  CHECK(ack->status == 202);
  int64_t merged = 0;
  for (int i = 0; i < 200 && merged < 2; ++i) {
    auto s = admin->get("/v1/status");
    REQUIRE(s);
    merged = nlohmann::json::parse(s->body)["updates_merged"].get<int64_t>();
    if (merged < 2) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(merged == 2);
  auto v1 = agent->get("/v1/model");
  REQUIRE(v1);
  CHECK(*v1->header("X-Model-Version") == "1");
}
