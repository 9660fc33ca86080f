#include "report/stats/StatsExporter.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <memory>
#include <mutex>
#include <stdexcept>

#include "base/Text.h"

#ifndef BCCSINK_VERSION
#define BCCSINK_VERSION "0"
#endif

namespace bccsink::report {
namespace {

std::once_flag sslOnce;

}  // namespace

StatsExporter::StatsExporter(ExportSettings settings) : settings_(std::move(settings)) {
  Poco::URI uri;
  try {
    uri = Poco::URI(settings_.url);
  } catch (const Poco::Exception& e) {
    throw std::invalid_argument("StatsExportUrl: '" + settings_.url +
                                "' is not a URL: " + e.message());
  }
  scheme_ = Poco::toLower(uri.getScheme());
  if ((scheme_ != "https" && scheme_ != "http") || uri.getHost().empty() ||
      !uri.getUserInfo().empty() || !uri.getFragment().empty()) {
    throw std::invalid_argument("StatsExportUrl: '" + settings_.url +
                                "' is not an https:// URL without user or fragment");
  }
  host_ = uri.getHost();
  port_ = uri.getPort();
  path_ = uri.getPathAndQuery();
  if (path_.empty()) path_ = "/";
  if (scheme_ == "https") {
    std::call_once(sslOnce, [] { Poco::Net::initializeSSL(); });
    using Poco::Net::Context;
    try {
      // Verification on, always: the statistics are the site's traffic in summary. STRICT,
      // because Poco's RELAXED skips the name check for a loopback host.
      context_ = new Context(Context::TLS_CLIENT_USE, settings_.caFile, Context::VERIFY_STRICT, 9,
                             settings_.caFile.empty());
      context_->enableExtendedCertificateVerification(true);
    } catch (const Poco::Exception& e) {
      throw std::invalid_argument("StatsExportCaFile: cannot load '" + settings_.caFile +
                                  "': " + e.displayText());
    }
    try {
      applyTlsProfile(*context_, settings_.tlsProfile);
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(e.what());
    }
  }
}

StatsExporter::~StatsExporter() = default;

void StatsExporter::cancel() {
  cancelled_ = true;
  std::lock_guard lock(activeMutex_);
  if (active_ == nullptr) return;
  try {
    // Only a shutdown: it wakes the thread blocked on the socket, which closes it itself.
    active_->socket().shutdown();
  } catch (const Poco::Exception&) {
  }
}

ExportResult StatsExporter::post(const std::string& json) {
  if (cancelled_) return {false, "shutting down"};
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  if (scheme_ == "https") {
    session = std::make_unique<Poco::Net::HTTPSClientSession>(host_, port_, context_);
  } else {
    session = std::make_unique<Poco::Net::HTTPClientSession>(host_, port_);
  }
  const Poco::Timespan timeout(settings_.timeout.count() * 1000);
  session->setTimeout(timeout, timeout, timeout);
  {
    std::lock_guard lock(activeMutex_);
    active_ = session.get();
  }
  struct Unregister {
    StatsExporter& e;
    ~Unregister() {
      std::lock_guard lock(e.activeMutex_);
      e.active_ = nullptr;
    }
  } unregister{*this};
  if (cancelled_) return {false, "shutting down"};
  try {
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, path_,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(json.size()));
    request.setKeepAlive(false);
    request.set("User-Agent", "bccsink/" BCCSINK_VERSION);
    session->sendRequest(request) << json;
    Poco::Net::HTTPResponse response;
    auto& in = session->receiveResponse(response);
    // The answer's body is not needed (nor logged); read a little so the collector sees a
    // clean close.
    char buffer[4096];
    std::size_t read = 0;
    while (read < 65536 && (in.read(buffer, sizeof buffer) || in.gcount() > 0)) {
      read += static_cast<std::size_t>(in.gcount());
    }
    int status = static_cast<int>(response.getStatus());
    if (status >= 200 && status < 300) return {true, ""};
    return {false,
            "HTTP " + std::to_string(status) + " " + printableAscii(response.getReason(), 80)};
  } catch (const Poco::TimeoutException&) {
    return {false, "no answer within " + std::to_string(settings_.timeout.count()) + " ms"};
  } catch (const Poco::Exception& e) {
    return {false, printableAscii(e.displayText())};
  } catch (const std::exception& e) {
    return {false, printableAscii(e.what())};
  }
}

}  // namespace bccsink::report
