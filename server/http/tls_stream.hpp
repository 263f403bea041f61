// TlsStream: the server side of one TLS connection, with OpenSSL reading and
// writing the connection's socket itself (SSL_set_fd) and Asio only waiting
// for the socket to become readable or writable.
//
// Why not Boost.Asio's ssl::stream: it keeps two 17 KB record buffers of its
// own plus an OpenSSL BIO pair with two more for the connection's whole life
// (~68 KB, 70 % of an idle connection's memory at 10,000 connections). Here
// OpenSSL's own record buffers are the only ones, and SSL_MODE_RELEASE_BUFFERS
// (set on the context, common/src/tls.cpp) frees them while the connection is
// idle. It also saves the copy from the BIO pair on every byte received.
//
// A read returns every record OpenSSL already holds, up to the caller's
// buffer (not one 16 KiB record per call), and OpenSSL reads ahead up to
// 64 KiB per read(2) while a connection is receiving.
//
// It is an Asio/Beast AsyncReadStream and AsyncWriteStream (async_read_some,
// async_write_some), plus async_handshake and async_shutdown, and a deadline
// like beast::tcp_stream's: when it passes, the pending operation and every
// later one fail with beast::error::timeout and the connection is shut down.
//
// Thread safety: none of its own; every operation, and the deadline, must run
// on the socket's executor (the session's strand). One read and one write may
// be pending at a time, as with any Asio stream. Handlers are never invoked
// from inside the initiating function.
//
// Errors: ZERO_RETURN (close_notify) is asio::error::eof; an EOF without
// close_notify is asio::ssl::error::stream_truncated; system errors keep their
// errno; other TLS errors carry OpenSSL's error code in asio's ssl category.
// Requires SIGPIPE to be ignored (OpenSSL writes with write(2)); the server
// does so when it starts.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

namespace edgefed::server::http {

class TlsStream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;

  // Takes the accepted socket; `ctx` must outlive the stream.
  TlsStream(boost::asio::ip::tcp::socket&& socket, boost::asio::ssl::context& ctx);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  executor_type get_executor() noexcept { return state_->socket.get_executor(); }
  boost::asio::ip::tcp::socket& socket() { return state_->socket; }
  SSL* native_handle() { return state_->ssl; }

  // The deadline for whatever runs from now on (replaces any earlier one).
  void expires_after(std::chrono::steady_clock::duration d);
  void expires_never();

  // void(error_code)
  template <class Token>
  auto async_handshake(Token&& token) {
    return start<false>(Op::kHandshake, nullptr, nullptr, 0, token);
  }
  // void(error_code): sends close_notify; does not wait for the peer's.
  template <class Token>
  auto async_shutdown(Token&& token) {
    return start<false>(Op::kShutdown, nullptr, nullptr, 0, token);
  }
  // void(error_code, std::size_t): reads into the first non-empty buffer.
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    const boost::asio::mutable_buffer b = first_buffer<boost::asio::mutable_buffer>(buffers);
    return start<true>(Op::kRead, b.data(), nullptr, b.size(), token);
  }
  // void(error_code, std::size_t): writes a prefix of `buffers`. A sequence
  // whose first buffer is small (an HTTP header before its body) is copied
  // into one buffer of up to 16 KB first, as beast::flat_stream does, so it
  // leaves as one TLS record and one write(2) instead of a small record that
  // waits for Nagle's algorithm and the peer's delayed ACK.
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    const boost::asio::const_buffer b = first_buffer<boost::asio::const_buffer>(buffers);
    const std::size_t total = boost::asio::buffer_size(buffers);
    if (b.size() >= kCoalesceBytes || b.size() == total) {
      return start<true>(Op::kWrite, nullptr, b.data(), b.size(), token);
    }
    const std::size_t len = total < kCoalesceBytes ? total : kCoalesceBytes;
    std::unique_ptr<char[]> copy(new char[len]);
    const char* from = copy.get();  // read before `copy` is moved into the operation
    boost::asio::buffer_copy(boost::asio::buffer(copy.get(), len), buffers);
    return start<true>(Op::kWrite, nullptr, from, len, token, std::move(copy));
  }

 private:
  static constexpr std::size_t kCoalesceBytes = 16 * 1024;
  enum class Op { kHandshake, kRead, kWrite, kShutdown };
  enum class Next { kDone, kWaitRead, kWaitWrite };

  // Shared with the deadline's handler (which holds it weakly), so that a
  // deadline firing after the session ended touches nothing.
  struct State {
    State(boost::asio::ip::tcp::socket&& s, SSL* ssl_in);
    ~State();
    boost::asio::ip::tcp::socket socket;
    boost::asio::steady_timer timer;
    SSL* ssl;
    uint64_t deadline_generation = 0;
    bool timed_out = false;
  };

  // One try of `op` without blocking: done (with `ec` and `n` set) or which
  // readiness to wait for before trying again.
  static Next attempt(State& st, Op op, void* read_to, const void* write_from, std::size_t size, std::size_t& n,
                      boost::system::error_code& ec);
  // What a failed wait means (the deadline, or the socket's own error).
  static boost::system::error_code wait_failed(const State& st, boost::system::error_code ec);

  template <class Buffer, class Buffers>
  static Buffer first_buffer(const Buffers& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
      Buffer b(*it);
      if (b.size() > 0) return b;
    }
    return Buffer();
  }

  // The composed operation: try, wait for readiness, try again. When the
  // first try already finishes, the result is posted, so the handler never
  // runs inside the initiating call.
  template <bool Sized>
  struct IoOp {
    std::shared_ptr<State> st;
    Op op;
    void* read_to;
    const void* write_from;
    std::size_t size;
    std::unique_ptr<char[]> owned;  // the coalesced copy `write_from` points into
    bool waited = false;
    bool finished = false;
    std::size_t n = 0;
    boost::system::error_code result{};

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      if (finished) return complete(self);
      Next next = Next::kDone;
      if (ec) {
        result = wait_failed(*st, ec);
      } else {
        next = attempt(*st, op, read_to, write_from, size, n, result);
      }
      if (next != Next::kDone) {
        waited = true;
        return st->socket.async_wait(next == Next::kWaitRead ? boost::asio::ip::tcp::socket::wait_read
                                                             : boost::asio::ip::tcp::socket::wait_write,
                                     std::move(self));
      }
      if (!waited) {
        finished = true;
        const auto ex = st->socket.get_executor();
        return boost::asio::post(ex, std::move(self));
      }
      complete(self);
    }

    template <class Self>
    void complete(Self& self) {
      if constexpr (Sized) {
        self.complete(result, n);
      } else {
        self.complete(result);
      }
    }
  };

  template <bool Sized, class Token>
  auto start(Op op, void* read_to, const void* write_from, std::size_t size, Token& token,
             std::unique_ptr<char[]> owned = nullptr) {
    using Signature =
        std::conditional_t<Sized, void(boost::system::error_code, std::size_t), void(boost::system::error_code)>;
    return boost::asio::async_compose<Token, Signature>(IoOp<Sized>{state_, op, read_to, write_from, size, std::move(owned)}, token,
                                                        state_->socket);
  }

  std::shared_ptr<State> state_;
};

}  // namespace edgefed::server::http
