#include "sandbox/extract/Digest.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace bccsink::sandbox {
namespace {

std::string hex(const unsigned char* p, unsigned n) {
  static const char* digits = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (unsigned i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  return out;
}

}  // namespace

struct Digester::Impl {
  EVP_MD_CTX* md5 = EVP_MD_CTX_new();
  EVP_MD_CTX* sha256 = EVP_MD_CTX_new();
  Impl() {
    if (!md5 || !sha256) throw std::bad_alloc();
    start();
  }
  ~Impl() {
    EVP_MD_CTX_free(md5);
    EVP_MD_CTX_free(sha256);
  }
  void start() {
    if (EVP_DigestInit_ex(md5, EVP_md5(), nullptr) != 1 ||
        EVP_DigestInit_ex(sha256, EVP_sha256(), nullptr) != 1) {
      throw std::runtime_error("OpenSSL digest initialisation failed");
    }
  }
};

Digester::Digester() : impl_(std::make_unique<Impl>()) {}
Digester::~Digester() = default;

void Digester::update(std::string_view bytes) {
  EVP_DigestUpdate(impl_->md5, bytes.data(), bytes.size());
  EVP_DigestUpdate(impl_->sha256, bytes.data(), bytes.size());
}

Digests Digester::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  Digests d;
  EVP_DigestFinal_ex(impl_->md5, md, &n);
  d.md5 = hex(md, n);
  EVP_DigestFinal_ex(impl_->sha256, md, &n);
  d.sha256 = hex(md, n);
  impl_->start();
  return d;
}

Digests digest(std::string_view bytes) {
  Digester d;
  d.update(bytes);
  return d.finish();
}

}  // namespace bccsink::sandbox
