#include "tcp_fault_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace edgefed::sim {
namespace {

constexpr int kPollMs = 50;

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Closes with RST rather than FIN, like a dropped link seen by the far end.
void hard_close(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

// Writes all of buf; false if the peer is gone.
bool write_all(int fd, const char* buf, ssize_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
    if (w <= 0) return false;
    buf += w;
    n -= w;
  }
  return true;
}

}  // namespace

TcpFaultProxy::TcpFaultProxy(uint16_t target_port) : target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("proxy: socket failed");
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = loopback(0);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("proxy: cannot listen on 127.0.0.1:0");
  }
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpFaultProxy::~TcpFaultProxy() {
  stop_ = true;
  acceptor_.join();
  std::list<std::thread> relays;
  {
    std::lock_guard lock(mu_);
    relays.swap(relays_);
  }
  for (auto& t : relays) t.join();
  ::close(listen_fd_);
}

void TcpFaultProxy::cut() {
  cut_ = true;
  ++generation_;
}

void TcpFaultProxy::restore() { cut_ = false; }

void TcpFaultProxy::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    if (cut_) {
      ++refused_;
      hard_close(client);
      continue;
    }
    const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(target_port_);
    if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      if (server >= 0) ::close(server);
      ++refused_;
      hard_close(client);
      continue;
    }
    ++relayed_;
    std::lock_guard lock(mu_);
    relays_.emplace_back([this, client, server, g = generation_.load()] { relay(client, server, g); });
  }
}

void TcpFaultProxy::relay(int client_fd, int server_fd, int64_t generation) {
  char buf[16384];
  bool open = true;
  while (open && !stop_ && generation_.load() == generation) {
    pollfd p[2] = {{client_fd, POLLIN, 0}, {server_fd, POLLIN, 0}};
    if (::poll(p, 2, kPollMs) <= 0) continue;
    for (int i = 0; i < 2 && open; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const int from = i == 0 ? client_fd : server_fd;
      const int to = i == 0 ? server_fd : client_fd;
      const ssize_t n = ::recv(from, buf, sizeof buf, 0);
      if (n <= 0 || !write_all(to, buf, n)) open = false;
    }
  }
  hard_close(client_fd);
  hard_close(server_fd);
}

}  // namespace edgefed::sim
