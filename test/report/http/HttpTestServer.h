#pragma once
// A real HttpServer on 127.0.0.1:0 over a real SQLite queue and spool holding a few
// messages, and a small client, for the Http*_test files.

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/FileRepository.h"
#include "db/MessageFiles.h"
#include "db/MessageQueue.h"
#include "db/ReportQueue.h"
#include "report/http/HttpServer.h"
#include "test/TempDir.h"

namespace bccsink::test {

struct HttpAnswer {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  Poco::JSON::Object::Ptr json() const {
    return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
  }
};

// The messages every test finds (ids sort by time, like ULIDs):
//   kDangerous  checked dangerous, EICAR attached, report sent       (01:00)
//   kClean      checked clean, notes.txt, nothing to report           (02:00)
//   kPending    pending, sender with LIKE's special characters        (03:00)
//   kUnjudged   checked suspicious, not judged by the reporter yet    (04:00)
inline const std::string kDangerous = "01JDANGER0000000000000000A";
inline const std::string kClean = "01JCLEAN00000000000000000B";
inline const std::string kPending = "01JPENDING000000000000000C";
inline const std::string kUnjudged = "01JUNJUDGED00000000000000D";
inline const std::string kEicarSha = std::string(60, 'e') + "1234";
inline const std::string kNotesSha = std::string(64, 'c');
inline const std::string kToken = "s3cret-token";

class HttpTestServer {
 public:
  explicit HttpTestServer(std::string token = kToken) : token_(std::move(token)) {
    // As the daemon does (sink/main.cpp): an answer written to a client that has gone
    // must be an error, not the end of the process.
    std::signal(SIGPIPE, SIG_IGN);
    database.migrate();
    std::filesystem::create_directories(spool);
    add(kDangerous, "alice@example.org", "2026-11-30T01:00:00.000Z", "EICAR inside");
    add(kClean, "bob@Example.NET", "2026-11-30T02:00:00.000Z", "=?utf-8?q?quarterly_notes?=");
    add(kUnjudged, "dave@example.org", "2026-11-30T04:00:00.000Z", "macro");
    db::FileRepository files(database);
    files.recordSeen({fileRow(kEicarSha, '4', 68, "EICAR test", "script"),
                      fileRow(kNotesSha, '5', 18, "ASCII text", "text")},
                     "2026-11-30T01:00:00.000Z");
    db::StoredVerdict v;
    v.sha256 = kEicarSha;
    v.analyzer = "yara";
    v.verdict = "dangerous";
    v.threats = {"EICAR_Test_File"};
    v.decidedAt = "2026-11-30T01:00:01.000Z";
    v.decidedMs = 1;
    files.recordVerdict(v);
    check(kDangerous, "dangerous", {{kEicarSha, "eicar.com", "dangerous"}});
    check(kClean, "clean", {{kNotesSha, "notes.txt", "clean"}});
    check(kUnjudged, "suspicious", {});
    add(kPending, "carol_x%@example.org", "2026-11-30T03:00:00.000Z", "still waiting");
    db::ReportQueue reports(database);
    reports.judge(kDangerous, false, "", true);
    reports.markSent({kDangerous}, "2026-11-30T01:00:02.000Z");
    reports.judge(kClean, false, "", false);
  }

  ~HttpTestServer() {
    if (server) server->stop();
  }

  // Starts the server with `api` (spoolDir filled in).
  void start(report::ApiContext api = {}, report::HttpSettings settings = {}) {
    api.spoolDir = spool;
    settings.socket = "127.0.0.1:0";
    settings.token = token_;
    settings.databaseUrl = url;
    server = std::make_unique<report::HttpServer>(settings, std::move(api));
    server->start();
    port = static_cast<Poco::UInt16>(std::stoi(server->boundAddress().substr(10)));
  }

  // One request; `token` '' sends no Authorization header.
  HttpAnswer request(const std::string& method, const std::string& uri,
                     const std::string& token = kToken, const std::string& body = "") {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest req(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!token.empty()) req.set("Authorization", "Bearer " + token);
    if (!body.empty()) req.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    auto& in = session.receiveResponse(resp);
    HttpAnswer a;
    a.status = resp.getStatus();
    for (const auto& [k, v] : resp) a.headers[k] = v;
    Poco::StreamCopier::copyToString(in, a.body);
    return a;
  }
  HttpAnswer get(const std::string& uri, const std::string& token = kToken) {
    return request("GET", uri, token);
  }

  TempDir dir;
  std::string url = "sqlite:" + (dir / "q.db");
  std::string spool = dir / "spool";
  db::Database database{url};
  std::unique_ptr<report::HttpServer> server;
  Poco::UInt16 port = 0;

  // A pending message from `sender` with its spooled copy (a test may add its own).
  void add(const std::string& id, const std::string& sender, const std::string& at,
           const std::string& subject) {
    std::ofstream(spool + "/" + id + ".eml")
        << "Received: from mta.example.com (unknown [127.0.0.1])\r\n\tby sink.test; Mon, 30 "
           "Nov 2026 02:00:00 +0000\r\nFrom: "
        << sender << "\r\nTo: staff@example.com\r\nSubject: " << subject << "\r\nMessage-ID: <"
        << id << "@example.org>\r\n\r\nbody\r\n";
    db::MessageRecord r;
    r.id = id;
    r.sink = "sink-a";
    r.receivedAt = at;
    r.sender = sender;
    // A recipient_bcc_maps copy: its recipient carries the original one, staff@example.com.
    r.recipients = {{"watch+staff=example.com@bcc.test", "", ""}};
    r.clientIp = "127.0.0.1";
    r.helo = "mta.example.com";
    r.headerMessageId = "<" + id + "@example.org>";
    r.size = 100;
    r.sha256 = std::string(64, '0');
    r.spoolFile = id + ".eml";
    db::MessageQueue(database).insertPending({r});
  }

 private:
  static db::FileRow fileRow(const std::string& sha256, char md5, std::int64_t size,
                             const std::string& description, const std::string& family) {
    db::FileRow f;
    f.sha256 = sha256;
    f.md5 = std::string(32, md5);
    f.size = size;
    f.trueType = "text/plain";
    f.description = description;
    f.family = family;
    return f;
  }

  struct Found {
    std::string sha256, name, verdict;
  };

  void check(const std::string& id, const std::string& verdict, const std::vector<Found>& found) {
    db::MessageQueue queue(database);
    // Claims the oldest pending message: add() order is claim order.
    auto m = queue.claimNext("sink-a", nowMs() + 60000, nowMs() + 60000, isoNow());
    ASSERT_TRUE(m && m->id == id) << id;
    std::vector<db::MessageFile> files;
    int position = 0;
    for (const auto& f : found) {
      db::MessageFile mf;
      mf.position = position++;
      mf.sha256 = f.sha256;
      mf.name = f.name;
      mf.path = f.name;
      mf.extension = f.name.substr(f.name.rfind('.') + 1);
      mf.size = 10;
      mf.selected = true;
      mf.verdict = f.verdict;
      files.push_back(mf);
    }
    db::MessageFiles(database).save(id, files, "", isoNow());
    ASSERT_TRUE(queue.markChecked(id, "sink-a", verdict, "2026-11-30T05:00:00.000Z"));
  }

  std::string token_;
};

}  // namespace bccsink::test
