#include "sink/smtp/TlsChannel.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "base/Text.h"

namespace bccsink {
namespace {

int fdOf(BIO* bio) {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

int bioWrite(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  while (true) {
    ssize_t n = ::send(fdOf(bio), data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
    if (n >= 0) return static_cast<int>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(bio);
    return -1;
  }
}

int bioRead(BIO* bio, char* buffer, int size) {
  BIO_clear_retry_flags(bio);
  while (true) {
    ssize_t n = ::recv(fdOf(bio), buffer, static_cast<std::size_t>(size), 0);
    if (n >= 0) return static_cast<int>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(bio);
    return -1;
  }
}

long bioCtrl(BIO*, int command, long, void*) {
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int bioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

// One method table for the process, made on first use (thread-safe static).
BIO_METHOD* socketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "bccsink socket");
    if (m == nullptr) return m;
    BIO_meth_set_write(m, bioWrite);
    BIO_meth_set_read(m, bioRead);
    BIO_meth_set_ctrl(m, bioCtrl);
    BIO_meth_set_create(m, bioCreate);
    return m;
  }();
  return method;
}

// OpenSSL's error queue as one line (and emptied).
std::string drainErrors() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text;
}

}  // namespace

TlsChannel::TlsChannel(ssl_ctx_st* context, int fd) {
  BIO_METHOD* method = socketMethod();
  if (method == nullptr) throw std::runtime_error("TLS: no BIO method: " + drainErrors());
  ssl_ = SSL_new(context);
  if (ssl_ == nullptr) throw std::runtime_error("TLS: SSL_new failed: " + drainErrors());
  BIO* bio = BIO_new(method);
  if (bio == nullptr) {
    SSL_free(ssl_);
    throw std::runtime_error("TLS: BIO_new failed: " + drainErrors());
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
  SSL_set_bio(ssl_, bio, bio);  // the SSL owns the BIO
  // Partial writes like send(2); a retried write may come from a moved buffer; buffers
  // released while the connection is idle (a few dozen KB each, times many connections).
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                         SSL_MODE_RELEASE_BUFFERS);
  // A client that closes without close_notify has ended the session, nothing worse.
  SSL_set_options(ssl_, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_set_accept_state(ssl_);
}

TlsChannel::~TlsChannel() {
  SSL_free(ssl_);
}

TlsChannel::Status TlsChannel::status(int rc) {
  int code = SSL_get_error(ssl_, rc);
  switch (code) {
    case SSL_ERROR_WANT_READ:
      return Status::WantRead;
    case SSL_ERROR_WANT_WRITE:
      return Status::WantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return Status::Closed;
    case SSL_ERROR_SYSCALL: {
      int err = errno;
      std::string queued = drainErrors();
      if (!queued.empty()) {
        error_ = printableAscii(queued, 300);
      } else if (rc == 0 || err == 0) {
        return Status::Closed;  // end of stream without close_notify
      } else {
        error_ = std::strerror(err);
      }
      return Status::Failed;
    }
    default:
      error_ = printableAscii(drainErrors(), 300);
      if (error_.empty()) error_ = "TLS error " + std::to_string(code);
      return Status::Failed;
  }
}

TlsChannel::Status TlsChannel::handshake() {
  if (established_) return Status::Ok;
  ERR_clear_error();  // SSL_get_error reads the thread's queue: no stale entries
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    established_ = true;
    return Status::Ok;
  }
  return status(rc);
}

TlsChannel::Result TlsChannel::read(char* buffer, std::size_t size) {
  ERR_clear_error();
  std::size_t n = 0;
  int rc = SSL_read_ex(ssl_, buffer, size, &n);
  if (rc == 1) return {Status::Ok, n};
  return {status(rc), 0};
}

TlsChannel::Result TlsChannel::write(const char* data, std::size_t size) {
  ERR_clear_error();
  std::size_t n = 0;
  int rc = SSL_write_ex(ssl_, data, size, &n);
  if (rc == 1) return {Status::Ok, n};
  return {status(rc), 0};
}

void TlsChannel::closeNotify() {
  if (!established_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string TlsChannel::description() const {
  const char* cipher = SSL_get_cipher_name(ssl_);
  return std::string(SSL_get_version(ssl_)) + " " + (cipher ? cipher : "?");
}

}  // namespace bccsink
