#include "sandbox/analyzers/vxcube/emulator/Emulator.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/MessageHeader.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/PartHandler.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "base/JsonText.h"
#include "sandbox/analyzers/YaraRules.h"
#include "sandbox/analyzers/vxcube/emulator/Store.h"

namespace bccsink::emulator {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

constexpr std::size_t kMaxJsonBody = 1u << 20;

void send(HTTPServerResponse& resp, int status, const Poco::Dynamic::Var& body) {
  const auto text = jsonText(body);
  resp.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  resp.setContentType("application/json");
  resp.setContentLength(static_cast<std::streamsize>(text.size()));
  resp.send() << text;
}

Object::Ptr message(const std::string& text) {
  Object::Ptr o = new Object;
  o->set("error", text);
  return o;
}

// Up to `limit` bytes of the request body; the rest is read and dropped, so that the
// client is never reset while it still sends.
std::string readBody(std::istream& in, std::size_t limit) {
  std::string body;
  char buffer[8192];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    auto n = static_cast<std::size_t>(in.gcount());
    if (body.size() < limit) body.append(buffer, std::min(n, limit - body.size()));
  }
  return body;
}

// The "file" part of a multipart upload.
class FilePart : public Poco::Net::PartHandler {
 public:
  explicit FilePart(std::uint64_t max) : max_(max) {}
  void handlePart(const Poco::Net::MessageHeader& header, std::istream& stream) override {
    std::string disposition;
    Poco::Net::NameValueCollection params;
    if (header.has("Content-Disposition"))
      Poco::Net::MessageHeader::splitParameters(header["Content-Disposition"], disposition, params);
    if (params.get("name", "") != "file" || found) {
      readBody(stream, 0);
      return;
    }
    found = true;
    filename = params.get("filename", "");
    bytes = readBody(stream, max_ + 1);
    tooLarge = bytes.size() > max_;
  }
  bool found = false;
  bool tooLarge = false;
  std::string filename;
  std::string bytes;

 private:
  std::uint64_t max_;
};

}  // namespace

std::vector<std::string> readSha256List(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::string> out;
  std::string line;
  for (unsigned n = 1; std::getline(in, line); ++n) {
    std::istringstream words(line);
    std::string word;
    if (!(words >> word) || word.front() == '#') continue;
    bool hex = word.size() == 64;
    for (char c : word) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
    if (!hex) {
      throw std::runtime_error(path + ":" + std::to_string(n) + ": '" + word +
                               "' is not a SHA-256 in hex");
    }
    out.push_back(word);
  }
  return out;
}

struct Emulator::State {
  State(EmulatorOptions o, std::shared_ptr<const sandbox::YaraRules> rules)
      : options(std::move(o)), store(std::move(rules)), latencyMs(options.latency.count()) {}

  const EmulatorOptions options;
  Store store;
  FaultTable faults;
  std::atomic<std::int64_t> latencyMs;
  std::atomic<bool> stopping{false};
  std::mutex sleepMutex;
  std::condition_variable sleepWake;
  std::atomic<std::uint64_t> requests{0}, lookups{0}, uploads{0}, analyses{0}, polls{0}, tasks{0},
      faultCount{0}, refused{0};

  // Sleeps `ms`, or less when the emulator stops; false then.
  bool sleepFor(std::chrono::milliseconds ms) {
    std::unique_lock lock(sleepMutex);
    return !sleepWake.wait_for(lock, ms, [this] { return stopping.load(); });
  }

  Object::Ptr statsJson() {
    Object::Ptr o = new Object;
    o->set("requests", requests.load());
    o->set("lookups", lookups.load());
    o->set("uploads", uploads.load());
    o->set("analyses", analyses.load());
    o->set("polls", polls.load());
    o->set("tasks", tasks.load());
    o->set("faults", faultCount.load());
    o->set("refused", refused.load());
    o->set("samples", store.sampleCount());
    return o;
  }

  Array::Ptr faultList() {
    Array::Ptr a = new Array;
    for (const auto& f : faults.list()) a->add(f.spec);
    return a;
  }

  void control(HTTPServerRequest& req, HTTPServerResponse& resp, const std::string& path) {
    const auto& method = req.getMethod();
    auto body = readBody(req.stream(), kMaxJsonBody);
    if (path == "/_emulator/stats" && method == "GET") return send(resp, 200, statsJson());
    if (path == "/_emulator/faults" && method == "GET") return send(resp, 200, faultList());
    if (path == "/_emulator/faults" && method == "DELETE") {
      faults.clear();
      return send(resp, 200, faultList());
    }
    Object::Ptr o;
    if (method == "POST") {
      try {
        o = Poco::JSON::Parser().parse(body.empty() ? "{}" : body).extract<Object::Ptr>();
      } catch (const Poco::Exception& e) {
        return send(resp, 400, message("not a JSON object: " + e.displayText()));
      }
    }
    if (path == "/_emulator/faults" && o) {
      std::vector<Fault> add;
      try {
        if (auto list = o->getArray("add")) {
          for (const auto& spec : *list) add.push_back(parseFault(spec.convert<std::string>()));
        }
      } catch (const std::exception& e) {
        return send(resp, 400, message(e.what()));
      }
      if (o->optValue("clear", false)) faults.clear();
      for (auto& f : add) faults.add(std::move(f));
      if (o->has("latency_ms")) latencyMs = o->getValue<std::int64_t>("latency_ms");
      if (o->has("analysis_ms"))
        store.setAnalysisTime(std::chrono::milliseconds(o->getValue<std::int64_t>("analysis_ms")));
      return send(resp, 200, faultList());
    }
    if (path == "/_emulator/hashes" && o) {
      const std::pair<const char*, Listed> lists[] = {{"dangerous", Listed::Dangerous},
                                                      {"suspicious", Listed::Suspicious},
                                                      {"failing", Listed::Failing}};
      for (const auto& [key, which] : lists) {
        if (auto list = o->getArray(key)) {
          for (const auto& sha : *list) store.list(which, sha.convert<std::string>());
        }
      }
      return send(resp, 200, statsJson());
    }
    send(resp, 404, message("no such control call: " + method + " " + path));
  }

  // Which call of the API this is, "" for none.
  static std::string callOf(const std::string& method, const std::vector<std::string>& p) {
    const bool get = method == "GET", post = method == "POST";
    if (p.size() == 1) {
      if (p[0] == "login" && post) return "login";
      if (p[0] == "license" && get) return "license";
      if (p[0] == "formats" && get) return "formats";
      if (p[0] == "platforms" && get) return "platforms";
      if (p[0] == "samples") return get ? "lookup" : post ? "upload" : "";
      if (p[0] == "analyses" && post) return "analyze";
    } else if (p.size() == 2) {
      if (p[0] == "samples" && get) return "sample";
      if (p[0] == "analyses" && get) return "poll";
      if (p[0] == "tasks" && get) return "task";
    } else if (p.size() == 3 && p[0] == "tasks" && p[2] == "report" && get) {
      return "report";
    }
    return "";
  }

  // Spoils the answer as `f` says. False when the call should go on (a slow fault).
  bool inject(const Fault& f, HTTPServerRequest& req, HTTPServerResponse& resp) {
    ++faultCount;
    switch (f.kind) {
      case FaultKind::Slow:
        sleepFor(std::chrono::milliseconds(f.delayMs));
        return false;
      case FaultKind::Hang:
        while (sleepFor(std::chrono::hours(1))) {
        }
        return true;
      case FaultKind::Reset: {
        // A zero linger turns close() into a TCP RST (the peer reads ECONNRESET).
        auto& socket = static_cast<Poco::Net::HTTPServerRequestImpl&>(req).socket();
        resp.setKeepAlive(false);
        socket.setLinger(true, 0);
        socket.close();
        return true;
      }
      case FaultKind::BrokenJson: {
        readBody(req.stream(), 0);
        static const std::string broken = "{\"id\": 1, \"tasks\": [{\"id\": 7, \"status\": ";
        resp.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_OK);
        resp.setContentType("application/json");
        resp.setContentLength(static_cast<std::streamsize>(broken.size()));
        resp.send() << broken;
        return true;
      }
      case FaultKind::Status:
        readBody(req.stream(), 0);
        if (f.status == 429 || f.status == 503)
          resp.set("Retry-After", std::to_string(options.retryAfterSeconds));
        if (f.status == 401 || f.status == 403) {
          send(resp, f.status, message("api-key '" + presentedKey(req) + "' is not valid"));
        } else {
          send(resp, f.status, message("emulated HTTP " + std::to_string(f.status)));
        }
        return true;
    }
    return true;
  }

  static std::string presentedKey(const HTTPServerRequest& req) {
    auto auth = req.get("Authorization", "");
    return auth.rfind("api-key ", 0) == 0 ? auth.substr(8) : auth;
  }

  void api(HTTPServerRequest& req, HTTPServerResponse& resp, const std::string& call,
           const std::vector<std::string>& p, const Poco::URI& uri) {
    ++requests;
    if (auto ms = latencyMs.load(); ms > 0 && !sleepFor(std::chrono::milliseconds(ms))) return;
    if (auto f = faults.pick(call); f && inject(*f, req, resp)) return;
    if (call == "upload") return upload(req, resp);
    auto body = readBody(req.stream(), kMaxJsonBody);
    Object::Ptr json;
    if (!body.empty()) {
      try {
        json = Poco::JSON::Parser().parse(body).extract<Object::Ptr>();
      } catch (const Poco::Exception& e) {
        return send(resp, 400, message("the body is not a JSON object: " + e.displayText()));
      }
    }
    if (call == "login") {
      if (json && json->optValue<std::string>("login", "") == options.login &&
          json->optValue<std::string>("password", "") == options.password) {
        Object::Ptr o = new Object;
        o->set("api_key", options.apiKey);
        return send(resp, 200, o);
      }
      return send(resp, 401, message("wrong login or password"));
    }
    if (!authorized(req, resp)) return;
    if (call == "license")
      return send(resp, 200, store.license(uploads.load(), options.maxUploadSize));
    if (call == "formats") return send(resp, 200, store.formats());
    if (call == "platforms") return send(resp, 200, store.platforms());
    Answer a;
    if (call == "lookup") {
      ++lookups;
      std::map<std::string, std::string> filters;
      for (const auto& [k, v] : uri.getQueryParameters()) filters[k] = v;
      if (json) {
        for (const auto& [k, v] : *json) filters[k] = v.isEmpty() ? "" : v.convert<std::string>();
      }
      a = store.findSamples(filters);
    } else if (call == "sample") {
      a = store.sample(p[1]);
    } else if (call == "analyze") {
      if (!json) return send(resp, 400, message("a JSON body is required"));
      a = store.startAnalysis(*json);
      if (a.status < 300) ++analyses;
    } else if (call == "poll") {
      ++polls;
      a = store.analysis(p[1]);
    } else if (call == "task") {
      ++tasks;
      a = store.task(p[1]);
    } else if (call == "report") {
      ++tasks;
      a = store.report(p[1]);
      if (a.status == 200)
        resp.set("Content-Disposition", "attachment; filename=\"report-" + p[1] + ".json\"");
    }
    send(resp, a.status, a.body);
  }

  bool authorized(HTTPServerRequest& req, HTTPServerResponse& resp) {
    if (req.get("Authorization", "") == "api-key " + options.apiKey) return true;
    ++refused;
    if (!req.has("Authorization")) {
      send(resp, 401, message("Authentication credentials were not provided."));
    } else {
      // Echoes the key it was given, as a careless server might: clients must scrub it.
      send(resp, 401, message("api-key '" + presentedKey(req) + "' is not valid"));
    }
    return false;
  }

  void upload(HTTPServerRequest& req, HTTPServerResponse& resp) {
    FilePart part(options.maxUploadSize);
    const bool multipart = req.getContentType().rfind("multipart/form-data", 0) == 0;
    if (multipart) {
      try {
        Poco::Net::HTMLForm form(req, req.stream(), part);
      } catch (const Poco::Exception& e) {
        readBody(req.stream(), 0);
        return send(resp, 400, message("broken multipart body: " + e.displayText()));
      }
    } else {
      readBody(req.stream(), 0);
    }
    if (!authorized(req, resp)) return;
    if (!part.found) {
      Object::Ptr o = new Object;
      Array::Ptr list = new Array;
      list->add("No file was submitted.");
      o->set("file", list);
      return send(resp, 400, o);
    }
    if (part.tooLarge) return send(resp, 413, message("the file is larger than upload_max_size"));
    bool stored = false;
    auto a = store.upload(part.filename, part.bytes, stored);
    ++uploads;
    send(resp, a.status, a.body);
  }

  void handle(HTTPServerRequest& req, HTTPServerResponse& resp) {
    Poco::URI uri(req.getURI());
    const auto& path = uri.getPath();
    if (path.rfind("/_emulator/", 0) == 0) return control(req, resp, path);
    static const std::string prefix = "/api-2.0/";
    std::vector<std::string> parts;
    if (path.rfind(prefix, 0) == 0) {
      std::istringstream rest(path.substr(prefix.size()));
      for (std::string part; std::getline(rest, part, '/');) {
        if (!part.empty()) parts.push_back(part);
      }
    }
    auto call = callOf(req.getMethod(), parts);
    if (call.empty()) {
      readBody(req.stream(), 0);
      return send(resp, 404, message("no such call: " + req.getMethod() + " " + path));
    }
    api(req, resp, call, parts, uri);
  }
};

namespace {

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(std::shared_ptr<Emulator::State> s) : state_(std::move(s)) {}
  void handleRequest(HTTPServerRequest& req, HTTPServerResponse& resp) override {
    try {
      state_->handle(req, resp);
    } catch (const std::exception& e) {
      if (!resp.sent()) send(resp, 500, message(std::string("emulator error: ") + e.what()));
    }
  }

 private:
  std::shared_ptr<Emulator::State> state_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(std::shared_ptr<Emulator::State> s) : state_(std::move(s)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new Handler(state_);
  }

 private:
  std::shared_ptr<Emulator::State> state_;
};

}  // namespace

Emulator::Emulator(EmulatorOptions options) {
  if (options.apiKey.empty()) throw std::invalid_argument("an API key is required");
  if (options.maxThreads < 2) options.maxThreads = 2;
  std::shared_ptr<const sandbox::YaraRules> rules;
  if (!options.yaraRulesDir.empty()) rules = sandbox::YaraRules::compile(options.yaraRulesDir);
  Poco::Net::ServerSocket socket;
  tls_ = !options.tlsCert.empty() || !options.tlsKey.empty();
  try {
    if (tls_) {
      static std::once_flag ssl;
      std::call_once(ssl, [] { Poco::Net::initializeSSL(); });
      using Poco::Net::Context;
      Context::Ptr context = new Context(Context::TLS_SERVER_USE, options.tlsKey, options.tlsCert,
                                         "", Context::VERIFY_NONE);
      socket = Poco::Net::SecureServerSocket(context);
    }
    socket.bind(Poco::Net::SocketAddress(options.listen), true);
    socket.listen(128);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot listen on " + options.listen + ": " + e.displayText());
  }
  host_ = socket.address().host().toString();
  port_ = socket.address().port();
  const int threads = options.maxThreads;
  state_ = std::make_shared<State>(std::move(options), std::move(rules));
  state_->store.setAnalysisTime(state_->options.analysisTime);
  for (const auto& sha : state_->options.dangerousSha256)
    state_->store.list(Listed::Dangerous, sha);
  for (const auto& sha : state_->options.suspiciousSha256)
    state_->store.list(Listed::Suspicious, sha);
  for (const auto& sha : state_->options.failingSha256) state_->store.list(Listed::Failing, sha);
  for (const auto& f : state_->options.faults) state_->faults.add(f);

  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(threads);
  params->setMaxQueued(1024);
  params->setKeepAlive(true);
  params->setTimeout(Poco::Timespan(30, 0));
  // Poco's dispatcher may leave a thread waiting out its idle time after stopAll(), and
  // stop() joins the pool: keep that wait short.
  params->setThreadIdleTime(Poco::Timespan(0, 100000));
  pool_ = std::make_unique<Poco::ThreadPool>(2, threads);
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(state_), *pool_, socket, params);
  server_->start();
}

Emulator::~Emulator() {
  stop();
}

std::string Emulator::baseUrl() const {
  auto host = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  return (tls_ ? "https://" : "http://") + host + ":" + std::to_string(port_) + "/api-2.0/";
}

void Emulator::addFault(Fault fault) {
  state_->faults.add(std::move(fault));
}
void Emulator::clearFaults() {
  state_->faults.clear();
}
void Emulator::setLatency(std::chrono::milliseconds latency) {
  state_->latencyMs = latency.count();
}
void Emulator::setAnalysisTime(std::chrono::milliseconds time) {
  state_->store.setAnalysisTime(time);
}
void Emulator::list(Listed which, const std::string& sha256) {
  state_->store.list(which, sha256);
}

EmulatorStats Emulator::stats() const {
  EmulatorStats s;
  const auto& st = *state_;
  s.requests = st.requests;
  s.lookups = st.lookups;
  s.uploads = st.uploads;
  s.analyses = st.analyses;
  s.polls = st.polls;
  s.tasks = st.tasks;
  s.faults = st.faultCount;
  s.refused = st.refused;
  s.samples = st.store.sampleCount();
  return s;
}

void Emulator::stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(state_->sleepMutex);
    state_->stopping = true;
  }
  state_->sleepWake.notify_all();
  server_->stopAll(true);
  pool_->joinAll();
}

}  // namespace bccsink::emulator
