#include "server/http/http_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace edgefed::server::http {

HttpMetrics::HttpMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("edgefed_http_requests_total")
                    .Help("HTTP requests answered, by route and status code")
                    .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("edgefed_http_request_duration_seconds")
                    .Help("Time from a complete request to its queued response, by route")
                    .Register(registry)),
      connections_(prometheus::BuildGauge()
                       .Name("edgefed_http_connections")
                       .Help("Open HTTPS connections")
                       .Register(registry)
                       .Add({})),
      refused_(prometheus::BuildCounter()
                   .Name("edgefed_http_connections_refused_total")
                   .Help("Connections closed by a limit, by reason")
                   .Register(registry)) {
  // The reasons are known in advance: each exists at 0 from start-up (the
  // route x code pairs of requests_total are not, and appear when first seen).
  for (const char* reason : {"max_connections", "tls_handshake", "timeout"}) refused_.Add({{"reason", reason}});
}

void HttpMetrics::observe(std::string_view route, int code, double seconds) {
  static const prometheus::Histogram::BucketBoundaries kBuckets{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
  const std::string r(route);
  requests_.Add({{"route", r}, {"code", std::to_string(code)}}).Increment();
  duration_.Add({{"route", r}}, kBuckets).Observe(seconds);
}

void HttpMetrics::connection_opened() { connections_.Increment(); }
void HttpMetrics::connection_closed() { connections_.Decrement(); }
void HttpMetrics::refused(std::string_view reason) {
  refused_.Add({{"reason", std::string(reason)}}).Increment();
}

}  // namespace edgefed::server::http
