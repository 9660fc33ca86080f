// The one TLS profile (TlsCiphers, TlsMinVersion) as it lands on an OpenSSL context: the
// default leaves no suite without forward secrecy up to TLS 1.2, the minimum version is
// set, and a wrong list or version is refused with the option's name.

#include "base/tls/TlsProfile.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace bccsink {
namespace {

using Ctx = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

Ctx serverContext() {
  return Ctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
}

// The names of the TLS 1.2-and-older suites the context would offer.
std::vector<std::string> legacySuites(SSL_CTX* ctx) {
  std::vector<std::string> names;
  STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
    if (SSL_CIPHER_get_kx_nid(c) != NID_kx_any) names.push_back(SSL_CIPHER_get_name(c));
  }
  return names;
}

TEST(TlsProfile, TheDefaultOffersOnlyEcdheAeadSuitesFromTls12) {
  auto ctx = serverContext();
  applyTlsProfile(ctx.get(), TlsProfile{});
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_2_VERSION);
  auto names = legacySuites(ctx.get());
  ASSERT_FALSE(names.empty());
  STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(ctx.get());
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
    int kx = SSL_CIPHER_get_kx_nid(c);
    EXPECT_TRUE(kx == NID_kx_ecdhe || kx == NID_kx_any) << SSL_CIPHER_get_name(c);
    EXPECT_TRUE(SSL_CIPHER_is_aead(c)) << SSL_CIPHER_get_name(c);
  }
  for (const auto& n : names) EXPECT_NE(n, "AES128-SHA");
}

TEST(TlsProfile, WithoutItOpenSslWouldOfferStaticRsa) {
  // The reason for the profile: a context as Poco or OpenSSL makes it offers AES128-SHA.
  auto ctx = serverContext();
  ASSERT_EQ(SSL_CTX_set_cipher_list(ctx.get(), "ALL:!ADH:!LOW:!EXP:!MD5:@STRENGTH"), 1);
  auto names = legacySuites(ctx.get());
  EXPECT_NE(std::find(names.begin(), names.end(), "AES128-SHA"), names.end());
  applyTlsProfile(ctx.get(), TlsProfile{});
  names = legacySuites(ctx.get());
  EXPECT_EQ(std::find(names.begin(), names.end(), "AES128-SHA"), names.end());
}

TEST(TlsProfile, MinVersion13IsSet) {
  auto ctx = serverContext();
  applyTlsProfile(ctx.get(), TlsProfile{"ECDHE+AESGCM", "1.3"});
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_3_VERSION);
}

TEST(TlsProfile, AListWithNoKnownCipherIsRefusedNamingTlsCiphers) {
  auto ctx = serverContext();
  try {
    applyTlsProfile(ctx.get(), TlsProfile{"NO-SUCH-CIPHER", "1.2"});
    FAIL() << "accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("TlsCiphers NO-SUCH-CIPHER: no usable cipher", 0), 0u)
        << e.what();
  }
}

TEST(TlsProfile, AnUnknownVersionIsRefusedNamingTlsMinVersion) {
  auto ctx = serverContext();
  EXPECT_THROW(applyTlsProfile(ctx.get(), TlsProfile{"ECDHE+AESGCM", "1.1"}), std::runtime_error);
}

}  // namespace
}  // namespace bccsink
