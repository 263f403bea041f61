#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/serve/predict_server.hpp"
#include "agent/serve/predictor.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "scratch_dir.hpp"

namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using edgefed::agent::PredictServer;
using edgefed::agent::ServingModel;
using edgefed::agent::Validation;

struct Reply {
  int status = 0;
  std::string body;
};

// One request on a fresh connection to the Unix socket.
Reply call(const std::string& socket, bhttp::verb method, const std::string& target, const std::string& body = "") {
  net::io_context ioc;
  net::local::stream_protocol::socket s(ioc);
  s.connect(net::local::stream_protocol::endpoint(socket));
  bhttp::request<bhttp::string_body> req(method, target, 11);
  req.set(bhttp::field::host, "localhost");
  req.set(bhttp::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  bhttp::write(s, req);
  boost::beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 20);
  bhttp::read(s, buf, parser);
  return {static_cast<int>(parser.get().result_int()), parser.get().body()};
}

std::string error_of(const Reply& r) {
  return nlohmann::json::parse(r.body).at("error").at("message").get<std::string>();
}

std::string inputs_json(int64_t n, int64_t d, float v = 0.25f) {
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t i = 0; i < n; ++i) rows.push_back(std::vector<float>(static_cast<size_t>(d), v + 0.1f * i));
  return nlohmann::json{{"inputs", rows}}.dump();
}

Validation v(int64_t version) {
  return {.version = version, .value = 0.5, .samples = 10};
}

struct Rig {
  edgefed::testing::ScratchDir dir{"edgefed-predict"};
  ServingModel serving{dir.path()};
  std::unique_ptr<PredictServer> server;
  std::string socket = dir.file("predict.sock");

  void start(int64_t max_batch = 16, int64_t max_body = 1 << 20) {
    auto s = PredictServer::start({.socket_path = socket, .max_batch = max_batch, .max_body_bytes = max_body}, serving);
    REQUIRE(s.is_ok());
    server = std::move(*s);
  }
};

edgefed::Model model(uint64_t seed) { return edgefed::ml::ModelSpec::preset("mlp:4-8-3")->init(seed); }

}  // namespace

TEST_CASE("the predict socket answers with the serving model's predictions", "[unit]") {
  Rig rig;
  rig.start();
  struct stat st {};
  REQUIRE(::stat(rig.socket.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0660);

  auto none = call(rig.socket, bhttp::verb::post, "/v1/predict", inputs_json(2, 4));
  CHECK(none.status == 503);
  CHECK(error_of(none).find("no model is served yet") != std::string::npos);

  REQUIRE(rig.serving.install(model(1), v(4), 0).is_ok());
  auto r = call(rig.socket, bhttp::verb::post, "/v1/predict", inputs_json(3, 4));
  REQUIRE(r.status == 200);
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["version"] == 4);
  CHECK(j["task"] == "classification");
  REQUIRE(j["predictions"].size() == 3);
  // The same as the Predictor gives in process.
  edgefed::ml::FeatureMatrix x(3, 4);
  for (int i = 0; i < 3; ++i) x.row(i).setConstant(0.25f + 0.1f * i);
  edgefed::agent::Predictor p;
  auto expect = p.predict(*rig.serving.current(), x);
  REQUIRE(expect.is_ok());
  for (size_t i = 0; i < 3; ++i) {
    CHECK(j["predictions"][i]["class"] == expect->rows[i].label);
    CHECK(std::abs(j["predictions"][i]["confidence"].get<double>() - expect->rows[i].confidence) < 1e-12);
  }
  // Every input answered reaches the drift monitor, when there is one.
  auto info = call(rig.socket, bhttp::verb::get, "/v1/model");
  REQUIRE(info.status == 200);
  CHECK(nlohmann::json::parse(info.body)["version"] == 4);
  CHECK(call(rig.socket, bhttp::verb::get, "/healthz").status == 200);
}

TEST_CASE("bad requests to the predict socket get a JSON error and the status it deserves", "[unit]") {
  Rig rig;
  rig.start(/*max_batch=*/4, /*max_body=*/4096);
  REQUIRE(rig.serving.install(model(1), v(1), 0).is_ok());
  auto malformed = call(rig.socket, bhttp::verb::post, "/v1/predict", "{\"inputs\": [[1,2,");
  CHECK(malformed.status == 400);
  CHECK(error_of(malformed) == "the request body is not JSON");
  auto no_inputs = call(rig.socket, bhttp::verb::post, "/v1/predict", "{\"rows\": []}");
  CHECK(no_inputs.status == 400);
  auto shape = call(rig.socket, bhttp::verb::post, "/v1/predict", inputs_json(2, 5));
  CHECK(shape.status == 422);
  CHECK(error_of(shape) == "input 0 has 5 features, the model takes 4");
  // JSON has no NaN: a number out of float range, one out of double range
  // (not JSON for the parser) and a null.
  auto huge = call(rig.socket, bhttp::verb::post, "/v1/predict", "{\"inputs\": [[1, 2, 3, 1e300]]}");
  CHECK(huge.status == 422);
  CHECK(error_of(huge) == "input 0, feature 3 is not a finite float");
  CHECK(call(rig.socket, bhttp::verb::post, "/v1/predict", "{\"inputs\": [[1, 2, 3, 1e999]]}").status == 400);
  auto null = call(rig.socket, bhttp::verb::post, "/v1/predict", "{\"inputs\": [[1, null, 3, 4]]}");
  CHECK(null.status == 400);
  CHECK(error_of(null) == "input 0, feature 1 is not a number");
  auto batch = call(rig.socket, bhttp::verb::post, "/v1/predict", inputs_json(5, 4));
  CHECK(batch.status == 413);
  CHECK(error_of(batch) == "5 inputs in one request, at most 4");
  auto body = call(rig.socket, bhttp::verb::post, "/v1/predict", std::string(5000, ' '));
  CHECK(body.status == 413);
  CHECK(call(rig.socket, bhttp::verb::get, "/v1/predict").status == 405);
  CHECK(call(rig.socket, bhttp::verb::get, "/metrics").status == 404);
  // The server is still answering.
  CHECK(call(rig.socket, bhttp::verb::post, "/v1/predict", inputs_json(1, 4)).status == 200);
  CHECK(rig.server->requests() == 11);
}

TEST_CASE("predictions keep answering while the serving model is swapped", "[unit]") {
  Rig rig;
  rig.start();
  REQUIRE(rig.serving.install(model(1), v(1), 0).is_ok());
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::atomic<int64_t> last_version{0};
  bool monotonic = true;
  std::thread client([&] {
    while (!done) {
      auto r = call(rig.socket, bhttp::verb::post, "/v1/predict", inputs_json(8, 4));
      if (r.status != 200) {
        ++failed;
        continue;
      }
      const int64_t version = nlohmann::json::parse(r.body)["version"];
      if (version < last_version) monotonic = false;
      last_version = version;
      ++ok;
    }
  });
  for (int64_t version = 2; version <= 40; ++version) {
    REQUIRE(rig.serving.install(model(static_cast<uint64_t>(version)), v(version), 0).is_ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // At least 50 answers, and one from the last version: a request in flight
  // while version 40 was installed may still be answered by 39 (bounded
  // wait: a server that never serves 40 fails below).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((ok < 50 || last_version < 40) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  done = true;
  client.join();
  CHECK(failed == 0);
  CHECK(monotonic);
  CHECK(last_version == 40);
}

TEST_CASE("the predict socket feeds the drift monitor with the inputs it answers", "[unit]") {
  edgefed::testing::ScratchDir dir{"edgefed-predict"};
  ServingModel serving(dir.path());
  REQUIRE(serving.install(model(1), v(2), 0).is_ok());
  auto holdout = std::make_shared<edgefed::ml::DataStore>();
  holdout->features = edgefed::ml::FeatureMatrix::Constant(10, 4, 0.25f);
  edgefed::agent::DriftMonitor drift(64);
  drift.reset(edgefed::agent::DriftMonitor::reference(
      2, edgefed::ml::Dataset(std::shared_ptr<const edgefed::ml::DataStore>(holdout)), std::vector<double>(10, 0.5)));
  auto server = PredictServer::start({.socket_path = dir.file("p.sock")}, serving, &drift);
  REQUIRE(server.is_ok());
  for (int i = 0; i < 7; ++i)
    REQUIRE(call(dir.file("p.sock"), bhttp::verb::post, "/v1/predict", inputs_json(8, 4, 0.25f)).status == 200);
  auto r = drift.report(50);
  REQUIRE(r);
  CHECK(r->window == 56);
  CHECK(r->version == 2);
}

TEST_CASE("a stale socket file is replaced, a live one or another file is refused", "[unit]") {
  Rig rig;
  rig.start();
  // A second server on the same path: refused while the first listens.
  auto second = PredictServer::start({.socket_path = rig.socket}, rig.serving);
  CHECK(second.status().code() == edgefed::Code::kUnavailable);
  // The stop removes the socket file; a stale one (a SIGKILLed agent's) is
  // left behind by a bare bind.
  rig.server->stop();
  {
    net::io_context ioc;
    net::local::stream_protocol::acceptor stale(ioc, net::local::stream_protocol::endpoint(rig.socket));
  }
  struct stat st {};
  REQUIRE(::stat(rig.socket.c_str(), &st) == 0);
  rig.start();
  CHECK(call(rig.socket, bhttp::verb::get, "/healthz").status == 200);
  rig.server->stop();
  std::ofstream(rig.socket) << "a regular file";
  auto refused = PredictServer::start({.socket_path = rig.socket}, rig.serving);
  CHECK(refused.status().code() == edgefed::Code::kInvalidArgument);
  CHECK(refused.status().message().find("is not a socket") != std::string::npos);
  auto long_path = PredictServer::start({.socket_path = "/tmp/" + std::string(200, 'x')}, rig.serving);
  CHECK(long_path.status().code() == edgefed::Code::kInvalidArgument);
}
