#include "report/http/ApiHandlers.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cmath>

#include "base/Clock.h"
#include "base/JsonText.h"
#include "base/Text.h"
#include "db/FileRepository.h"
#include "db/MessageQueue.h"
#include "db/MessageSearch.h"
#include "db/ReportQueue.h"
#include "db/RetroReports.h"
#include "db/SpooledMessage.h"
#include "report/ReportBuilder.h"
#include "report/ReportJson.h"
#include "report/Reporter.h"
#include "report/http/ApiQuery.h"
#include "report/http/Quarantine.h"
#include "report/retro/RetroJson.h"
#include "report/spoof/MessageHeaders.h"

#ifndef BCCSINK_VERSION
#define BCCSINK_VERSION "unknown"
#endif

namespace bccsink::report {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

const std::set<std::string> kVerdicts = {"clean", "suspicious", "dangerous", "unscanned"};
const std::set<std::string> kStates = {db::state::kPending, db::state::kAnalyzing,
                                       db::state::kChecked, db::state::kReported,
                                       db::state::kFailed};
constexpr std::size_t kMaxFileSightings = 1000;
// The Subject of a listed message is read from its spooled copy: its headers only.
constexpr std::size_t kSubjectReadBytes = 64 * 1024;
// A SinkName as a filter: longer is no sink's.
constexpr std::size_t kMaxSinkName = 255;

Object::Ptr ordered() {
  return new Object(Poco::JSON_PRESERVE_KEY_ORDER);
}

ApiResponse json(int status, const Object::Ptr& body) {
  return {status, jsonText(body), "", "", ""};
}

ApiResponse error(int status, const std::string& message) {
  return {status, errorJson(message), "", "", ""};
}

ApiResponse notAllowed(const std::string& allow) {
  return {405, errorJson("method not allowed here (allowed: " + allow + ")"), allow, "", ""};
}

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 1;  // after the leading '/'
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    parts.push_back(path.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

// Queue ids are ULIDs; anything else cannot name a message.
bool plausibleId(const std::string& id) {
  return !id.empty() && id.size() <= 64 &&
         std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isalnum(c); });
}

std::string subjectOf(const std::string& spoolDir, const std::string& spoolFile) {
  if (spoolFile.empty()) return "";
  try {
    return MessageHeaders::read(spoolDir, spoolFile, kSubjectReadBytes).decoded("Subject");
  } catch (const std::exception&) {
    return "";  // the spool file is gone or unreadable: the list still shows the row
  }
}

// What a sink says of a message whose spool file another sink holds.
std::string heldBy(const std::string& id, const std::string& sink) {
  return "message " + id + " is held by sink " + sink + ": its headers and content are in " + sink +
         "'s spool, served by " + sink + "'s API";
}

// Endpoints that take no parameter say so rather than ignore one (a typo, say).
void noParameters(const std::string& rawQuery) {
  ApiQuery q(rawQuery, {});
}

}  // namespace

std::uint64_t diskFreeBytes(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

const char* bccsinkVersion() {
  return BCCSINK_VERSION;
}

std::string errorJson(const std::string& message) {
  auto o = ordered();
  o->set("error", message);
  return jsonText(o);
}

ApiHandlers::ApiHandlers(ApiContext context) : context_(std::move(context)) {}

ApiResponse ApiHandlers::handle(const std::string& method, const std::string& path,
                                const std::string& rawQuery,
                                const std::function<db::Database&()>& database,
                                const std::string& client) const {
  const auto parts = split(path);  // "api", ...
  const bool read = method == "GET" || method == "HEAD";
  try {
    if (parts.size() == 2 && parts[1] == "overview") {
      if (!read) return notAllowed("GET, HEAD");
      noParameters(rawQuery);
      return overview(database());
    }
    if (parts.size() == 2 && parts[1] == "messages") {
      if (!read) return notAllowed("GET, HEAD");
      return messages(rawQuery, database());
    }
    if (parts.size() == 3 && parts[1] == "messages") {
      if (!read) return notAllowed("GET, HEAD");
      noParameters(rawQuery);
      return message(parts[2], database());
    }
    if (parts.size() == 4 && parts[1] == "messages" && parts[3] == "raw") {
      if (!read) return notAllowed("GET, HEAD");
      noParameters(rawQuery);
      return raw(parts[2], database());
    }
    if (parts.size() == 4 && parts[1] == "messages" && parts[3] == "resend") {
      if (method != "POST") return notAllowed("POST");
      noParameters(rawQuery);
      return resend(parts[2], database());
    }
    if (parts.size() == 3 && parts[1] == "files") {
      if (!read) return notAllowed("GET, HEAD");
      noParameters(rawQuery);
      return file(parts[2], database());
    }
    if (parts.size() == 2 && parts[1] == "stats") {
      if (!read) return notAllowed("GET, HEAD");
      return stats(rawQuery, database());
    }
    if (parts.size() == 2 && parts[1] == "quarantine") {
      if (!read) return notAllowed("GET, HEAD");
      return quarantine(rawQuery, database());
    }
    if (parts.size() == 3 && parts[1] == "quarantine") {
      if (!read) return notAllowed("GET, HEAD");
      noParameters(rawQuery);
      return held(parts[2], database());
    }
    if (parts.size() == 4 && parts[1] == "quarantine" &&
        (parts[3] == "release" || parts[3] == "delete")) {
      if (method != "POST") return notAllowed("POST");
      noParameters(rawQuery);
      return changeHeld(parts[2], parts[3], client, database());
    }
    if (parts.size() == 2 && parts[1] == "retro") {
      if (!read) return notAllowed("GET, HEAD");
      return retroList(rawQuery, database());
    }
    if (parts.size() == 3 && parts[1] == "retro") {
      if (!read) return notAllowed("GET, HEAD");
      noParameters(rawQuery);
      return retroAlert(parts[2], database());
    }
    if (parts.size() == 4 && parts[1] == "retro" && parts[3] == "resend") {
      if (method != "POST") return notAllowed("POST");
      noParameters(rawQuery);
      return retroResend(parts[2], database());
    }
  } catch (const ApiQueryError& e) {
    return error(400, e.what());
  }
  return error(404, "no such API endpoint: " + path.substr(0, 200));
}

ApiResponse ApiHandlers::overview(db::Database& db) const {
  auto o = ordered();
  auto byState = db::MessageQueue(db).countByState();
  auto queue = ordered();
  for (const char* s : {db::state::kPending, db::state::kAnalyzing, db::state::kChecked,
                        db::state::kReported, db::state::kFailed}) {
    queue->set(s, byState.count(s) ? byState[s] : 0);
  }
  o->set("queue", queue);
  auto byStatus = db::ReportQueue(db).countByStatus();
  auto reports = ordered();
  for (const char* s :
       {db::report_status::kDue, db::report_status::kSent, db::report_status::kUndeliverable}) {
    reports->set(s, byStatus.count(s) ? byStatus[s] : 0);
  }
  o->set("reports", reports);
  auto retroByStatus = db::RetroReports(db).countByStatus();  // retro-alerts by report status
  auto retro = ordered();
  for (const char* st : {db::report_status::kDue, db::report_status::kSent,
                         db::report_status::kUndeliverable, db::report_status::kNone}) {
    retro->set(st, retroByStatus.count(st) ? retroByStatus[st] : 0);
  }
  o->set("retro_alerts", retro);
  Array::Ptr analyzers = new Array;
  if (context_.analyzers) {
    for (const auto& a : context_.analyzers()) {
      auto j = ordered();
      j->set("name", a.name);
      j->set("submitted", a.submitted);
      j->set("answered", a.answeredTotal());
      j->set("errors", a.errors);
      j->set("in_flight", static_cast<std::uint64_t>(a.inFlight));
      j->set("latency_ms_p50",
             static_cast<std::int64_t>(std::llround(a.latencyQuantile(0.5) * 1000)));
      j->set("healthy", a.healthy);
      j->set("last_error", a.lastError);
      analyzers->add(j);
    }
  }
  o->set("analyzers", analyzers);
  if (context_.slo) {
    // Time to verdict (README "Time to verdict"): the dashboard's SLO tile.
    const auto r = context_.slo(db);
    auto slo = ordered();
    slo->set("target_seconds", static_cast<std::int64_t>(r.target.count()));
    slo->set("ratio", r.ratio);
    slo->set("within", r.within);
    slo->set("late", r.late);
    slo->set("overdue", r.overdue);
    slo->set("oldest_pending_seconds", r.oldestWaitingSeconds);
    o->set("verdict_slo", slo);
  }
  o->set("spool_free_bytes", diskFreeBytes(context_.spoolDir));
  o->set("version", std::string(bccsinkVersion()));
  o->set("now", isoNow());
  return json(200, o);
}

ApiResponse ApiHandlers::messages(const std::string& rawQuery, db::Database& db) const {
  ApiQuery q(rawQuery, {"verdict", "state", "sender", "sink", "since", "until", "limit"});
  db::MessageQuery mq;
  mq.sink = q.text("sink", kMaxSinkName);
  mq.verdict = q.oneOf("verdict", kVerdicts);
  mq.state = q.oneOf("state", kStates);
  mq.senderContains = q.text("sender", 320);
  mq.since = q.isoTime("since");
  mq.until = q.isoTime("until");
  mq.limit = q.number("limit", 100, 1, 1000);
  if (!mq.since.empty() && !mq.until.empty() && mq.until < mq.since)
    return error(400, "until is before since");
  Array::Ptr list = new Array;
  for (const auto& m : db::MessageSearch(db).find(mq)) {
    // Another sink's spool file is not here (and a file of the same name here is not it).
    list->add(messageJson(m, heldHere(m.sink) ? subjectOf(context_.spoolDir, m.spoolFile) : ""));
  }
  auto o = ordered();
  o->set("messages", list);
  o->set("count", static_cast<std::uint64_t>(list->size()));
  return json(200, o);
}

ApiResponse ApiHandlers::message(const std::string& id, db::Database& db) const {
  auto m = plausibleId(id) ? db::MessageQueue(db).find(id) : std::nullopt;
  if (!m) return error(404, "no message " + id.substr(0, 64));
  if (m->state == db::state::kPending || m->state == db::state::kAnalyzing) {
    auto o = ordered();
    o->set("error", "message " + id + " is " + m->state + ": its report exists once it is checked");
    o->set("state", m->state);
    return json(404, o);
  }
  // Another sink's message: what the database holds (verdicts, files, envelope, delivery),
  // without the headers of its spooled copy, and which sink has them.
  const bool here = heldHere(m->sink);
  auto o = toJson(here ? Reporter::load(db, *m, context_.spoolDir, context_.skipTopReceived)
                       : buildReport(db, *m, MessageHeaders()));
  addDelivery(*o, *m);
  o->set("sink", m->sink);
  o->set("content_here", here);
  if (!here) o->set("content_error", heldBy(id, m->sink));
  // Retention (issue 17): the report above came from the row alone.
  o->set("content_expired", !m->contentExpiredAt.empty());
  if (!m->contentExpiredAt.empty()) o->set("content_expired_at", m->contentExpiredAt);
  o->set("retro", retroMentionsJson(db::RetroReports(db).ofMessage(m->id)));
  return json(200, o);
}

ApiResponse ApiHandlers::raw(const std::string& id, db::Database& db) const {
  auto m = plausibleId(id) ? db::MessageQueue(db).find(id) : std::nullopt;
  if (!m) return error(404, "no message " + id.substr(0, 64));
  if (!heldHere(m->sink)) {
    // 421 Misdirected Request (RFC 9110 section 15.5.20): not this server's to answer.
    auto o = ordered();
    o->set("error", heldBy(id, m->sink));
    o->set("sink", m->sink);
    return json(421, o);
  }
  if (auto gone = contentExpiredText(*m); !gone.empty()) {
    // 410 Gone (RFC 9110 section 15.5.11): retention deleted it, for good.
    auto o = ordered();
    o->set("error", gone);
    o->set("content_expired_at", m->contentExpiredAt);
    return json(410, o);
  }
  try {
    db::SpooledMessage message(context_.spoolDir, m->spoolFile);
    return {200, std::string(message.bytes()), "", "message/rfc822", id + ".eml"};
  } catch (const std::exception& e) {
    Poco::Logger::get("bccsink.http").warning("api: raw %s: %s", id, std::string(e.what()));
    return error(404, "the spooled copy of message " + id + " cannot be read (see the log)");
  }
}

ApiResponse ApiHandlers::resend(const std::string& id, db::Database& db) const {
  auto m = plausibleId(id) ? db::MessageQueue(db).find(id) : std::nullopt;
  if (!m) return error(404, "no message " + id.substr(0, 64));
  bool queued = context_.resend ? context_.resend(db, id) : db::ReportQueue(db).requeue(id);
  if (!queued) {
    auto o = ordered();
    o->set("error", m->reportStatus.empty()
                        ? "message " + id + " is " + m->state + ": not judged by the reporter yet"
                    : m->reportStatus == db::report_status::kDue
                        ? "the report of message " + id + " is queued already"
                        : "message " + id + " cannot be resent now");
    o->set("state", m->state);
    return json(409, o);
  }
  auto o = ordered();
  o->set("id", id);
  o->set("report", std::string(db::report_status::kDue));
  return json(202, o);
}

ApiResponse ApiHandlers::file(const std::string& sha256, db::Database& db) const {
  if (sha256.size() != 64 ||
      sha256.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
    return error(400, "a file is named by its SHA-256: 64 hexadecimal digits");
  std::string key = lower(sha256);
  db::FileRepository files(db);
  auto row = files.find(key);
  if (!row) return error(404, "no file " + key);
  Array::Ptr messages = new Array;
  for (const auto& s : db::MessageSearch(db).messagesWithFile(key, kMaxFileSightings)) {
    messages->add(sightingJson(s));
  }
  auto o = ordered();
  o->set("file", fileJson(*row, files.verdicts(key)));
  o->set("messages", messages);
  return json(200, o);
}

ApiResponse ApiHandlers::stats(const std::string& rawQuery, db::Database& db) const {
  ApiQuery q(rawQuery, {"since", "sink"});
  auto since = q.isoTime("since");
  if (since.empty()) since = isoSecondsAgo(24 * 3600);
  auto sink = q.text("sink", kMaxSinkName);
  if (!context_.stats) return error(503, "statistics not available");
  return {200, context_.stats(db, since, sink), "", "", ""};
}

ApiResponse ApiHandlers::quarantine(const std::string& rawQuery, db::Database& db) const {
  ApiQuery q(rawQuery, {"sink", "state", "limit"});
  auto sink = q.text("sink", kMaxSinkName);
  auto state = q.oneOf("state", holdStates());
  auto limit = q.number("limit", 100, 1, 1000);
  Array::Ptr list = new Array;
  for (const auto& e : listQuarantine(
           db, state.empty() ? std::vector<std::string>{} : std::vector<std::string>{state}, sink,
           limit)) {
    list->add(quarantineJson(e));
  }
  auto o = ordered();
  o->set("messages", list);
  o->set("count", static_cast<std::uint64_t>(list->size()));
  return json(200, o);
}

ApiResponse ApiHandlers::held(const std::string& id, db::Database& db) const {
  auto h = plausibleId(id) ? db::HoldQueue(db).find(id) : std::nullopt;
  if (!h) return error(404, "no such message in the hold queue: " + id.substr(0, 64));
  return json(200, quarantineDetailJson(*h, db::MessageQueue(db).find(id)));
}

ApiResponse ApiHandlers::changeHeld(const std::string& id, const std::string& action,
                                    const std::string& client, db::Database& db) const {
  if (!plausibleId(id)) return error(404, "no such message in the hold queue: " + id.substr(0, 64));
  const std::string by = "api:" + (client.empty() ? std::string("unknown") : client);
  auto c = action == "release" ? releaseHeld(db, id, by, nowMs()) : deleteHeld(db, id, by, nowMs());
  if (c.result == QuarantineChange::Unknown) return error(404, c.error);
  auto o = ordered();
  if (c.result == QuarantineChange::WrongState) {
    o->set("error", c.error);
    o->set("state", c.held.state);
    return json(409, o);
  }
  Poco::Logger::get("bccsink.http")
      .notice("quarantine: %s %s by %s (sink %s)", action, id, by, c.held.sink);
  o->set("id", id);
  o->set("state", c.held.state);
  o->set("sink", c.held.sink);
  o->set("released_by", c.held.releasedBy);
  o->set("released_at", heldTime(c.held.releasedMs));
  // A released message goes out from the sink that received it, whichever sink answered.
  if (action == "release") o->set("delivered_by", c.held.sink);
  return json(200, o);
}

ApiResponse ApiHandlers::retroList(const std::string& rawQuery, db::Database& db) const {
  ApiQuery q(rawQuery, {"sink", "status", "since", "until", "limit"});
  db::RetroQuery rq;
  rq.sink = q.text("sink", kMaxSinkName);
  rq.status = q.oneOf("status", {db::report_status::kDue, db::report_status::kSent,
                                 db::report_status::kUndeliverable, db::report_status::kNone});
  rq.since = q.isoTime("since");
  rq.until = q.isoTime("until");
  rq.limit = q.number("limit", 100, 1, 1000);
  if (!rq.since.empty() && !rq.until.empty() && rq.until < rq.since)
    return error(400, "until is before since");
  Array::Ptr list = new Array;
  for (const auto& a : db::RetroReports(db).list(rq)) list->add(retroAlertJson(a, false));
  auto o = ordered();
  o->set("alerts", list);
  o->set("count", static_cast<std::uint64_t>(list->size()));
  return json(200, o);
}

ApiResponse ApiHandlers::retroAlert(const std::string& id, db::Database& db) const {
  auto a = plausibleId(id) ? db::RetroReports(db).find(id) : std::nullopt;
  if (!a) return error(404, "no retro-alert " + id.substr(0, 64));
  return json(200, retroAlertJson(*a, true));
}

ApiResponse ApiHandlers::retroResend(const std::string& id, db::Database& db) const {
  db::RetroReports retro(db);
  auto a = plausibleId(id) ? retro.find(id) : std::nullopt;
  if (!a) return error(404, "no retro-alert " + id.substr(0, 64));
  // The sink that found it delivers it, within its reporter's sweep.
  if (!retro.requeue(id)) return error(409, "the retro report of " + id + " is queued already");
  auto o = ordered();
  o->set("id", id);
  o->set("report", std::string(db::report_status::kDue));
  o->set("sink", a->sink);
  return json(202, o);
}

bool ApiHandlers::heldHere(const std::string& sink) const {
  return context_.sinkName.empty() || sink == context_.sinkName;
}

}  // namespace bccsink::report
