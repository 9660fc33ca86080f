#pragma once
// MD5 and SHA-256 of a file's bytes, computed together in one pass (OpenSSL EVP):
// the verdict cache is keyed by SHA-256, and MD5 is what analysts and other products
// (WatchGuard's cache, VirusTotal searches) still quote.

#include <memory>
#include <string>
#include <string_view>

namespace bccsink::sandbox {

struct Digests {
  std::string md5;     // 32 lowercase hex digits
  std::string sha256;  // 64 lowercase hex digits
};

class Digester {
 public:
  Digester();
  ~Digester();
  Digester(const Digester&) = delete;
  Digester& operator=(const Digester&) = delete;

  void update(std::string_view bytes);
  // The digests of everything given since construction (or the last finish()); starts over.
  Digests finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Digests digest(std::string_view bytes);

}  // namespace bccsink::sandbox
