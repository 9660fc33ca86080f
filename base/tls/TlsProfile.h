#pragma once
// The one TLS profile of every listener and client (issue 18, finding 11): the cipher list
// (TlsCiphers, TLS 1.2 and older) and the oldest version spoken (TlsMinVersion), applied in
// one place to a Poco or OpenSSL context, so that STARTTLS, the HTTP port, the report and
// relay clients, vxCube and the statistics export cannot drift apart. The default offers
// forward-secret (ECDHE) AEAD suites only: no static-RSA key exchange (RFC 7525 4.2, RFC
// 9325), no CBC. TLS 1.3 suites are OpenSSL's (all forward secret) and are left alone.

#include <string>

typedef struct ssl_ctx_st SSL_CTX;

namespace Poco::Net {
class Context;
}

namespace bccsink {

struct TlsProfile {
  std::string ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20";  // TlsCiphers
  std::string minVersion = "1.2";                       // TlsMinVersion: 1.2 or 1.3
};

// Sets the profile on a context: minimum version, cipher list, server preference (a server
// picks from its own order). Throws std::runtime_error naming the option when OpenSSL
// refuses the cipher list or the version.
void applyTlsProfile(SSL_CTX* context, const TlsProfile& profile);
void applyTlsProfile(Poco::Net::Context& context, const TlsProfile& profile);

}  // namespace bccsink
