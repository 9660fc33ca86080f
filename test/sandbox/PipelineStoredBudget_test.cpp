// The daemon's workers keep a message's stored-content budget (issue 18, finding 4): the
// files past it are analysed from memory, their rows say they were not kept, and the
// report says which and why. Against a real SQLite queue and spool folder.

#include <Poco/Base64Encoder.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "db/Database.h"
#include "db/MessageFiles.h"
#include "db/MessageQueue.h"
#include "report/ReportBuilder.h"
#include "report/ReportJson.h"
#include "report/ReportView.h"
#include "sandbox/Pipeline.h"
#include "sandbox/extract/Digest.h"
#include "sandbox/extract/FileType.h"
#include "sandbox/extract/Selection.h"
#include "test/TempDir.h"
#include "test/sandbox/extract/ZipWriter.h"

using namespace bccsink;
using namespace bccsink::sandbox;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;
const std::string kMarker = "bccsink-not-kept-marker-42";

// Reads each file as the real analyzers do (the store's path, or the bytes held in
// memory when not kept) and answers at once: dangerous when it holds kMarker.
class ReadingAnalyzer : public Analyzer {
 public:
  std::string name() const override { return "reading"; }
  void analyze(const Submission& file, std::function<void(Verdict)> done) override {
    std::string bytes;
    if (file.bytes) {
      bytes = *file.bytes;
    } else {
      std::ifstream in(file.path, std::ios::binary);
      std::stringstream s;
      s << in.rdbuf();
      bytes = s.str();
    }
    {
      std::lock_guard lock(mutex_);
      (file.bytes ? fromMemory : fromStore).push_back(file.name);
    }
    Verdict v;
    v.analyzer = "reading";
    v.kind = bytes.empty()                              ? VerdictKind::Unscanned
             : bytes.find(kMarker) != std::string::npos ? VerdictKind::Dangerous
                                                        : VerdictKind::Clean;
    if (v.kind == VerdictKind::Dangerous) v.threats = {"Test.Marker"};
    done(v);
  }
  std::mutex mutex_;
  std::vector<std::string> fromMemory, fromStore;
};

std::string mail(const std::string& zip) {
  std::ostringstream m;
  m << "From: a@example.org\r\nTo: b@example.org\r\nMessage-ID: <budget@t>\r\nSubject: t\r\n"
    << "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n--b0\r\n"
    << "Content-Type: text/plain\r\n\r\nsee attached\r\n--b0\r\n"
    << "Content-Type: application/zip; name=\"parts.zip\"\r\n"
    << "Content-Disposition: attachment; filename=\"parts.zip\"\r\n"
    << "Content-Transfer-Encoding: base64\r\n\r\n";
  std::ostringstream b64;
  {
    Poco::Base64Encoder enc(b64);
    enc.rdbuf()->setLineLength(76);
    enc << zip;
  }
  for (char c : b64.str()) {
    if (c == '\n') m << "\r";
    m << c;
  }
  m << "\r\n--b0--\r\n";
  return m.str();
}

std::uint64_t usedBy(const std::string& dir) {
  std::uint64_t total = 0;
  if (!std::filesystem::exists(dir)) return 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

}  // namespace

TEST(PipelineStoredBudget, FilesPastTheBudgetAreAnalysedFromMemoryAndReportedNotKept) {
  test::TempDir dir;
  const std::string url = "sqlite:" + (dir / "q.db");
  const std::string spool = dir / "spool";
  std::filesystem::create_directories(spool);
  db::Database database(url);
  database.migrate();
  db::MessageQueue queue(database);
  FileTyper typer;
  ExtractLimits limits;
  limits.archive.maxRatio = 100000;  // very compressible members: not a bomb here
  Extractor extractor(typer, parseSelection(defaultFileTypes(), 0), limits);
  ContentStore store(dir / "files");
  auto analyzer = std::make_shared<ReadingAnalyzer>();

  // Five 1 MiB members (the fifth the first's bytes again) in a message of a few KB.
  auto member = [](char fill, bool bad) {
    return std::string(kMiB, fill) + (bad ? kMarker : std::string("plain tail"));
  };
  const auto bytes = mail(test::zip({{"m1.com", member('1', false)},
                                     {"m2.com", member('2', false)},
                                     {"m3.com", member('3', false)},
                                     {"m4.com", member('4', true)},
                                     {"m5.com", member('1', false)}}));
  std::ofstream(spool + "/01BUDGET.eml", std::ios::binary) << bytes;
  db::MessageRecord r;
  r.id = "01BUDGET";
  r.sink = "sink-a";
  r.receivedAt = "2026-12-06T14:00:00.000Z";
  r.sender = "a@example.org";
  r.recipients = {{"w@bcc.test", "", ""}};
  r.size = static_cast<std::int64_t>(bytes.size());
  r.sha256 = digest(bytes).sha256;
  r.spoolFile = "01BUDGET.eml";
  queue.insertPending({r});

  PipelineSettings s;
  s.databaseUrl = url;
  s.spoolDir = spool;
  s.owner = "sink-a";
  s.workers = 1;
  s.lease = 60s;
  s.analysisTimeout = 30s;
  s.idlePoll = 20ms;
  s.sweepInterval = 50ms;
  s.maxStoredPerMessage = 2 * kMiB + 64 * 1024;  // the zip and two members
  std::vector<std::unique_ptr<AnalyzerRunner>> runners;
  runners.push_back(std::make_unique<AnalyzerRunner>(analyzer, RunnerSettings{}));
  Pipeline pipeline(s, extractor, store, std::move(runners));
  pipeline.start();
  auto until = std::chrono::steady_clock::now() + 20s;
  while (queue.find(r.id)->state != "checked" && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  pipeline.stop();
  auto m = *queue.find(r.id);
  ASSERT_EQ(m.state, "checked");
  EXPECT_EQ(m.verdict, "dangerous");

  // Stored up to the budget; m3 and m4 were analysed from memory, never written.
  EXPECT_LE(usedBy(dir / "files"), s.maxStoredPerMessage);
  std::sort(analyzer->fromMemory.begin(), analyzer->fromMemory.end());
  EXPECT_EQ(analyzer->fromMemory, (std::vector<std::string>{"m3.com", "m4.com"}));
  EXPECT_EQ(analyzer->fromStore.size(), 3u);  // the zip, m1 (and m5, the same file), m2
  db::MessageFiles files(database);
  std::map<std::string, db::MessageFile> byName;
  for (auto& f : files.list(r.id)) byName[f.name] = f;
  const std::string why = "the message's stored-content budget of 3 MB was reached";
  EXPECT_EQ(byName["m1.com"].notKept, "");
  EXPECT_EQ(byName["m5.com"].notKept, "");
  EXPECT_EQ(byName["m3.com"].notKept, why);
  EXPECT_EQ(byName["m4.com"].notKept, why);
  EXPECT_EQ(byName["m3.com"].verdict, "clean");
  EXPECT_EQ(byName["m4.com"].verdict, "dangerous");
  EXPECT_FALSE(store.has(byName["m4.com"].sha256));

  // The report says which files were not kept and why, in the text and in the JSON.
  auto rep = report::buildReport(database, m, report::MessageHeaders::parse(bytes));
  auto text = report::renderReport(rep, report::Templates::builtIn()).text;
  EXPECT_NE(text.find("not kept:   " + why), std::string::npos) << text;
  auto json = report::toJsonText(rep, 0);
  EXPECT_NE(json.find("\"not_kept\":\"" + why + "\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"not_kept\":null"), std::string::npos);
}
