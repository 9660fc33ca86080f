#include "sandbox/analyzers/vxcube/VxcubeClient.h"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/MemoryStream.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/FilePartSource.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/PartSource.h>
#include <Poco/Net/SSLException.h>
#include <Poco/String.h>
#include <Poco/Timestamp.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <istream>
#include <stdexcept>

#include "base/JsonText.h"

namespace bccsink::sandbox {
namespace {

using Poco::Dynamic::Var;
using std::chrono::milliseconds;

// A file not kept, as one part of a form: read from the shared bytes, which it holds
// until the form is written (Poco's StringPartSource would copy them).
class MemoryPartSource : public Poco::Net::PartSource {
 public:
  MemoryPartSource(std::shared_ptr<const std::string> bytes, std::string name)
      : Poco::Net::PartSource("application/octet-stream"),
        bytes_(std::move(bytes)),
        name_(std::move(name)),
        stream_(bytes_->data(), static_cast<std::streamsize>(bytes_->size())) {}
  std::istream& stream() override { return stream_; }
  const std::string& filename() const override { return name_; }
  std::streamsize getContentLength() const override {
    return static_cast<std::streamsize>(bytes_->size());
  }

 private:
  std::shared_ptr<const std::string> bytes_;
  std::string name_;
  Poco::MemoryInputStream stream_;
};

std::once_flag sslOnce;

std::string seconds(milliseconds ms) {
  auto s = std::to_string(ms.count() / 1000);
  if (auto frac = ms.count() % 1000; frac != 0) {
    auto digits = std::to_string(1000 + frac).substr(1);
    digits.erase(digits.find_last_not_of('0') + 1);
    s += "." + digits;
  }
  return s + "s";
}

// Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP date.
milliseconds retryAfter(const Poco::Net::HTTPResponse& response, const VxcubeSettings& s) {
  if (!response.has("Retry-After")) return s.defaultRetryAfter;
  const auto& value = response.get("Retry-After");
  milliseconds wait = s.defaultRetryAfter;
  if (!value.empty() &&
      std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    wait = value.size() > 9 ? s.maxRetryAfter : milliseconds(std::stoll(value) * 1000);
  } else {
    Poco::DateTime when;
    int tz = 0;
    if (Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::HTTP_FORMAT, value, when, tz)) {
      auto delta = (when.timestamp() - Poco::Timestamp()) / 1000;
      wait = milliseconds(std::max<Poco::Timestamp::TimeDiff>(delta, 0));
    }
  }
  return std::clamp(wait, milliseconds(0), s.maxRetryAfter);
}

CallResult failure(CallOutcome outcome, std::string error, bool outage = false) {
  CallResult r;
  r.outcome = outcome;
  r.error = std::move(error);
  r.outage = outage;
  return r;
}

// A 2xx whose JSON is not what the call answers: vxCube answered, so it is no outage, but
// asking again would not change it.
CallResult wrongShape(CallResult r, std::string error) {
  r.outcome = CallOutcome::Failed;
  r.error = std::move(error);
  return r;
}

std::string pathPart(const std::string& id) {
  std::string out;
  Poco::URI::encode(id, "/?#%&+; ", out);
  return out;
}

}  // namespace

std::string safeUploadName(const std::string& name, const std::string& fallback) {
  std::string out;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f || c == '"' || c == '\\' || c == '/') ? '_' : c;
  }
  constexpr std::size_t kMax = 120;
  if (out.size() > kMax) {
    auto dot = out.rfind('.');
    auto ext = (dot != std::string::npos && out.size() - dot <= 16) ? out.substr(dot) : "";
    out = out.substr(0, kMax - ext.size()) + ext;
  }
  if (out.find_first_not_of("_. ") == std::string::npos) return fallback;
  return out;
}

struct VxcubeClient::Request {
  std::string label;  // for errors: "lookup", "upload", ...
  std::string method;
  std::string path;  // relative to the base path
  std::string json;  // body, or ''
  const std::string* uploadPath = nullptr;
  std::shared_ptr<const std::string> uploadBytes;  // instead of uploadPath: a file not kept
  std::string uploadName;
};

VxcubeClient::VxcubeClient(const VxcubeSettings& settings) : settings_(settings) {
  auto address = settings.apiAddress;
  if (address.empty()) throw std::invalid_argument("VxcubeApiAddress: not set");
  if (address.find("://") == std::string::npos) address = "https://" + address;
  Poco::URI uri;
  try {
    uri = Poco::URI(address);
  } catch (const Poco::Exception& e) {
    throw std::invalid_argument("VxcubeApiAddress: '" + settings.apiAddress +
                                "' is not a host name or URL: " + e.message());
  }
  scheme_ = Poco::toLower(uri.getScheme());
  if ((scheme_ != "http" && scheme_ != "https") || uri.getHost().empty() ||
      !uri.getQuery().empty() || !uri.getFragment().empty() || !uri.getUserInfo().empty()) {
    throw std::invalid_argument("VxcubeApiAddress: '" + settings.apiAddress +
                                "' is not a host name or an http(s) URL");
  }
  host_ = uri.getHost();
  port_ = uri.getPort();
  basePath_ = uri.getPath();
  if (basePath_.empty() || basePath_ == "/") basePath_ = "/api-2.0/";
  if (basePath_.back() != '/') basePath_ += '/';
  base_ = scheme_ + "://" + uri.getAuthority() + basePath_;
  if (scheme_ == "https") {
    std::call_once(sslOnce, [] { Poco::Net::initializeSSL(); });
    using Poco::Net::Context;
    try {
      auto* ctx = new Context(Context::TLS_CLIENT_USE, settings.caFile,
                              settings.verifyTls ? Context::VERIFY_RELAXED : Context::VERIFY_NONE,
                              9, settings.caFile.empty());
      ctx->enableExtendedCertificateVerification(settings.verifyTls);
      context_ = ctx;
    } catch (const Poco::Exception& e) {
      throw std::invalid_argument("VxcubeCaFile: cannot load '" + settings.caFile +
                                  "': " + e.displayText());
    }
    try {
      applyTlsProfile(*context_, settings.tlsProfile);
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(e.what());
    }
  }
}

VxcubeClient::~VxcubeClient() {
  if (context_ != nullptr) context_->release();
}

std::string VxcubeClient::taskReportUrl(const std::string& taskId) const {
  return base_ + "tasks/" + pathPart(taskId) + "/report";
}

std::string VxcubeClient::scrub(std::string text) const {
  const auto& key = settings_.apiKey;
  if (key.size() < 4) return text;  // replacing a tiny key would garble every message
  for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at))
    text.replace(at, key.size(), "<api key>");
  return text;
}

std::unique_ptr<Poco::Net::HTTPClientSession> VxcubeClient::openSession() const {
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  if (scheme_ == "https") {
    session = std::make_unique<Poco::Net::HTTPSClientSession>(
        host_, port_, Poco::Net::Context::Ptr(context_, true));
  } else {
    session = std::make_unique<Poco::Net::HTTPClientSession>(host_, port_);
  }
  const Poco::Timespan timeout(settings_.requestTimeout.count() * 1000);
  session->setTimeout(timeout, timeout, timeout);
  return session;
}

void VxcubeClient::cancel() {
  cancelled_ = true;
  std::lock_guard lock(activeMutex_);
  for (auto* session : active_) {
    try {
      // Only a shutdown: it wakes the thread blocked on the socket, which closes it itself
      // (closing here could race with that thread reusing the descriptor).
      session->socket().shutdown();
    } catch (const Poco::Exception&) {
    }
  }
}

CallResult VxcubeClient::perform(const Request& req, Var& answer) {
  const std::string what = "vxCube " + req.label;
  if (cancelled_) return failure(CallOutcome::Transient, what + ": shutting down");
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  std::string body;
  Poco::Net::HTTPResponse response;
  try {
    session = openSession();
    {
      std::lock_guard lock(activeMutex_);
      active_.insert(session.get());
    }
    struct Unregister {
      VxcubeClient& c;
      Poco::Net::HTTPClientSession* s;
      ~Unregister() {
        std::lock_guard lock(c.activeMutex_);
        c.active_.erase(s);
      }
    } unregister{*this, session.get()};
    if (cancelled_) return failure(CallOutcome::Transient, what + ": shutting down");

    Poco::Net::HTTPRequest request(req.method, basePath_ + req.path,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Authorization", "api-key " + settings_.apiKey);
    request.set("Accept", "application/json");
    request.setKeepAlive(false);
    if (req.uploadPath != nullptr || req.uploadBytes) {
      Poco::Net::HTMLForm form(Poco::Net::HTMLForm::ENCODING_MULTIPART);
      try {
        if (req.uploadBytes)
          form.addPart("file", new MemoryPartSource(req.uploadBytes, req.uploadName));
        else
          form.addPart("file", new Poco::Net::FilePartSource(*req.uploadPath, req.uploadName,
                                                             "application/octet-stream"));
      } catch (const Poco::Exception& e) {
        return failure(CallOutcome::Failed, what + ": cannot read the file: " + e.displayText());
      }
      form.prepareSubmit(request, Poco::Net::HTMLForm::OPT_USE_CONTENT_LENGTH);
      form.write(session->sendRequest(request));
    } else if (!req.json.empty()) {
      request.setContentType("application/json");
      request.setContentLength(static_cast<std::streamsize>(req.json.size()));
      session->sendRequest(request) << req.json;
    } else {
      if (req.method == Poco::Net::HTTPRequest::HTTP_POST) request.setContentLength(0);
      session->sendRequest(request);
    }
    auto& in = session->receiveResponse(response);
    char buffer[8192];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      body.append(buffer, static_cast<std::size_t>(in.gcount()));
      if (body.size() > settings_.maxAnswerSize) {
        return failure(CallOutcome::Transient,
                       what + ": the answer is larger than " +
                           std::to_string(settings_.maxAnswerSize) + " bytes",
                       true);
      }
    }
    if (in.bad()) throw Poco::IOException("the answer broke off");
  } catch (const Poco::TimeoutException&) {
    return failure(CallOutcome::Transient,
                   what + ": no answer within " + seconds(settings_.requestTimeout), true);
  } catch (const Poco::Net::SSLException& e) {
    // A certificate that does not verify is the administrator's to fix, as a wrong key is;
    // other TLS failures (a handshake cut short) may pass.
    auto text = oneLine(e.displayText());
    if (dynamic_cast<const Poco::Net::CertificateValidationException*>(&e) != nullptr ||
        text.find("certificate verify failed") != std::string::npos) {
      return failure(CallOutcome::ConfigError,
                     scrub(what +
                           ": the server's certificate is not trusted (VxcubeCaFile, "
                           "VxcubeVerifyTls): " +
                           text));
    }
    if (cancelled_) return failure(CallOutcome::Transient, what + ": shutting down");
    return failure(CallOutcome::Transient, scrub(what + ": " + text), true);
  } catch (const Poco::Exception& e) {
    if (cancelled_) return failure(CallOutcome::Transient, what + ": shutting down");
    return failure(CallOutcome::Transient, scrub(what + ": " + oneLine(e.displayText())), true);
  } catch (const std::exception& e) {
    if (cancelled_) return failure(CallOutcome::Transient, what + ": shutting down");
    return failure(CallOutcome::Transient, scrub(what + ": " + oneLine(e.what())), true);
  }

  CallResult r;
  r.httpStatus = static_cast<int>(response.getStatus());
  const auto status = "HTTP " + std::to_string(r.httpStatus);
  if (r.httpStatus >= 200 && r.httpStatus < 300) {
    try {
      Poco::JSON::Parser parser;
      answer = parser.parse(body.empty() ? std::string("null") : body);
      return r;
    } catch (const Poco::Exception& e) {
      r.outcome = CallOutcome::Transient;
      r.outage = true;
      r.error = scrub(what + ": " + status +
                      " with an answer that is not JSON: " + oneLine(e.displayText(), 120));
      return r;
    }
  }
  auto message = serverMessage(r.httpStatus, body);
  if (r.httpStatus == 401 || r.httpStatus == 403) {
    r.outcome = CallOutcome::ConfigError;
    r.error = what + ": " + status + ", the server refused the API key (VxcubeApiKey)";
  } else if (r.httpStatus == 429 || r.httpStatus >= 500) {
    r.outcome = CallOutcome::Transient;
    r.outage = r.httpStatus >= 500;
    if (r.httpStatus == 429 || response.has("Retry-After")) {
      r.retryAfter = retryAfter(response, settings_);
      r.error = what + ": " + status + " (retry after " + seconds(r.retryAfter) + ")";
    } else {
      r.error = what + ": " + status;
    }
  } else {
    r.outcome = CallOutcome::Failed;
    r.error = what + ": " + status;
  }
  if (!message.empty()) r.error += ": " + message;
  r.error = scrub(std::move(r.error));
  return r;
}

CallResult VxcubeClient::call(const std::string& method, const std::string& path,
                              const std::string& jsonBody, Var& answer) {
  Request req;
  req.label = method + " " + path;
  req.method = method;
  req.path = path;
  req.json = jsonBody;
  return perform(req, answer);
}

CallResult VxcubeClient::findSample(const std::string& sha256, std::optional<VxSample>& found) {
  found.reset();
  Request req;
  req.label = "lookup of " + sha256.substr(0, 12);
  req.method = Poco::Net::HTTPRequest::HTTP_GET;
  req.path = "samples";
  Poco::JSON::Object filter;
  filter.set("sha256", sha256);
  filter.set("count", 1);
  req.json = jsonText(filter);
  Var answer;
  auto r = perform(req, answer);
  if (!r.ok()) return r;
  std::vector<VxSample> list;
  if (!parseSampleList(answer, list))
    return wrongShape(r, "vxCube " + req.label + ": not a list of samples");
  for (auto& s : list) {
    if (Poco::icompare(s.sha256, sha256) == 0) {
      found = std::move(s);
      break;
    }
  }
  return r;
}

CallResult VxcubeClient::uploadSample(const std::string& path, const std::string& name,
                                      std::vector<VxSample>& samples) {
  Request req;
  req.uploadPath = &path;
  return upload(req, name, samples);
}

CallResult VxcubeClient::uploadSampleBytes(std::shared_ptr<const std::string> bytes,
                                           const std::string& name,
                                           std::vector<VxSample>& samples) {
  Request req;
  req.uploadBytes = std::move(bytes);
  return upload(req, name, samples);
}

// POST samples with the file (a path or bytes already in `req`) as its form part.
CallResult VxcubeClient::upload(Request& req, const std::string& name,
                                std::vector<VxSample>& samples) {
  samples.clear();
  req.label = "upload";
  req.method = Poco::Net::HTTPRequest::HTTP_POST;
  req.path = "samples";
  req.uploadName = safeUploadName(name, "sample");
  Var answer;
  auto r = perform(req, answer);
  if (!r.ok()) return r;
  samples = parseUploaded(answer);
  if (samples.empty()) return wrongShape(r, "vxCube upload: no sample in the answer");
  return r;
}

CallResult VxcubeClient::startAnalysis(const VxSample& sample,
                                       const std::vector<std::string>& platforms,
                                       std::chrono::seconds analysisTime, VxAnalysis& analysis) {
  Request req;
  req.label = "analysis of sample " + sample.id;
  req.method = Poco::Net::HTTPRequest::HTTP_POST;
  req.path = "analyses";
  Poco::JSON::Object body;
  if (sample.numericId) {
    body.set("sample_id", std::stoll(sample.id));
  } else {
    body.set("sample_id", sample.id);
  }
  Poco::JSON::Array codes;
  for (const auto& p : platforms) codes.add(p);
  body.set("platforms", codes);
  if (analysisTime.count() > 0) body.set("analysis_time", static_cast<int>(analysisTime.count()));
  req.json = jsonText(body);
  Var answer;
  auto r = perform(req, answer);
  if (!r.ok()) return r;
  auto a = parseAnalysis(answer);
  if (!a) return wrongShape(r, "vxCube " + req.label + ": not an analysis");
  analysis = std::move(*a);
  return r;
}

CallResult VxcubeClient::getAnalysis(const std::string& id, VxAnalysis& analysis) {
  Request req;
  req.label = "poll of analysis " + id;
  req.method = Poco::Net::HTTPRequest::HTTP_GET;
  req.path = "analyses/" + pathPart(id);
  Var answer;
  auto r = perform(req, answer);
  if (!r.ok()) return r;
  auto a = parseAnalysis(answer);
  if (!a) return wrongShape(r, "vxCube " + req.label + ": not an analysis");
  analysis = std::move(*a);
  return r;
}

CallResult VxcubeClient::getTask(const std::string& id, VxTask& task) {
  Request req;
  req.label = "task " + id;
  req.method = Poco::Net::HTTPRequest::HTTP_GET;
  req.path = "tasks/" + pathPart(id);
  Var answer;
  auto r = perform(req, answer);
  if (!r.ok()) return r;
  auto t = parseTask(answer);
  if (!t) return wrongShape(r, "vxCube " + req.label + ": not a task");
  task = std::move(*t);
  return r;
}

CallResult VxcubeClient::getPlatforms(std::vector<std::string>& codes) {
  Request req;
  req.label = "platforms";
  req.method = Poco::Net::HTTPRequest::HTTP_GET;
  req.path = "platforms";
  Var answer;
  auto r = perform(req, answer);
  if (!r.ok()) return r;
  codes = parseCodes(answer);
  return r;
}

}  // namespace bccsink::sandbox
