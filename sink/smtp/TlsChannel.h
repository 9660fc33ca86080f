#pragma once
// One server-side TLS connection over a non-blocking socket, for STARTTLS (RFC 3207): the
// handshake, reads and writes return "would block" instead of waiting, so one event-loop
// thread drives many of them. The socket is reached through a BIO of our own that sends
// with MSG_NOSIGNAL: a client that resets the connection is an error result, never a
// SIGPIPE. Renegotiation is refused, and idle connections give back OpenSSL's buffers.

#include <cstddef>
#include <string>

struct ssl_st;
struct ssl_ctx_st;

namespace bccsink {

class TlsChannel {
 public:
  enum class Status {
    Ok,         // done (read/write: `bytes` moved)
    WantRead,   // retry once the socket is readable
    WantWrite,  // retry once the socket is writable
    Closed,     // the client closed the TLS session (close_notify or end of stream)
    Failed,     // protocol or socket error: error() says which
  };
  struct Result {
    Status status;
    std::size_t bytes = 0;
  };

  // `context` from the server's Poco::Net::Context; `fd` stays owned by the caller.
  // Throws std::runtime_error when OpenSSL cannot make the connection.
  TlsChannel(ssl_ctx_st* context, int fd);
  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  // Runs the server side of the handshake as far as the socket allows.
  Status handshake();
  bool established() const { return established_; }
  // Decrypted bytes into `buffer` (at most `size`).
  Result read(char* buffer, std::size_t size);
  // Encrypts and sends up to `size` bytes; a partial write reports what was taken.
  Result write(const char* data, std::size_t size);
  // Sends close_notify if the socket takes it at once; never waits.
  void closeNotify();
  // The last failure, one printable line.
  const std::string& error() const { return error_; }
  // The negotiated protocol and cipher, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384".
  std::string description() const;

 private:
  Status status(int rc);

  ssl_st* ssl_ = nullptr;
  bool established_ = false;
  std::string error_;
};

}  // namespace bccsink
