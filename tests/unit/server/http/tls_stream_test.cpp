// TlsStream (the server's own TLS stream over SSL_set_fd) against Asio's
// ssl::stream as the client, over loopback with the project's real contexts
// and certificates: Beast HTTP both ways with bodies larger than a socket
// buffer, the deadline, EOF with and without close_notify, a client that
// speaks no TLS, that handlers never run inside the initiating call, and
// that one read drains every record already received.
#include <chrono>
#include <memory>
#include <random>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

#include "edgefed/tls.hpp"
#include "server/http/tls_stream.hpp"
#include "shared_pki.hpp"

using namespace edgefed;
using edgefed::server::http::TlsStream;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

const std::string& pki() {
  static const std::string dir = testing::shared_pki_dir(
      "tls-stream", {{"init", "--out", "{dir}", "--server-san", "127.0.0.1,localhost", "--agents", "1"}});
  return dir;
}

// One connected pair: the server end a TlsStream, the client end Asio's
// ssl::stream with agent-000's certificate. Everything runs on `ioc`, each
// step for at most 10 s.
struct Pair {
  asio::io_context ioc;
  ssl::context server_ctx =
      make_server_context({pki() + "/server.pem", pki() + "/server.key", pki() + "/ca.pem", "", ClientCertMode::kRequired});
  ssl::context client_ctx =
      make_client_context({pki() + "/ca.pem", pki() + "/agents/agent-000.pem", pki() + "/agents/agent-000.key"});
  std::unique_ptr<TlsStream> server;
  std::unique_ptr<ssl::stream<tcp::socket>> client;

  Pair() {
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client = std::make_unique<ssl::stream<tcp::socket>>(ioc, client_ctx);
    client->lowest_layer().connect(acceptor.local_endpoint());
    server = std::make_unique<TlsStream>(acceptor.accept(), server_ctx);
  }

  void run() {
    ioc.restart();
    ioc.run_for(std::chrono::seconds(10));
  }

  // Runs for exactly `ms` (or until no work is left): for steps whose
  // other side keeps an operation pending.
  void run_for_ms(int ms) {
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(ms));
  }

  // Both handshakes; true when both succeeded.
  bool handshake() {
    boost::system::error_code server_ec = asio::error::would_block, client_ec = asio::error::would_block;
    server->async_handshake([&](boost::system::error_code ec) { server_ec = ec; });
    client->async_handshake(ssl::stream_base::client, [&](boost::system::error_code ec) { client_ec = ec; });
    run();
    INFO("server: " << server_ec.message() << ", client: " << client_ec.message());
    return !server_ec && !client_ec;
  }
};

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

}  // namespace

TEST_CASE("TlsStream: handshake, the client certificate, and HTTP with 2 MB bodies both ways", "[unit][http]") {
  Pair p;
  REQUIRE(p.handshake());
  X509* cert = SSL_get0_peer_certificate(p.server->native_handle());
  REQUIRE(cert != nullptr);
  CHECK(certificate_common_name(cert) == "agent-000");
  CHECK(SSL_version(p.server->native_handle()) == TLS1_3_VERSION);

  const std::string up = random_bytes(2 << 20, 1);
  const std::string down = random_bytes(2 << 20, 2);
  bhttp::request<bhttp::string_body> req(bhttp::verb::post, "/v1/update", 11);
  req.body() = up;
  req.prepare_payload();
  boost::system::error_code write_req_ec = asio::error::would_block, read_req_ec = asio::error::would_block;
  boost::system::error_code write_res_ec = asio::error::would_block, read_res_ec = asio::error::would_block;
  beast::flat_buffer server_buffer, client_buffer;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.body_limit(16 << 20);
  bhttp::response<bhttp::string_body> res(bhttp::status::accepted, 11);
  bhttp::response_parser<bhttp::string_body> client_parser;
  client_parser.body_limit(16 << 20);

  bhttp::async_write(*p.client, req, [&](boost::system::error_code ec, std::size_t) {
    write_req_ec = ec;
    if (!ec) {
      bhttp::async_read(*p.client, client_buffer, client_parser,
                        [&](boost::system::error_code e, std::size_t) { read_res_ec = e; });
    }
  });
  bhttp::async_read(*p.server, server_buffer, parser, [&](boost::system::error_code ec, std::size_t) {
    read_req_ec = ec;
    if (ec) return;
    res.set(bhttp::field::content_type, "application/octet-stream");
    res.body() = down;
    res.prepare_payload();
    bhttp::async_write(*p.server, res, [&](boost::system::error_code e, std::size_t) { write_res_ec = e; });
  });
  p.run();
  INFO(write_req_ec.message() << " / " << read_req_ec.message() << " / " << write_res_ec.message() << " / "
                              << read_res_ec.message());
  REQUIRE(!write_req_ec);
  REQUIRE(!read_req_ec);
  REQUIRE(!write_res_ec);
  REQUIRE(!read_res_ec);
  CHECK(parser.get().target() == "/v1/update");
  CHECK(parser.get().body() == up);
  CHECK(client_parser.get().result() == bhttp::status::accepted);
  CHECK(client_parser.get().body() == down);
}

TEST_CASE("TlsStream: handlers never run inside the initiating call", "[unit][http]") {
  Pair p;
  REQUIRE(p.handshake());
  // A small write completes on the first try: its result is still posted.
  bool called = false;
  std::size_t written = 0;
  const std::string msg = "hello";
  p.server->async_write_some(asio::buffer(msg), [&](boost::system::error_code ec, std::size_t n) {
    called = true;
    written = ec ? 0 : n;
  });
  CHECK_FALSE(called);
  p.run();
  CHECK(called);
  CHECK(written == msg.size());
  // A zero-length read completes at once with 0 bytes, also posted.
  called = false;
  std::size_t got = 99;
  p.server->async_read_some(asio::mutable_buffer(), [&](boost::system::error_code ec, std::size_t n) {
    called = true;
    got = ec ? 99 : n;
  });
  CHECK_FALSE(called);
  p.run();
  CHECK(called);
  CHECK(got == 0);
}

TEST_CASE("TlsStream: the deadline ends a pending read with beast's timeout, and moving it away does not",
          "[unit][http]") {
  Pair p;
  REQUIRE(p.handshake());
  char buf[64];

  // A deadline replaced by expires_never: the read waits for the data sent
  // after the first deadline would have passed.
  p.server->expires_after(std::chrono::milliseconds(50));
  p.server->expires_never();
  boost::system::error_code ec = asio::error::would_block;
  std::size_t n = 0;
  p.server->async_read_some(asio::buffer(buf), [&](boost::system::error_code e, std::size_t k) {
    ec = e;
    n = k;
  });
  asio::steady_timer later(p.ioc, std::chrono::milliseconds(200));
  const std::string ping = "ping";
  later.async_wait([&](boost::system::error_code) {
    asio::async_write(*p.client, asio::buffer(ping), [](boost::system::error_code, std::size_t) {});
  });
  p.run();
  REQUIRE(!ec);
  CHECK(std::string(buf, n) == "ping");

  // Now a deadline that passes while the client says nothing.
  p.server->expires_after(std::chrono::milliseconds(100));
  ec = asio::error::would_block;
  const auto start = Clock::now();
  p.server->async_read_some(asio::buffer(buf), [&](boost::system::error_code e, std::size_t) { ec = e; });
  p.run();
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  CHECK(ec == beast::error::timeout);
  CHECK(waited >= 0.09);
  CHECK(waited < 5.0);
  // Every later operation fails the same way, without touching the socket.
  ec = asio::error::would_block;
  p.server->async_write_some(asio::buffer(ping), [&](boost::system::error_code e, std::size_t) { ec = e; });
  p.run();
  CHECK(ec == beast::error::timeout);
}

TEST_CASE("TlsStream: close_notify reads as eof, a TCP FIN without it as stream_truncated", "[unit][http]") {
  char buf[64];
  {
    Pair p;
    REQUIRE(p.handshake());
    boost::system::error_code ec = asio::error::would_block;
    p.server->async_read_some(asio::buffer(buf), [&](boost::system::error_code e, std::size_t) {
      ec = e;
      // Answer with ours, which ends the client's shutdown.
      p.server->async_shutdown([](boost::system::error_code) {});
    });
    boost::system::error_code client_ec = asio::error::would_block;
    p.client->async_shutdown([&](boost::system::error_code e) { client_ec = e; });
    p.run();
    CHECK(ec == asio::error::eof);
    CHECK(!client_ec);
  }
  {
    Pair p;
    REQUIRE(p.handshake());
    boost::system::error_code ec = asio::error::would_block;
    p.server->async_read_some(asio::buffer(buf), [&](boost::system::error_code e, std::size_t) { ec = e; });
    // FIN without close_notify (a close would be a reset: the server's
    // session tickets are still unread in the client's socket).
    p.client->lowest_layer().shutdown(tcp::socket::shutdown_send);
    p.run();
    CHECK(ec == ssl::error::stream_truncated);
  }
}

TEST_CASE("TlsStream: a client that speaks no TLS fails the handshake with an error, and the server's shutdown "
          "after a good exchange sends close_notify",
          "[unit][http]") {
  {
    Pair p;
    boost::system::error_code ec = asio::error::would_block;
    p.server->async_handshake([&](boost::system::error_code e) { ec = e; });
    const std::string plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    asio::write(p.client->next_layer(), asio::buffer(plain));
    p.run();
    REQUIRE(ec);
    CHECK(ec != asio::error::would_block);
  }
  {
    Pair p;
    REQUIRE(p.handshake());
    boost::system::error_code shutdown_ec = asio::error::would_block, read_ec = asio::error::would_block;
    char buf[16];
    p.server->async_shutdown([&](boost::system::error_code e) { shutdown_ec = e; });
    p.client->async_read_some(asio::buffer(buf), [&](boost::system::error_code e, std::size_t) { read_ec = e; });
    p.run();
    CHECK(!shutdown_ec);
    CHECK(read_ec == asio::error::eof);  // Asio's client reports a close_notify as eof
  }
}

TEST_CASE("TlsStream: a read hands over several records already received, and a close_notify after them reads as "
          "eof once they are read", "[unit][http]") {
  Pair p;
  REQUIRE(p.handshake());
  // Six full records (16 KiB each), then close_notify, all in the server's
  // socket before it reads.
  const std::string up = random_bytes(6 * 16384, 3);
  boost::system::error_code write_ec = asio::error::would_block;
  asio::async_write(*p.client, asio::buffer(up), [&](boost::system::error_code e, std::size_t) {
    write_ec = e;
    p.client->async_shutdown([](boost::system::error_code) {});  // waits for ours: never comes
  });
  p.run_for_ms(300);
  REQUIRE(!write_ec);
  std::string got;
  std::size_t largest = 0;
  boost::system::error_code ec;
  for (int reads = 0; reads < 20 && !ec; ++reads) {
    std::string buf(up.size(), '\0');
    ec = asio::error::would_block;
    std::size_t n = 0;
    p.server->async_read_some(asio::buffer(buf), [&](boost::system::error_code e, std::size_t k) {
      ec = e;
      n = k;
    });
    p.run_for_ms(1000);
    got += buf.substr(0, n);
    largest = std::max(largest, n);
  }
  CHECK(ec == asio::error::eof);  // after every byte, not instead of some
  CHECK(got == up);
  // One record per read was the old behaviour: at most 16 KiB each.
  CHECK(largest > 16384);
}
