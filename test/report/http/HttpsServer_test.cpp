// The HTTP port with HttpTlsCertificate and HttpTlsKey: HTTPS with a self-signed certificate
// made here, TLS 1.2 or later only, a slow TLS client cut at its deadline too, and the two
// options refused when only one is given.

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>

#include "report/http/HttpServer.h"
#include "test/report/http/HttpTestServer.h"

using namespace bccsink;
using namespace bccsink::test;

namespace {

// A P-256 key and a self-signed certificate for CN=127.0.0.1, as PEM files in `dir`.
void makeCertificate(const std::string& cert, const std::string& key) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  ASSERT_NE(pkey, nullptr);
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, pkey);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  ASSERT_GT(X509_sign(x, pkey, EVP_sha256()), 0);
  FILE* f = std::fopen(cert.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key.c_str(), "w");
  PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(pkey);
}

// A client that trusts only `cert`.
Poco::Net::Context::Ptr clientContext(const std::string& cert) {
  Poco::Net::Context::Params p;
  p.caLocation = cert;
  p.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
  p.loadDefaultCAs = false;
  return new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, p);
}

}  // namespace

void servesOverTls();

TEST(HttpsServer, ServesOverTlsWithAGeneratedCertificate) {
  try {
    servesOverTls();
  } catch (const Poco::Exception& e) {
    FAIL() << e.displayText();
  }
}

void servesOverTls() {
  HttpTestServer t;
  const std::string cert = t.dir / "http.crt", key = t.dir / "http.key";
  makeCertificate(cert, key);
  report::HttpSettings s;
  s.tlsCertificate = cert;
  s.tlsKey = key;
  s.requestTimeout = std::chrono::milliseconds(800);
  report::ApiContext api;
  api.metrics = [](db::Database&) { return std::string("bccsink_up 1\n"); };
  t.start(api, s);

  Poco::Net::HTTPSClientSession session("127.0.0.1", t.port, clientContext(cert));
  session.setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest req("GET", "/api/overview", Poco::Net::HTTPMessage::HTTP_1_1);
  req.set("Authorization", "Bearer " + kToken);
  session.sendRequest(req);
  Poco::Net::HTTPResponse resp;
  auto& in = session.receiveResponse(resp);
  std::string body;
  Poco::StreamCopier::copyToString(in, body);
  EXPECT_EQ(resp.getStatus(), 200);
  EXPECT_EQ(resp.get("X-Frame-Options", ""), "DENY");
  EXPECT_NE(body.find("\"queue\""), std::string::npos) << body;

  // Plain HTTP to the TLS port gets no answer in clear.
  EXPECT_THROW(t.get("/metrics", ""), Poco::Exception);

  // A client limited to TLS 1.1 finds no protocol in common.
  auto old = clientContext(cert);
  old->disableProtocols(Poco::Net::Context::PROTO_TLSV1_2 | Poco::Net::Context::PROTO_TLSV1_3);
  Poco::Net::HTTPSClientSession oldSession("127.0.0.1", t.port, old);
  oldSession.setTimeout(Poco::Timespan(5, 0));
  Poco::Net::HTTPRequest metrics("GET", "/metrics", Poco::Net::HTTPMessage::HTTP_1_1);
  EXPECT_THROW(
      {
        oldSession.sendRequest(metrics);
        Poco::Net::HTTPResponse r;
        oldSession.receiveResponse(r);
      },
      Poco::Exception);

  // A TLS client that stops half-way through its headers is cut at the deadline. Over TLS
  // the cut read leaves no session to write a 408 on: the connection ends (an alert).
  Poco::Net::SecureStreamSocket slow(Poco::Net::SocketAddress("127.0.0.1", t.port),
                                     clientContext(cert));
  const std::string part = "GET /metrics HTTP/1.1\r\nX-";
  slow.sendBytes(part.data(), static_cast<int>(part.size()));
  slow.setReceiveTimeout(Poco::Timespan(5, 0));
  const auto started = std::chrono::steady_clock::now();
  bool ended = false;
  try {
    char buf[512];
    while (slow.receiveBytes(buf, sizeof buf) > 0) {
    }
    ended = true;
  } catch (const Poco::TimeoutException&) {
  } catch (const Poco::Exception&) {
    ended = true;
  }
  EXPECT_TRUE(ended);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
}

TEST(HttpsServer, TheCertificateAndKeyGoTogether) {
  HttpTestServer t;
  report::HttpSettings s;
  s.socket = "127.0.0.1:0";
  s.databaseUrl = t.url;
  s.tlsCertificate = t.dir / "missing.crt";
  try {
    report::HttpServer server(s, {});
    FAIL() << "a certificate without a key was taken";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("HttpTlsKey"), std::string::npos) << e.what();
  }
  s.tlsKey = t.dir / "missing.key";
  try {
    report::HttpServer server(s, {});
    FAIL() << "a missing certificate was taken";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("HttpTlsCertificate " + s.tlsCertificate),
              std::string::npos)
        << e.what();
  }
}
