#include "agent/link/transport.hpp"

namespace edgefed::agent {
namespace {

class HttpsTransport final : public Transport {
 public:
  explicit HttpsTransport(std::unique_ptr<HttpsClient> client) : client_(std::move(client)) {}

  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::string_view body, std::string_view content_type,
                               const HttpHeaders& headers,
                               std::chrono::milliseconds timeout) override {
    return client_->request(method, target, body, content_type, headers, timeout);
  }
  void close() override { client_->close(); }

 private:
  std::unique_ptr<HttpsClient> client_;
};

}  // namespace

Result<std::unique_ptr<Transport>> make_https_transport(const HttpsClientOptions& options) {
  auto client = HttpsClient::create(options);
  if (!client) return client.status();
  return std::unique_ptr<Transport>(new HttpsTransport(std::move(*client)));
}

}  // namespace edgefed::agent
