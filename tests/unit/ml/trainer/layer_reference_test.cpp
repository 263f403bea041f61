// Each convolution and pooling layer's forward pass against a direct nested-
// loop reference written from PyTorch's definitions (cross-correlation, zero
// padding, floor-mode windows, channel-major flattening). The gradient checks
// then cover the backward passes of the same code.
#include <catch2/catch.hpp>
#include <random>

#include "edgefed/ml/model_spec.hpp"
#include "trainer/network.hpp"

using namespace edgefed::ml;

namespace {

struct Tensor3 {
  int c, h, w;
  std::vector<double> v;
  double at(int ci, int y, int x) const {
    if (y < 0 || y >= h || x < 0 || x >= w) return 0.0;  // zero padding
    return v[static_cast<size_t>((ci * h + y) * w + x)];
  }
};

Tensor3 random_input(int c, int h, int w, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0.0, 1.0);
  Tensor3 t{c, h, w, std::vector<double>(static_cast<size_t>(c * h * w))};
  for (double& x : t.v) x = n(rng);
  return t;
}

// Reference conv: out[o][y][x] = b[o] + sum_{c,i,j} W[o][c][i][j] * in[c][y*s - p + i][x*s - p + j].
std::vector<double> ref_conv(const Tensor3& in, const std::vector<double>& w, const std::vector<double>& b, int out,
                             int kh, int kw, int s_h, int s_w, int p_h, int p_w) {
  const int oh = (in.h + 2 * p_h - kh) / s_h + 1, ow = (in.w + 2 * p_w - kw) / s_w + 1;
  std::vector<double> r;
  for (int o = 0; o < out; ++o)
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x) {
        double acc = b[static_cast<size_t>(o)];
        for (int c = 0; c < in.c; ++c)
          for (int i = 0; i < kh; ++i)
            for (int j = 0; j < kw; ++j)
              acc += w[static_cast<size_t>(((o * in.c + c) * kh + i) * kw + j)] *
                     in.at(c, y * s_h - p_h + i, x * s_w - p_w + j);
        r.push_back(acc);
      }
  return r;
}

std::vector<double> ref_pool(const Tensor3& in, int kh, int kw, int s_h, int s_w, bool max) {
  const int oh = (in.h - kh) / s_h + 1, ow = (in.w - kw) / s_w + 1;
  std::vector<double> r;
  for (int c = 0; c < in.c; ++c)
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x) {
        double acc = max ? -1e300 : 0.0;
        for (int i = 0; i < kh; ++i)
          for (int j = 0; j < kw; ++j) {
            const double v = in.at(c, y * s_h + i, x * s_w + j);
            acc = max ? std::max(acc, v) : acc + v;
          }
        r.push_back(max ? acc : acc / (kh * kw));
      }
  return r;
}

// Runs a spec forward on one sample and returns its (flat) output.
std::vector<double> forward(const std::string& json, const Tensor3& in, const std::vector<double>& params) {
  auto spec = ModelSpec::parse(json);
  INFO(json << " " << spec.status().to_string());
  REQUIRE(spec.is_ok());
  Network<double> net(*spec);
  REQUIRE(net.num_params() == static_cast<int64_t>(params.size()));
  net.reserve(2, false);
  // Two rows, the sample in the second, to catch row-offset mistakes.
  std::fill_n(net.input_row(0), in.v.size(), 0.5);
  std::copy(in.v.begin(), in.v.end(), net.input_row(1));
  net.run(params.data(), 2, nullptr, 1.0, true);
  return std::vector<double>(net.output_row(1), net.output_row(1) + net.output_size());
}

// Weights of a 1x1 identity convolution (C -> C), then zero biases, so a
// pooling layer after it sees the input itself.
std::vector<double> identity_1x1(int c) {
  std::vector<double> p(static_cast<size_t>(c * c + c), 0.0);
  for (int i = 0; i < c; ++i) p[static_cast<size_t>(i * c + i)] = 1.0;
  return p;
}

void check_close(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("index " << i);
    CHECK(got[i] == Approx(want[i]).margin(1e-12));
  }
}

}  // namespace

TEST_CASE("conv2d matches a nested-loop reference for every stride and padding", "[unit][layers]") {
  const int stride = GENERATE(1, 2, 3);
  const int padding = GENERATE(0, 1, 2);
  const int kernel = GENERATE(3, 4);
  if (padding >= kernel) return;
  CAPTURE(stride, padding, kernel);
  const Tensor3 in = random_input(3, 9, 8, 7);
  const int out = 4;
  std::mt19937 rng(3);
  std::normal_distribution<double> n(0.0, 1.0);
  std::vector<double> w(static_cast<size_t>(out * 3 * kernel * kernel)), b(out);
  for (double& x : w) x = n(rng);
  for (double& x : b) x = n(rng);
  std::vector<double> params = w;
  params.insert(params.end(), b.begin(), b.end());
  const std::string json = R"({"input":[3,9,8],"layers":[{"type":"conv2d","out":4,"kernel":)" + std::to_string(kernel) +
                           R"(,"stride":)" + std::to_string(stride) + R"(,"padding":)" + std::to_string(padding) +
                           R"(},{"type":"flatten"}],"loss":"mse"})";
  check_close(forward(json, in, params), ref_conv(in, w, b, out, kernel, kernel, stride, stride, padding, padding));
}

TEST_CASE("conv1d matches a nested-loop reference", "[unit][layers]") {
  const int stride = GENERATE(1, 2);
  const int padding = GENERATE(0, 2);
  CAPTURE(stride, padding);
  const Tensor3 in = random_input(2, 1, 13, 9);  // [C, L] is [C, 1, L]
  std::mt19937 rng(4);
  std::normal_distribution<double> n(0.0, 1.0);
  std::vector<double> w(static_cast<size_t>(3 * 2 * 5)), b(3);
  for (double& x : w) x = n(rng);
  for (double& x : b) x = n(rng);
  std::vector<double> params = w;
  params.insert(params.end(), b.begin(), b.end());
  const std::string json = R"({"input":[2,13],"layers":[{"type":"conv1d","out":3,"kernel":5,"stride":)" +
                           std::to_string(stride) + R"(,"padding":)" + std::to_string(padding) +
                           R"(},{"type":"flatten"}],"loss":"mse"})";
  check_close(forward(json, in, params), ref_conv(in, w, b, 3, 1, 5, 1, stride, 0, padding));
}

TEST_CASE("max and average pooling match nested-loop references", "[unit][layers]") {
  const Tensor3 in = random_input(3, 7, 9, 5);
  const auto id = identity_1x1(3);
  const int kernel = GENERATE(2, 3);
  const int stride = GENERATE(1, 2, 3);
  CAPTURE(kernel, stride);
  for (const char* type : {"maxpool2d", "avgpool2d"}) {
    CAPTURE(type);
    const std::string json = R"({"input":[3,7,9],"layers":[{"type":"conv2d","out":3,"kernel":1},{"type":")" +
                             std::string(type) + R"(","kernel":)" + std::to_string(kernel) + R"(,"stride":)" +
                             std::to_string(stride) + R"(},{"type":"flatten"}],"loss":"mse"})";
    check_close(forward(json, in, id), ref_pool(in, kernel, kernel, stride, stride, type[0] == 'm'));
  }
  // maxpool1d over [C, L], PyTorch's default stride = kernel.
  const Tensor3 seq = random_input(3, 1, 11, 6);
  const std::string json1 = R"({"input":[3,11],"layers":[{"type":"conv1d","out":3,"kernel":1},)"
                            R"({"type":"maxpool1d","kernel":3},{"type":"flatten"}],"loss":"mse"})";
  check_close(forward(json1, seq, id), ref_pool(seq, 1, 3, 1, 3, true));
}

TEST_CASE("global average pooling averages each channel's plane", "[unit][layers]") {
  const Tensor3 in = random_input(3, 4, 5, 8);
  const std::string json = R"({"input":[3,4,5],"layers":[{"type":"conv2d","out":3,"kernel":1},)"
                           R"({"type":"global_avgpool"}],"loss":"mse"})";
  check_close(forward(json, in, identity_1x1(3)), ref_pool(in, 4, 5, 4, 5, false));
}

TEST_CASE("activations follow their definitions, and flatten keeps channel-major order", "[unit][layers]") {
  const Tensor3 in = random_input(2, 2, 3, 10);
  const auto id = identity_1x1(2);
  auto run = [&](const std::string& layer) {
    return forward(R"({"input":[2,2,3],"layers":[{"type":"conv2d","out":2,"kernel":1},)" + layer +
                       R"(,{"type":"flatten"}],"loss":"mse"})",
                   in, id);
  };
  std::vector<double> relu, tanh_v, sig;
  for (double x : in.v) {
    relu.push_back(std::max(0.0, x));
    tanh_v.push_back(std::tanh(x));
    sig.push_back(1.0 / (1.0 + std::exp(-x)));
  }
  check_close(run(R"({"type":"relu"})"), relu);
  check_close(run(R"({"type":"tanh"})"), tanh_v);
  check_close(run(R"({"type":"sigmoid"})"), sig);
  check_close(run(R"({"type":"dropout","rate":0.5})"), in.v);  // evaluation: the identity
}
