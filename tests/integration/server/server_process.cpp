#include "server_process.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace edgefed::testing {

namespace {

Pki make_pki(const std::string& name, int agents) {
  Pki p;
  p.dir = shared_pki_dir(name, {{"init", "--out", "{dir}", "--server-san", "127.0.0.1,localhost", "--agents",
                                 std::to_string(agents)}});
  return p;
}

}  // namespace

std::string Pki::agent_id(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "agent-%03d", i);
  return buf;
}
std::string Pki::agent_cert(int i) const { return dir + "/agents/" + agent_id(i) + ".pem"; }
std::string Pki::agent_key(int i) const { return dir + "/agents/" + agent_id(i) + ".key"; }

const Pki& fleet_pki() {
  static const Pki p = make_pki("fleet", 24);
  return p;
}
const Pki& foreign_pki() {
  static const Pki p = make_pki("foreign", 1);
  return p;
}

namespace {

server::ServerProcessOptions fixture_options(const Pki& pki, const std::string& state_dir,
                                             std::vector<std::string> extra) {
  server::ServerProcessOptions o;
  o.bin = EDGEFED_SERVER_BIN;
  o.tls_cert = pki.server_cert();
  o.tls_key = pki.server_key();
  o.client_ca = pki.ca();
  o.state_dir = state_dir;
  o.args = {"--admin-token-file", state_dir + ".token", "--threads", "2", "--workers", "2", "--fsync-full=false"};
  o.args.insert(o.args.end(), extra.begin(), extra.end());
  return o;
}

}  // namespace

ServerProcess::ServerProcess(const Pki& pki, std::string state_dir, std::vector<std::string> extra)
    : pki_(pki),
      token_("test-admin-token-0123456789abcdef"),
      process_(fixture_options(pki, state_dir, std::move(extra))) {
  const std::string token_file = state_dir + ".token";
  std::ofstream(token_file) << token_ << "\n";
  chmod(token_file.c_str(), 0600);
}

ServerProcess::~ServerProcess() {
  process_.kill();
  std::error_code ec;
  std::filesystem::remove(process_.options().port_file, ec);
}

void ServerProcess::start() {
  const Status st = process_.start();
  if (!st.is_ok()) throw std::runtime_error(st.message());
}

std::string ServerProcess::start_error() {
  const Status st = process_.start();
  return st.is_ok() ? "" : st.message();
}

int ServerProcess::terminate(std::chrono::seconds timeout) {
  return process_.terminate(static_cast<double>(timeout.count()));
}

std::string plain_get(uint16_t port, const std::string& path) {
  namespace net = boost::asio;
  net::io_context ioc;
  net::ip::tcp::socket s(ioc);
  s.connect({net::ip::make_address("127.0.0.1"), port});
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  net::write(s, net::buffer(req));
  std::string out;
  boost::system::error_code ec;
  net::read(s, net::dynamic_buffer(out), ec);
  return out;
}

HttpsClientOptions ServerProcess::anonymous_options() const {
  HttpsClientOptions o;
  o.host = "127.0.0.1";
  o.port = port();
  o.tls.ca_file = pki_.ca();
  o.request_timeout = std::chrono::milliseconds(30000);
  return o;
}
HttpsClientOptions ServerProcess::agent_options(int i) const {
  HttpsClientOptions o = anonymous_options();
  o.tls.cert_file = pki_.agent_cert(i);
  o.tls.key_file = pki_.agent_key(i);
  return o;
}
HttpsClientOptions ServerProcess::admin_options() const {
  HttpsClientOptions o = anonymous_options();
  o.tls.cert_file = pki_.admin_cert();
  o.tls.key_file = pki_.admin_key();
  return o;
}
HttpsClientOptions ServerProcess::viewer_options() const {
  HttpsClientOptions o = anonymous_options();
  o.tls.cert_file = pki_.viewer_cert();
  o.tls.key_file = pki_.viewer_key();
  return o;
}

std::unique_ptr<HttpsClient> ServerProcess::agent(int i) const {
  auto c = HttpsClient::create(agent_options(i));
  if (!c) throw std::runtime_error("client: " + c.status().to_string());
  return std::move(c).value();
}
std::unique_ptr<HttpsClient> ServerProcess::admin() const {
  auto c = HttpsClient::create(admin_options());
  if (!c) throw std::runtime_error("client: " + c.status().to_string());
  return std::move(c).value();
}

}  // namespace edgefed::testing
