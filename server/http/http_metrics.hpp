// The HTTP layer's Prometheus metrics (names per docs/architecture.md):
//   edgefed_http_requests_total{route,code}       every answered request
//   edgefed_http_request_duration_seconds{route}  histogram, read end -> response queued
//   edgefed_http_connections                      open TLS connections (gauge)
//   edgefed_http_connections_refused_total{reason} max_connections, tls_handshake,
//                                                  timeout (header/body deadline)
// Route labels come from the route table, so cardinality is bounded.
// Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace edgefed::server::http {

class HttpMetrics {
 public:
  explicit HttpMetrics(prometheus::Registry& registry);

  void observe(std::string_view route, int code, double seconds);
  void connection_opened();
  void connection_closed();
  void refused(std::string_view reason);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Gauge& connections_;
  prometheus::Family<prometheus::Counter>& refused_;
};

}  // namespace edgefed::server::http
