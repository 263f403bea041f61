// A scripted Transport for link tests: answers from a queue, records requests.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "agent/link/transport.hpp"

namespace edgefed::agent::testing {

struct SentRequest {
  std::string method, target, body, content_type;
  HttpHeaders headers;
  std::chrono::milliseconds timeout{0};
};

class FakeTransport final : public Transport {
 public:
  struct State {
    std::deque<Result<HttpResponse>> answers;
    std::vector<SentRequest> sent;
    int closes = 0;
  };
  explicit FakeTransport(State& state) : s_(state) {}

  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::string_view body, std::string_view content_type,
                               const HttpHeaders& headers,
                               std::chrono::milliseconds timeout) override {
    s_.sent.push_back({std::string(method), std::string(target), std::string(body),
                       std::string(content_type), headers, timeout});
    if (s_.answers.empty()) return Status(Code::kUnavailable, "no scripted answer");
    auto a = std::move(s_.answers.front());
    s_.answers.pop_front();
    return a;
  }
  void close() override { ++s_.closes; }

 private:
  State& s_;
};

inline HttpResponse answer(int status, std::string body,
                           std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

}  // namespace edgefed::agent::testing
