#pragma once
// An emulator of the vxCube API 2.0 (../../../shared/vxcube-api.md) for tests, benchmarks
// and a demo without a licence: a Poco HTTP server with its state in memory. Verdicts come
// from SHA-256 lists and YARA rules; tasks go "in queue" -> "processing" -> "successful"
// (or "failed") as time passes; faults (429, 5xx, 401, hangs, resets, broken JSON, latency)
// are injected per call or at a rate. README.md beside this file says what it answers.
// The executable (main.cpp) and the tests both run it through this class.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sandbox/analyzers/vxcube/emulator/Faults.h"
#include "sandbox/analyzers/vxcube/emulator/Store.h"

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
}
}  // namespace Poco

namespace bccsink::emulator {

struct EmulatorOptions {
  std::string listen = "127.0.0.1:0";  // HOST:PORT; port 0 picks a free one
  std::string apiKey;                  // required: the key every call must carry
  std::string login = "emulator";      // what POST login accepts
  std::string password = "emulator";
  std::vector<std::string> dangerousSha256;      // digests whose tasks end malware2
  std::vector<std::string> suspiciousSha256;     // ... suspicious1
  std::vector<std::string> failingSha256;        // ... whose tasks end failed
  std::string yaraRulesDir;                      // '' = no YARA
  std::chrono::milliseconds analysisTime{2000};  // from "in queue" to the end of a task
  std::chrono::milliseconds latency{0};          // before every API answer
  std::vector<Fault> faults;
  int retryAfterSeconds = 1;  // the Retry-After of an injected 429 or 503
  int maxThreads = 32;        // connections served at once
  std::uint64_t maxUploadSize = 256u << 20;
  // Both set: serve HTTPS with this PEM certificate and private key.
  std::string tlsCert;
  std::string tlsKey;
};

// Reads a digest list: one SHA-256 a line (first word; '#' comments and blank lines
// skipped). Throws std::runtime_error naming file:line.
std::vector<std::string> readSha256List(const std::string& path);

struct EmulatorStats {
  std::uint64_t requests = 0;  // API calls (not /_emulator/)
  std::uint64_t lookups = 0;   // GET samples
  std::uint64_t uploads = 0;   // POST samples that stored a file
  std::uint64_t analyses = 0;  // POST analyses that started one
  std::uint64_t polls = 0;     // GET analyses/{id}
  std::uint64_t tasks = 0;     // GET tasks/{id} and tasks/{id}/report
  std::uint64_t faults = 0;    // answers spoilt on purpose
  std::uint64_t refused = 0;   // 401s for a wrong or missing key
  std::uint64_t samples = 0;   // distinct samples stored
};

class Emulator {
 public:
  // Loads the YARA rules, binds and starts serving. Throws std::runtime_error (or
  // std::invalid_argument for a bad option) when it cannot.
  explicit Emulator(EmulatorOptions options);
  // stop().
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  std::uint16_t port() const { return port_; }
  std::string host() const { return host_; }
  // "http://HOST:PORT/api-2.0/" (https with TLS)
  std::string baseUrl() const;

  void addFault(Fault fault);
  void clearFaults();
  void setLatency(std::chrono::milliseconds latency);
  void setAnalysisTime(std::chrono::milliseconds time);
  void list(Listed which, const std::string& sha256);

  EmulatorStats stats() const;

  // Answers what hangs, aborts open connections and joins the server's threads. Idempotent.
  void stop();

  struct State;  // opaque; shared with the server's handlers

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::string host_;
  std::uint16_t port_ = 0;
  bool tls_ = false;
  bool stopped_ = false;
};

}  // namespace bccsink::emulator
