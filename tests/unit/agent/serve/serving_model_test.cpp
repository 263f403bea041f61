#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include <catch2/catch.hpp>

#include "agent/serve/serving_model.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "scratch_dir.hpp"

namespace {

using edgefed::Model;
using edgefed::agent::ServingMetric;
using edgefed::agent::ServingModel;
using edgefed::agent::Validation;

Model small_model(uint64_t seed) { return edgefed::ml::ModelSpec::preset("mlp:4-8-3")->init(seed); }

Validation validation(int64_t version, double value) {
  return {.version = version, .metric = ServingMetric::kAccuracy, .value = value, .samples = 40, .loss = 0.5};
}

}  // namespace

TEST_CASE("the serving model is persisted and loaded with its validation", "[unit]") {
  edgefed::testing::ScratchDir dir;
  {
    ServingModel s(dir.path());
    REQUIRE(s.load().is_ok());
    CHECK(s.current() == nullptr);
    REQUIRE(s.install(small_model(1), validation(3, 0.75), 1234).is_ok());
    REQUIRE(s.current());
    CHECK(s.current()->validation.version == 3);
  }
  ServingModel again(dir.path());
  REQUIRE(again.load().is_ok());
  auto m = again.current();
  REQUIRE(m);
  CHECK(m->validation.version == 3);
  CHECK(m->validation.value == 0.75);
  CHECK(m->validation.samples == 40);
  CHECK(m->installed_unix_ms == 1234);
  CHECK(m->model.params == small_model(1).params);
  CHECK(m->spec.input_size() == 4);
}

TEST_CASE("a damaged serving file is reported and nothing is served", "[unit]") {
  edgefed::testing::ScratchDir dir;
  std::ofstream(dir.file("serving.safetensors")) << "not a model";
  ServingModel s(dir.path());
  auto st = s.load();
  CHECK(st.code() == edgefed::Code::kIo);
  CHECK(st.message().find("serving.safetensors") != std::string::npos);
  CHECK(s.current() == nullptr);
}

TEST_CASE("a reader keeps the model it took while a swap publishes another", "[unit]") {
  edgefed::testing::ScratchDir dir;
  ServingModel s(dir.path());
  REQUIRE(s.install(small_model(1), validation(1, 0.5), 0).is_ok());
  auto held = s.current();
  REQUIRE(s.install(small_model(2), validation(2, 0.6), 0).is_ok());
  CHECK(held->validation.version == 1);
  CHECK(held->model.params == small_model(1).params);
  CHECK(s.current()->validation.version == 2);
}

TEST_CASE("the serving model survives SIGKILL during swaps: old or new, never torn", "[unit]") {
  edgefed::testing::ScratchDir dir;
  const Model a = small_model(11), b = small_model(12);
  std::mt19937 rng(7);
  for (int round = 0; round < 4; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      ServingModel s(dir.path());
      for (int64_t v = 1;; ++v) {
        if (!s.install(v % 2 ? a : b, validation(v, 0.5), v).is_ok()) ::_exit(3);
        if (v == 1) (void)!::write(fds[1], "x", 1);
      }
    }
    ::close(fds[1]);
    pollfd first{fds[0], POLLIN, 0};
    REQUIRE(::poll(&first, 1, 30000) == 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 80));
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int wstatus = 0;
    REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
    REQUIRE(WIFSIGNALED(wstatus));
    ::close(fds[0]);

    ServingModel s(dir.path());
    REQUIRE(s.load().is_ok());
    auto m = s.current();
    REQUIRE(m);
    const int64_t v = m->validation.version;
    CHECK(v >= 1);
    CHECK(m->installed_unix_ms == v);
    // The file holds version v's own model: odd versions a, even b.
    CHECK(m->model.params == (v % 2 ? a : b).params);
  }
}
