#include "tls_fixture.hpp"

#include <sys/stat.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>

#include "edgefed/tls.hpp"
#include "shared_pki.hpp"

namespace edgefed::testing {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;

namespace {

struct FleetOwner {
  Fleet fleet;
  FleetOwner() {
    fleet.main_dir = shared_pki_dir(
        "tls-main", {{"init", "--out", "{dir}", "--server-san", "127.0.0.1,localhost", "--agents", "2"},
                     {"revoke", "--out", "{dir}", "agent-001"},
                     {"add-agent", "--out", "{dir}", "expired-agent", "--valid-from", "20200101000000Z",
                      "--valid-until", "20200102000000Z"}});
    fleet.other_dir =
        shared_pki_dir("tls-other", {{"init", "--out", "{dir}", "--server-san", "127.0.0.1", "--agents", "1"}});
    std::string tmpl = (std::filesystem::temp_directory_path() / "edgefed-tls-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    fleet.scratch = tmpl;
  }
  ~FleetOwner() {
    std::error_code ec;
    std::filesystem::remove_all(fleet.scratch, ec);
  }
};

}  // namespace

const Fleet& fleet() {
  static FleetOwner owner;
  return owner.fleet;
}

std::string write_file(const std::string& name, const std::string& contents, unsigned mode) {
  const std::string path = fleet().scratch + "/" + name;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << contents;
  }
  ::chmod(path.c_str(), mode);
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Exchange exchange(ssl::context& server_ctx, ssl::context& client_ctx, SSL_SESSION* resume) {
  Exchange r;
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  ssl::stream<tcp::socket> server(io, server_ctx);
  ssl::stream<tcp::socket> client(io, client_ctx);
  std::array<char, 4> server_buf{};
  std::array<char, 4> client_buf{};
  using boost::system::error_code;

  // Server side: accept, handshake, read "ping", answer "pong". On a failed
  // handshake close the socket so the client sees it rather than waiting.
  acceptor.async_accept(server.next_layer(), [&](error_code ec) {
    if (ec) { r.server_error = "accept: " + ec.message(); return; }
    server.async_handshake(ssl::stream_base::server, [&](error_code ec) {
      if (ec) {
        r.server_error = "handshake: " + ec.message();
        server.next_layer().close(ec);
        return;
      }
      SSL* native = server.native_handle();
      r.version = SSL_version(native);
      r.resumed = SSL_session_reused(native) == 1;
      auto* peer = const_cast<X509*>(SSL_get0_peer_certificate(native));
      r.peer_cn = certificate_common_name(peer);
      r.peer_ou = certificate_organizational_unit(peer);
      asio::async_read(server, asio::buffer(server_buf), [&](error_code ec, size_t) {
        if (ec) { r.server_error = "read: " + ec.message(); server.next_layer().close(ec); return; }
        asio::async_write(server, asio::buffer("pong", 4), [&](error_code ec, size_t) {
          if (ec) { r.server_error = "write: " + ec.message(); return; }
          r.server_ok = std::string(server_buf.data(), 4) == "ping";
        });
      });
    });
  });

  // Client side. In TLS 1.3 the client finishes its handshake before the
  // server has checked the client certificate, so only the ping/pong shows
  // whether the server accepted it.
  if (resume != nullptr) SSL_set_session(client.native_handle(), resume);
  client.next_layer().async_connect(acceptor.local_endpoint(), [&](error_code ec) {
    if (ec) { r.client_error = "connect: " + ec.message(); return; }
    client.async_handshake(ssl::stream_base::client, [&](error_code ec) {
      if (ec) { r.client_error = "handshake: " + ec.message(); client.next_layer().close(ec); return; }
      asio::async_write(client, asio::buffer("ping", 4), [&](error_code ec, size_t) {
        if (ec) { r.client_error = "write: " + ec.message(); return; }
        asio::async_read(client, asio::buffer(client_buf), [&](error_code ec, size_t) {
          if (ec) { r.client_error = "read: " + ec.message(); return; }
          r.client_ok = std::string(client_buf.data(), 4) == "pong";
          // TLS 1.3 tickets arrive after the handshake; having read, the
          // client holds one. A copy, since OpenSSL marks the original
          // unresumable when the stream is freed without a TLS shutdown.
          r.session.reset(SSL_SESSION_dup(SSL_get0_session(client.native_handle())), SSL_SESSION_free);
        });
      });
    });
  });

  io.run_for(std::chrono::seconds(10));
  if (!r.server_ok && r.server_error.empty()) r.server_error = "timed out";
  if (!r.client_ok && r.client_error.empty()) r.client_error = "timed out";
  return r;
}

}  // namespace edgefed::testing
