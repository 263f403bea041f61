// edgefed-export against a real server's state directory: the checkpoint of
// a kept version, or a model file, written as ONNX that the ONNX checker
// accepts (tests/python/onnx_check.py, Debian's python3-onnx), and clear
// refusals with exit 1 or 2; GET /v1/versions/{N}/model(.onnx) serves the
// same bytes.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "../../support/scratch_dir.hpp"
#include "server_process.hpp"

using namespace edgefed;
using namespace edgefed::testing;

namespace {

std::string slurp_export(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("edgefed-export writes a server's checkpoint as ONNX the ONNX checker accepts, and bad use exits 1 or 2",
          "[integration][server]") {
  ScratchDir dir("edgefed-export");
  const std::string state = dir.file("state");
  {
    ServerProcess server(fleet_pki(), state, {"--model-init", "cnn-fmnist"});
    server.start();
    auto c = server.agent(0);
    auto r = c->get("/v1/model");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    std::ofstream(dir.file("served.safetensors"), std::ios::binary) << r->body;
    // The kept version as files over HTTPS, to agents and admins.
    auto onnx_http = c->get("/v1/versions/0/model.onnx");
    REQUIRE(onnx_http);
    REQUIRE(onnx_http->status == 200);
    CHECK(*onnx_http->header("Content-Disposition") == "attachment; filename=\"edgefed-v0.onnx\"");
    CHECK(*onnx_http->header("X-Model-Version") == "0");
    std::ofstream(dir.file("http.onnx"), std::ios::binary) << onnx_http->body;
    auto model_http = server.admin()->get("/v1/versions/0/model");
    REQUIRE(model_http);
    REQUIRE(model_http->status == 200);
    std::ofstream(dir.file("http.safetensors"), std::ios::binary) << model_http->body;
    auto missing = c->get("/v1/versions/7/model.onnx");
    REQUIRE(missing);
    CHECK(missing->status == 404);
    auto bad = c->get("/v1/versions/x1/model");
    REQUIRE(bad);
    CHECK(bad->status == 400);
    CHECK(bad->body.find("must be a number") != std::string::npos);
    auto post = c->post("/v1/versions/0/model", "");
    REQUIRE(post);
    CHECK(post->status == 405);

    CHECK(server.terminate() == 0);
  }
  // The newest kept version of the state directory, then the same model
  // from the file the server served: the same bytes.
  const std::string from_state = dir.file("state.onnx");
  REQUIRE(run_command({EDGEFED_EXPORT_BIN, "--state-dir", state, "--output", from_state}) == 0);
  const std::string from_file = dir.file("file.onnx");
  REQUIRE(run_command({EDGEFED_EXPORT_BIN, "--model", dir.file("served.safetensors"), "--output", from_file}) == 0);
  const std::string onnx = slurp_export(from_state);
  CHECK(onnx.size() > 4 * 50000);  // cnn-fmnist's parameters
  CHECK(onnx == slurp_export(from_file));
  // --format safetensors gives the checkpoint back as a model file.
  REQUIRE(run_command({EDGEFED_EXPORT_BIN, "--state-dir", state, "--format", "safetensors", "--output",
                       dir.file("back.safetensors")}) == 0);
  CHECK(slurp_export(dir.file("back.safetensors")).size() > 4 * 50000);
  // GET /v1/versions/0/... gave the very same files.
  CHECK(slurp_export(dir.file("http.onnx")) == onnx);
  CHECK(slurp_export(dir.file("http.safetensors")) == slurp_export(dir.file("back.safetensors")));

  // The ONNX project's checker, with the served file's tensors.
  std::ofstream(dir.file("meta.json")) << R"({"input_shape":[1,28,28],"output_shape":[10],"task":"classification"})";
  const std::string check = std::string(EDGEFED_SYSTEM_PYTHON3) + " " + EDGEFED_SOURCE_DIR +
                            "/tests/python/onnx_check.py " + from_state + " " + dir.file("served.safetensors") + " " +
                            dir.file("meta.json");
  CHECK(std::system(check.c_str()) == 0);

  // Refusals: usage errors exit 2, failures exit 1, nothing is written.
  CHECK(run_command({EDGEFED_EXPORT_BIN, "--output", dir.file("x.onnx")}) == 2);
  CHECK(run_command({EDGEFED_EXPORT_BIN, "--model", dir.file("served.safetensors")}) == 2);
  CHECK(run_command({EDGEFED_EXPORT_BIN, "--model", dir.file("served.safetensors"), "--version", "1", "--output",
                     dir.file("x.onnx")}) == 2);
  CHECK(run_command({EDGEFED_EXPORT_BIN, "--format", "tflite", "--state-dir", state, "--output",
                     dir.file("x.onnx")}) == 2);
  CHECK(run_command({EDGEFED_EXPORT_BIN, "--state-dir", state, "--version", "99", "--output", dir.file("x.onnx")}) ==
        1);
  CHECK(run_command({EDGEFED_EXPORT_BIN, "--model", dir.file("no-such.safetensors"), "--output",
                     dir.file("x.onnx")}) == 1);
  std::ofstream(dir.file("junk.safetensors")) << "not a model";
  CHECK(run_command({EDGEFED_EXPORT_BIN, "--model", dir.file("junk.safetensors"), "--output", dir.file("x.onnx")}) ==
        1);
  CHECK(run_command({EDGEFED_EXPORT_BIN, "--model", dir.file("served.safetensors"), "--spec", "mlp:784-32-10",
                     "--output", dir.file("x.onnx")}) == 1);
  CHECK(run_command({EDGEFED_EXPORT_BIN, "--state-dir", dir.file("no-such-state"), "--output", dir.file("x.onnx")}) ==
        1);
  CHECK_FALSE(std::filesystem::exists(dir.file("x.onnx")));

  // EDGEFED_STATE_DIR (set for the server in its image) is the default
  // source; a --model flag takes precedence over it.
  setenv("EDGEFED_STATE_DIR", state.c_str(), 1);
  CHECK(run_command({EDGEFED_EXPORT_BIN, "--output", dir.file("env.onnx")}) == 0);
  CHECK(run_command({EDGEFED_EXPORT_BIN, "--model", dir.file("served.safetensors"), "--output",
                     dir.file("flag.onnx")}) == 0);
  unsetenv("EDGEFED_STATE_DIR");
  CHECK(slurp_export(dir.file("env.onnx")) == onnx);
  CHECK(slurp_export(dir.file("flag.onnx")) == onnx);

  // Serving channels over HTTPS, on the same state (a restarted server):
  // the list (viewer or admin), promote and rollback (admin), each answered
  // and audit-logged.
  {
    ServerProcess server(fleet_pki(), state, {});
    server.start();
    auto c = server.agent(0);
    auto admin = server.admin();
    REQUIRE(admin->post("/v1/admin/promote", R"({"version":0})", "application/json")->status == 200);
    auto list = admin->get("/v1/versions");
    REQUIRE(list);
    REQUIRE(list->status == 200);
    auto j = nlohmann::json::parse(list->body);
    CHECK(j["stable"] == 0);
    CHECK(j["channels_enabled"] == true);
    REQUIRE(j["versions"].size() == 1);
    CHECK(j["versions"][0]["version"] == 0);
    CHECK(j["versions"][0]["channel"] == "stable");
    CHECK(j["versions"][0]["kept"] == true);
    CHECK(c->get("/v1/versions")->status == 403);  // an agent certificate is no viewer
    auto missing_version = admin->post("/v1/admin/promote", R"({"version":99})", "application/json");
    CHECK(missing_version->status == 404);
    CHECK(admin->post("/v1/admin/promote", R"({"v":1})", "application/json")->status == 400);
    REQUIRE(admin->post("/v1/admin/rollback", R"({"version":0})", "application/json")->status == 200);
    auto after = nlohmann::json::parse(admin->get("/v1/versions")->body);
    CHECK(after["stable"] == 1);
    CHECK(after["versions"].back()["channel_reason"] == "admin rollback to version 0");
    // The task tells an agent which version to serve.
    auto task = nlohmann::json::parse(c->get("/v1/task")->body);
    CHECK(task["serve_version"] == 1);
    CHECK(task["serve_channel"] == "stable");
    CHECK(server.log().find("\"action\":\"admin_promote\"") != std::string::npos);
    CHECK(server.terminate() == 0);
  }
  // A version the channels decided on stays listed when it is older than
  // the status history (which holds the newest versions only): the demo's
  // 2,000-version runs promote versions hundreds behind the newest.
  {
    ServerProcess server(fleet_pki(), state, {"--status-history=1"});
    server.start();
    auto j = nlohmann::json::parse(server.admin()->get("/v1/versions")->body);
    REQUIRE(j["versions"].size() == 2);
    CHECK(j["versions"][0]["version"] == 0);
    CHECK(j["versions"][0]["channel"] == "stable");
    CHECK_FALSE(j["versions"][0].contains("created_unix_ms"));  // older than the history
    CHECK(j["versions"][1]["version"] == 1);
    CHECK(j["versions"][1].contains("created_unix_ms"));
    CHECK(server.terminate() == 0);
  }
}
