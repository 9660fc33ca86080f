#pragma once
// The HTTP(S) client of the vxCube API 2.0 (../shared/vxcube-api.md): one blocking call per
// method, each bounded by VxcubeRequestTimeout, each answer classified the way the contract
// says, so that the analyzer only decides what to do next:
//   401/403, an untrusted certificate      -> ConfigError (retrying cannot fix a wrong key)
//   429, 5xx, no connection, a timeout, a
//   reset, an answer that is not JSON      -> Transient (Retry-After kept for 429 and 503)
//   any other non-2xx, an answer of the
//   wrong shape, an unreadable file        -> Failed, with the server's message
// The API key travels only in the Authorization header: error strings are scrubbed of it,
// in case a server echoes it back. Safe to use from several threads at once.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sandbox/analyzers/vxcube/VxcubeObjects.h"
#include "sandbox/analyzers/vxcube/VxcubeSettings.h"

namespace Poco {
namespace Net {
class Context;
class HTTPClientSession;
}  // namespace Net
}  // namespace Poco

namespace bccsink::sandbox {

enum class CallOutcome { Ok, ConfigError, Transient, Failed };

struct CallResult {
  CallOutcome outcome = CallOutcome::Ok;
  int httpStatus = 0;  // 0: no HTTP answer (connection, timeout, TLS)
  // For the administrator: what was asked, the status, the server's message. Never the key.
  std::string error;
  std::chrono::milliseconds retryAfter{0};  // from a 429 or 503 that said when
  // What the circuit breaker counts: the server did not answer, answered 5xx or garbage.
  bool outage = false;

  bool ok() const { return outcome == CallOutcome::Ok; }
};

class VxcubeClient {
 public:
  // Throws std::invalid_argument naming the option (VxcubeApiAddress, VxcubeCaFile) when
  // the address is not a host name or an http(s) URL, or the CA file cannot be loaded.
  explicit VxcubeClient(const VxcubeSettings& settings);
  ~VxcubeClient();
  VxcubeClient(const VxcubeClient&) = delete;
  VxcubeClient& operator=(const VxcubeClient&) = delete;

  // "https://host/api-2.0/", always with the trailing slash.
  const std::string& baseUrl() const { return base_; }
  // Where the administrator finds a task's report.
  std::string taskReportUrl(const std::string& taskId) const;

  // GET samples {sha256}: `found` is the first sample with that digest, or empty.
  CallResult findSample(const std::string& sha256, std::optional<VxSample>& found);
  // POST samples, multipart field "file" named `name` (made safe for a header): the
  // sample, or for a container the samples vxCube made of it.
  CallResult uploadSample(const std::string& path, const std::string& name,
                          std::vector<VxSample>& samples);
  // The same for a file not kept (BccMaxStoredPerMessage): the bytes from memory,
  // streamed as they are, not copied.
  CallResult uploadSampleBytes(std::shared_ptr<const std::string> bytes, const std::string& name,
                               std::vector<VxSample>& samples);
  // POST analyses; analysisTime 0 is left to the server.
  CallResult startAnalysis(const VxSample& sample, const std::vector<std::string>& platforms,
                           std::chrono::seconds analysisTime, VxAnalysis& analysis);
  // GET analyses/{id}.
  CallResult getAnalysis(const std::string& id, VxAnalysis& analysis);
  // GET tasks/{id}.
  CallResult getTask(const std::string& id, VxTask& task);
  // GET platforms: the codes.
  CallResult getPlatforms(std::vector<std::string>& codes);

  // Any call: `path` relative to the base URL, `jsonBody` sent when not empty (GET too, as
  // the API filters lists that way). `answer` is the parsed JSON on Ok.
  CallResult call(const std::string& method, const std::string& path, const std::string& jsonBody,
                  Poco::Dynamic::Var& answer);

  // Calls in progress fail at once (their sockets are shut) and later calls fail without
  // connecting: for shutting down without waiting a request timeout.
  void cancel();

 private:
  struct Request;
  CallResult perform(const Request& request, Poco::Dynamic::Var& answer);
  CallResult upload(Request& req, const std::string& name, std::vector<VxSample>& samples);
  std::unique_ptr<Poco::Net::HTTPClientSession> openSession() const;
  std::string scrub(std::string text) const;

  VxcubeSettings settings_;
  std::string base_;
  std::string scheme_, host_, basePath_;
  unsigned short port_ = 0;
  Poco::Net::Context* context_ = nullptr;  // ref-counted by Poco; held while we live
  std::atomic<bool> cancelled_{false};
  std::mutex activeMutex_;
  std::set<Poco::Net::HTTPClientSession*> active_;  // sessions of calls in progress
};

// A file name fit for a multipart header: printable ASCII without quotes or backslashes
// (others become '_'), at most 120 characters keeping the extension; `fallback` when empty.
std::string safeUploadName(const std::string& name, const std::string& fallback);

}  // namespace bccsink::sandbox
