#include "server/http/tls_stream.hpp"

#include <openssl/err.h>

#include <cerrno>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>

namespace edgefed::server::http {

namespace {
// OpenSSL's read buffer while a connection reads (see the constructor).
constexpr std::size_t kReadBufferBytes = 64 * 1024;
}  // namespace

namespace net = boost::asio;
using boost::system::error_code;

TlsStream::State::State(net::ip::tcp::socket&& s, SSL* ssl_in)
    : socket(std::move(s)), timer(socket.get_executor()), ssl(ssl_in) {}

TlsStream::State::~State() {
  // Before the socket closes (members are destroyed after this body): the
  // SSL object only borrows the descriptor (BIO_NOCLOSE).
  SSL_free(ssl);
}

TlsStream::TlsStream(net::ip::tcp::socket&& socket, net::ssl::context& ctx) {
  SSL* ssl = SSL_new(ctx.native_handle());
  state_ = std::make_shared<State>(std::move(socket), ssl);
  if (!ssl) return;  // every operation then fails with "out of memory"
  error_code ec;
  state_->socket.non_blocking(true, ec);
  if (ec || SSL_set_fd(ssl, static_cast<int>(state_->socket.native_handle())) != 1) {
    SSL_free(ssl);
    state_->ssl = nullptr;
    return;
  }
  SSL_set_accept_state(ssl);
  // Answers are written whole (one record where they fit): nothing to gain
  // from Nagle's algorithm but a delayed-ACK stall on a trailing record.
  state_->socket.set_option(net::ip::tcp::no_delay(true), ec);
  // Beast's writers hand us one buffer at a time and may come back with the
  // rest at another address after a partial write.
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read whole socket buffers, not a record header and then its body: half
  // the read(2) calls for a large upload. A 64 KiB read buffer (the default
  // holds one 16 KiB record) takes up to four records per read(2): a 408 KB
  // update took 15 calls instead of 27 (measured, benchmarks/README.md). OpenSSL allocates it only while
  // a record is being read and frees it when drained
  // (SSL_MODE_RELEASE_BUFFERS, common/src/tls.cpp): an idle connection
  // holds none.
  SSL_set_default_read_buffer_len(ssl, kReadBufferBytes);
  SSL_set_read_ahead(ssl, 1);
}

TlsStream::~TlsStream() = default;

void TlsStream::expires_after(std::chrono::steady_clock::duration d) {
  State& st = *state_;
  const uint64_t generation = ++st.deadline_generation;
  st.timer.expires_after(d);
  st.timer.async_wait([weak = std::weak_ptr<State>(state_), generation](error_code ec) {
    if (ec) return;  // replaced or cancelled
    const auto s = weak.lock();
    // A handler already queued when the deadline was moved is stale.
    if (!s || s->deadline_generation != generation) return;
    s->timed_out = true;
    // Wakes the pending wait with operation_aborted; the descriptor stays
    // open (OpenSSL holds its number) until the stream is destroyed.
    error_code ignored;
    s->socket.shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    s->socket.cancel(ignored);
  });
}

void TlsStream::expires_never() {
  ++state_->deadline_generation;
  state_->timer.cancel();
}

error_code TlsStream::wait_failed(const State& st, error_code ec) {
  if (st.timed_out) return boost::beast::error::timeout;
  return ec;
}

TlsStream::Next TlsStream::attempt(State& st, Op op, void* read_to, const void* write_from, std::size_t size,
                                   std::size_t& n, error_code& ec) {
  n = 0;
  ec = {};
  if (st.timed_out) {
    ec = boost::beast::error::timeout;
    return Next::kDone;
  }
  if (!st.ssl) {
    ec = net::error::no_memory;
    return Next::kDone;
  }
  if ((op == Op::kRead || op == Op::kWrite) && size == 0) return Next::kDone;
  // The error queue is per thread and shared by every connection this
  // thread serves: start clean so SSL_get_error sees only this call's error.
  ERR_clear_error();
  errno = 0;
  int r = 0;
  std::size_t done = 0;
  switch (op) {
    case Op::kHandshake:
      r = SSL_do_handshake(st.ssl);
      break;
    case Op::kRead:
      r = SSL_read_ex(st.ssl, read_to, size, &done);
      // SSL_read returns one record at a time: hand the caller every
      // record the read-ahead already buffered, in this one completion
      // rather than one per record. A record not complete yet (or an
      // alert) ends the loop; the next read reports it.
      while (r == 1 && done < size && SSL_has_pending(st.ssl) == 1) {
        std::size_t more = 0;
        if (SSL_read_ex(st.ssl, static_cast<char*>(read_to) + done, size - done, &more) != 1) {
          ERR_clear_error();
          break;
        }
        done += more;
      }
      break;
    case Op::kWrite:
      r = SSL_write_ex(st.ssl, write_from, size, &done);
      break;
    case Op::kShutdown:
      r = SSL_shutdown(st.ssl);
      if (r >= 0) return Next::kDone;  // close_notify sent (1: the peer's came too)
      break;
  }
  const int saved_errno = errno;
  if (r == 1) {
    n = done;
    return Next::kDone;
  }
  switch (SSL_get_error(st.ssl, r)) {
    case SSL_ERROR_WANT_READ:
      return Next::kWaitRead;
    case SSL_ERROR_WANT_WRITE:
      return Next::kWaitWrite;
    case SSL_ERROR_ZERO_RETURN:
      ec = net::error::eof;
      break;
    case SSL_ERROR_SYSCALL:
      // OpenSSL 3: errno 0 with an empty queue is an EOF without close_notify.
      ec = saved_errno != 0 ? error_code(saved_errno, boost::system::system_category())
                            : error_code(net::ssl::error::stream_truncated);
      break;
    default: {
      const unsigned long e = ERR_get_error();
      if (e == 0 || ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ec = net::ssl::error::stream_truncated;
      } else {
        ec = error_code(static_cast<int>(e), net::error::get_ssl_category());
      }
      break;
    }
  }
  ERR_clear_error();
  return Next::kDone;
}

}  // namespace edgefed::server::http
