#pragma once
// The optional export of the statistics (StatsExportUrl): one HTTPS POST of a JSON batch
// of intervals to the site's collector, with the certificate verified (StatsExportCaFile,
// or the system's CAs) and its name checked. Plain http:// is only ever allowed to
// loopback (sink/Config refuses anything else). The caller (StatsCollector, on its own
// thread) decides the retries; nothing here blocks intake, and neither the body nor the
// collector's answer is ever logged.

#include <Poco/Net/Context.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "base/tls/TlsProfile.h"

namespace Poco::Net {
class HTTPClientSession;
}

namespace bccsink::report {

struct ExportSettings {
  std::string url;     // StatsExportUrl
  std::string caFile;  // StatsExportCaFile; '' = the system's CAs
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // connect, send, each read
  TlsProfile tlsProfile;                                        // TlsCiphers, TlsMinVersion
};

struct ExportResult {
  bool ok = false;     // the collector answered 2xx
  std::string reason;  // why not: "HTTP 500 Internal Server Error", "connection refused"...
};

class StatsExporter {
 public:
  // Throws std::invalid_argument naming StatsExportUrl or StatsExportCaFile when one is
  // unusable (so that start-up stops with the option's name).
  explicit StatsExporter(ExportSettings settings);
  ~StatsExporter();
  StatsExporter(const StatsExporter&) = delete;
  StatsExporter& operator=(const StatsExporter&) = delete;

  // POSTs `json` (application/json) and reads the answer's status.
  ExportResult post(const std::string& json);
  // Wakes a post() that waits on the network (shutdown); later posts fail at once.
  void cancel();

 private:
  ExportSettings settings_;
  std::string scheme_, host_, path_;
  std::uint16_t port_ = 0;
  Poco::Net::Context::Ptr context_;
  std::mutex activeMutex_;
  Poco::Net::HTTPClientSession* active_ = nullptr;
  std::atomic<bool> cancelled_{false};
};

}  // namespace bccsink::report
