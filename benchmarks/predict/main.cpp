// edgefed-bench-predict: what a device application sees of the agent's local
// inference, per model preset: a PredictServer on a Unix socket answering
// from a ServingModel (exactly the agent's code path), a client on the same
// machine sending POST /v1/predict over one keep-alive connection.
//
//   edgefed-bench-predict [--presets mlp:784-128-10,cnn-fmnist,...]
//       [--requests 2000] [--batch 64] [--seconds 3] [--json]
//
// Per preset: latency p50/p99 of single-input requests (--requests of them,
// after 50 warm-up requests), throughput of --batch-input requests over
// --seconds (inputs/s), and the in-process Predictor's throughput on the
// same batches (no socket, no JSON): the cost of the endpoint is the gap.
// Inputs are random in [0, 1]; the models are the presets' initial weights
// (the cost of a forward pass does not depend on the values).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "agent/serve/predict_server.hpp"
#include "agent/serve/predictor.hpp"
#include "agent/serve/serving_model.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "edgefed/options.hpp"

extern char** environ;

namespace {

using namespace edgefed;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string presets = "mlp:784-128-10,cnn-fmnist,forecast-cnn1d:24,autoencoder:24";
  int64_t requests = 2000;
  int64_t batch = 64;
  double seconds = 3;
  bool json = false;
};

class Client {
 public:
  explicit Client(const std::string& path) : socket_(ioc_) { socket_.connect(net::local::stream_protocol::endpoint(path)); }
  std::string post(const std::string& body) {
    bhttp::request<bhttp::string_body> req(bhttp::verb::post, "/v1/predict", 11);
    req.set(bhttp::field::host, "localhost");
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    bhttp::write(socket_, req);
    bhttp::response<bhttp::string_body> res;
    bhttp::read(socket_, buf_, res);
    if (res.result_int() != 200) throw std::runtime_error("HTTP " + std::to_string(res.result_int()) + ": " + res.body());
    return res.body();
  }

 private:
  net::io_context ioc_;
  net::local::stream_protocol::socket socket_;
  boost::beast::flat_buffer buf_;
};

ml::FeatureMatrix random_inputs(int64_t n, int64_t d, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(0.f, 1.f);
  ml::FeatureMatrix m(n, d);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = u(rng);
  return m;
}

std::string body_of(const ml::FeatureMatrix& m) {
  std::ostringstream o;
  o << "{\"inputs\":[";
  char buf[32];
  for (int64_t r = 0; r < m.rows(); ++r) {
    o << (r ? ",[" : "[");
    for (int64_t c = 0; c < m.cols(); ++c) {
      std::snprintf(buf, sizeof buf, "%s%.4g", c ? "," : "", static_cast<double>(m(r, c)));
      o << buf;
    }
    o << "]";
  }
  o << "]}";
  return o.str();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  Options o("edgefed-bench-predict", "Local inference latency and throughput per model preset (Unix socket and in process).");
  o.bind("presets", &f.presets, "comma-separated model presets");
  o.bind("requests", &f.requests, "single-input requests timed for latency").at_least(10);
  o.bind("batch", &f.batch, "inputs per request for throughput").in(1, 1024);
  o.bind("seconds", &f.seconds, "seconds per throughput measurement").at_least(0.1);
  o.bind("json", &f.json, "print one JSON object last");
  try {
    o.parse(argc, argv, environ);
    if (o.help_requested()) {
      std::cout << o.help_text();
      return 0;
    }
  } catch (const ConfigError& e) {
    std::cerr << "edgefed-bench-predict: " << e.what() << "\n";
    return 2;
  }
  char dir_tmpl[] = "/tmp/edgefed-bench-predict-XXXXXX";
  if (!mkdtemp(dir_tmpl)) return 1;
  const std::string dir = dir_tmpl;
  nlohmann::json out = nlohmann::json::array();
  std::mt19937 rng(1);
  std::printf("%-22s %10s %10s %14s %14s %9s\n", "preset", "p50 ms", "p99 ms", "socket in/s", "in-proc in/s", "ratio");
  std::stringstream presets(f.presets);
  int rc = 0;
  for (std::string preset; std::getline(presets, preset, ',');) {
    auto spec = ml::ModelSpec::preset(preset);
    if (!spec) {
      std::cerr << "edgefed-bench-predict: " << spec.status().message() << "\n";
      return 2;
    }
    agent::ServingModel serving(dir);
    if (Status st = serving.install(spec->init(1), {.version = 1, .value = 0.5, .samples = 1}, 0); !st.is_ok()) {
      std::cerr << st.to_string() << "\n";
      return 1;
    }
    auto server = agent::PredictServer::start({.socket_path = dir + "/predict.sock"}, serving);
    if (!server) {
      std::cerr << server.status().to_string() << "\n";
      return 1;
    }
    try {
      const int64_t d = spec->input_size();
      Client client(dir + "/predict.sock");
      const std::string one = body_of(random_inputs(1, d, rng));
      for (int i = 0; i < 50; ++i) client.post(one);
      std::vector<double> ms;
      ms.reserve(static_cast<size_t>(f.requests));
      for (int64_t i = 0; i < f.requests; ++i) {
        const std::string body = body_of(random_inputs(1, d, rng));
        const auto t0 = Clock::now();
        client.post(body);
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
      const std::string big = body_of(random_inputs(f.batch, d, rng));
      int64_t inputs = 0;
      auto t0 = Clock::now();
      double socket_s = 0;
      while ((socket_s = std::chrono::duration<double>(Clock::now() - t0).count()) < f.seconds) {
        client.post(big);
        inputs += f.batch;
      }
      const double socket_rate = static_cast<double>(inputs) / socket_s;
      agent::Predictor predictor;
      const auto served = serving.current();
      const ml::FeatureMatrix x = random_inputs(f.batch, d, rng);
      int64_t local = 0;
      double local_s = 0;
      t0 = Clock::now();
      while ((local_s = std::chrono::duration<double>(Clock::now() - t0).count()) < f.seconds) {
        auto b = predictor.predict(*served, x);
        if (!b) throw std::runtime_error(b.status().to_string());
        local += f.batch;
      }
      const double local_rate = static_cast<double>(local) / local_s;
      const double p50 = percentile(ms, 0.5), p99 = percentile(ms, 0.99);
      std::printf("%-22s %10.3f %10.3f %14.0f %14.0f %9.2f\n", preset.c_str(), p50, p99, socket_rate, local_rate,
                  socket_rate / local_rate);
      out.push_back({{"preset", preset},
                     {"p50_ms", p50},
                     {"p99_ms", p99},
                     {"batch", f.batch},
                     {"socket_inputs_per_s", socket_rate},
                     {"in_process_inputs_per_s", local_rate}});
    } catch (const std::exception& e) {
      std::cerr << "edgefed-bench-predict: " << preset << ": " << e.what() << "\n";
      rc = 1;
    }
    (*server)->stop();
  }
  std::remove((dir + "/serving.safetensors").c_str());
  ::rmdir(dir.c_str());
  if (f.json) std::cout << nlohmann::json{{"predict", out}}.dump() << "\n";
  return rc;
}
