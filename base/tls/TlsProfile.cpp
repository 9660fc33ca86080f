#include "base/tls/TlsProfile.h"

#include <Poco/Net/Context.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>

namespace bccsink {
namespace {

// OpenSSL's reason for the last failure, and the error queue cleared (it is per thread and
// would otherwise be reported by the next, unrelated, TLS call).
std::string lastSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "refused by OpenSSL";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

}  // namespace

void applyTlsProfile(SSL_CTX* context, const TlsProfile& profile) {
  if (!context) throw std::runtime_error("TLS: no context");
  int version = 0;
  if (profile.minVersion == "1.2") {
    version = TLS1_2_VERSION;
  } else if (profile.minVersion == "1.3") {
    version = TLS1_3_VERSION;
  } else {
    throw std::runtime_error("TlsMinVersion " + profile.minVersion + ": must be 1.2 or 1.3");
  }
  if (SSL_CTX_set_min_proto_version(context, version) != 1) {
    throw std::runtime_error("TlsMinVersion " + profile.minVersion + ": " + lastSslError());
  }
  // Fails only when no suite of the list is known; unknown names among known ones are
  // skipped by OpenSSL, as in every OpenSSL-based server.
  if (SSL_CTX_set_cipher_list(context, profile.ciphers.c_str()) != 1) {
    throw std::runtime_error("TlsCiphers " + profile.ciphers + ": no usable cipher (" +
                             lastSslError() + ")");
  }
  SSL_CTX_set_options(context, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
}

void applyTlsProfile(Poco::Net::Context& context, const TlsProfile& profile) {
  applyTlsProfile(context.sslContext(), profile);
}

}  // namespace bccsink
