// Counting one interval on a real SQLite database: messages, files and cached verdicts are
// written through the repositories the pipeline and the reporter use, and every counter
// of the contract's JSON is checked.

#include "report/stats/StatsAggregator.h"

#include <Poco/Data/Statement.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include "db/Database.h"
#include "db/FileRepository.h"
#include "db/MessageFiles.h"
#include "db/MessageQueue.h"
#include "db/ReportQueue.h"
#include "report/stats/StatsShape.h"
#include "test/db/Engines.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;
using Poco::JSON::Object;

namespace {

const std::string kPe(64, 'e'), kZip(64, 'z'), kPdf(64, 'p');
// The interval under test: [04:00, 04:05) on 2026-11-30.
const std::int64_t kStart = report::msFromIso("2026-11-30T04:00:00Z");
const std::int64_t kEnd = kStart + 5 * 60 * 1000;

db::MessageRecord message(const std::string& id, const std::string& receivedAt, std::int64_t size,
                          int recipients, const std::string& clientIp,
                          const std::string& sink = "sink-a") {
  db::MessageRecord r;
  r.id = id;
  r.sink = sink;
  r.receivedAt = receivedAt;
  r.sender = "alice@example.org";
  for (int i = 0; i < recipients; ++i) r.recipients.push_back({"watch@bcc.test", "", ""});
  r.clientIp = clientIp;
  r.helo = "mta.test";
  r.size = size;
  r.sha256 = std::string(64, '0');
  r.spoolFile = id + ".eml";
  return r;
}

db::MessageFile file(int position, const std::string& name, const std::string& path,
                     const std::string& ext, const std::string& sha, std::int64_t size,
                     bool selected, bool mismatch = false) {
  db::MessageFile f;
  f.position = position;
  f.name = name;
  f.path = path;
  f.extension = ext;
  f.sha256 = sha;
  f.size = size;
  f.selected = selected;
  f.extensionMismatch = mismatch;
  return f;
}

db::StoredVerdict verdict(const std::string& sha, const std::string& analyzer, const std::string& v,
                          const std::string& at) {
  db::StoredVerdict s;
  s.sha256 = sha;
  s.analyzer = analyzer;
  s.verdict = v;
  s.decidedAt = at;
  s.decidedMs = report::msFromIso(at);
  return s;
}

db::FileRow fileRow(const std::string& sha, std::int64_t size, const std::string& type,
                    const std::string& family) {
  db::FileRow f;
  f.sha256 = sha;
  f.md5 = std::string(32, '0');
  f.size = size;
  f.trueType = type;
  f.description = type;
  f.family = family;
  return f;
}

}  // namespace

class StatsAggregatorTest : public test::EngineTest {
 protected:
  void SetUp() override {
    db::FileRepository files(database);
    files.recordSeen({fileRow(kPe, 1000, "application/x-dosexec", "pe"),
                      fileRow(kZip, 2000, "application/zip", "archive"),
                      fileRow(kPdf, 4000, "application/pdf", "pdf")},
                     "2026-11-30T03:00:00.000Z");
    // The PDF's verdict was in the cache long before; the others are decided for M1.
    files.recordVerdict(verdict(kPdf, "yara", "clean", "2026-11-30T03:00:00.000Z"));
    files.recordVerdict(verdict(kPe, "yara", "dangerous", "2026-11-30T04:00:20.000Z"));
    files.recordVerdict(verdict(kPe, "clamd", "dangerous", "2026-11-30T04:00:21.000Z"));
    files.recordVerdict(verdict(kZip, "yara", "clean", "2026-11-30T04:00:20.000Z"));

    db::MessageQueue queue(database);
    queue.insertPending({
        message("M0", "2026-11-30T03:59:59.999Z", 100, 1, "192.0.2.1"),  // before
        message("M1", "2026-11-30T04:00:10.000Z", 5000, 2, "127.0.0.1"),
        message("M2", "2026-11-30T04:01:00.000Z", 50 * 1024, 1, "198.51.100.1"),
        message("M3", "2026-11-30T04:02:00.000Z", 2 << 20, 1, "127.0.0.1"),
        message("M4", "2026-11-30T04:03:00.000Z", 20 << 20, 1, "127.0.0.1"),
        message("M5", "2026-11-30T04:03:00.000Z", 100, 1, "192.0.2.1", "sink-b"),  // other sink
        message("M6", "2026-11-30T04:05:00.000Z", 100, 1, "192.0.2.1"),  // at the end: next one
    });
    db::MessageFiles mf(database);
    // M1: a .doc that is really a PE; a zip holding a PE named a.exe.
    mf.save("M1",
            {file(0, "invoice.doc", "invoice.doc", "doc", kPe, 1000, true, true),
             file(1, "bundle.zip", "bundle.zip", "zip", kZip, 2000, true),
             file(2, "a.exe", "bundle.zip > a.exe", "exe", kPe, 1000, true)},
            "", "2026-11-30T04:00:11.000Z");
    // M2: a text file named like SenderBase's example, a PDF answered from the cache, and a
    // file whose bytes could not be read.
    mf.save("M2",
            {file(0, "Britney1.txt.pif", "Britney1.txt.pif", "pif", "", 300, false),
             file(1, "Отчёт.pdf", "Отчёт.pdf", "pdf", kPdf, 4000, true),
             file(2, "big.iso", "big.iso", "iso", "", 70 << 20, false)},
            "", "2026-11-30T04:01:01.000Z");
    mf.save("M0", {file(0, "old.exe", "old.exe", "exe", kPe, 1000, true)}, "",
            "2026-11-30T04:00:00.000Z");
    auto& s = database.session();
    s << database.sql(
        "UPDATE messages SET state = 'checked', verdict = 'dangerous'"
        " WHERE id = 'M1'"),
        now;
    s << database.sql("UPDATE messages SET state = 'checked', verdict = 'clean' WHERE id = 'M2'"),
        now;
    queue.markFailed("M4", "poison", "unscanned", "2026-11-30T04:03:30.000Z");
    db::ReportQueue reports(database);
    reports.judge("M1", false, "", true, "203.0.113.9");  // the origin hop
    reports.judge("M2", false, "", false);                // no hop: the copy's client
  }

  db::Database& database = *db_;
};

namespace {

std::int64_t n(const Object::Ptr& o, const std::string& key) {
  return o->getValue<std::int64_t>(key);
}

}  // namespace

TEST_P(StatsAggregatorTest, CountsEveryCounterOfTheInterval) {
  auto s = report::computeInterval(database, "sink-a", kStart, kEnd);
  // Round trip through the stored JSON: what is checked is what the API shows.
  auto j = report::toJson(report::fromJsonText(report::toJsonText(s)));

  EXPECT_EQ(j->getValue<std::string>("start"), "2026-11-30T04:00:00Z");
  EXPECT_EQ(j->getValue<std::string>("end"), "2026-11-30T04:05:00Z");
  EXPECT_FALSE(j->getValue<bool>("partial"));
  EXPECT_EQ(n(j, "messages"), 4);    // M1..M4: not M0, M5 (other sink) or M6 (at the end)
  EXPECT_EQ(n(j, "recipients"), 5);  // 2 + 1 + 1 + 1

  auto sizes = j->getObject("size_histogram");
  EXPECT_EQ(n(sizes, "<=10K"), 1);
  EXPECT_EQ(n(sizes, "<=100K"), 1);
  EXPECT_EQ(n(sizes, "<=1M"), 0);
  EXPECT_EQ(n(sizes, "<=10M"), 1);
  EXPECT_EQ(n(sizes, ">10M"), 1);

  auto ips = j->getObject("by_ip");
  EXPECT_EQ(ips->size(), 3u);
  auto origin = ips->getObject("203.0.113.9");  // M1's origin hop, not the copy's client
  ASSERT_TRUE(origin);
  EXPECT_EQ(n(origin, "messages"), 1);
  EXPECT_EQ(n(origin, "recipients"), 2);
  EXPECT_EQ(n(origin->getObject("verdicts"), "dangerous"), 1);
  auto copy = ips->getObject("198.51.100.1");
  ASSERT_TRUE(copy);
  EXPECT_EQ(n(copy->getObject("verdicts"), "clean"), 1);
  auto local = ips->getObject("127.0.0.1");  // M3 (pending) and M4 (failed), not judged
  ASSERT_TRUE(local);
  EXPECT_EQ(n(local, "messages"), 2);
  EXPECT_EQ(n(local, "recipients"), 2);
  EXPECT_EQ(n(local->getObject("verdicts"), "pending"), 1);
  EXPECT_EQ(n(local->getObject("verdicts"), "unscanned"), 1);
  EXPECT_EQ(n(local->getObject("verdicts"), "clean"), 0);

  auto ext = j->getObject("by_extension");
  EXPECT_EQ(ext->size(), 6u);
  for (const char* e : {"doc", "zip", "exe", "pif", "pdf", "iso"}) EXPECT_EQ(n(ext, e), 1) << e;
  auto types = j->getObject("by_true_type");
  EXPECT_EQ(n(types, "application/x-dosexec"), 2);
  EXPECT_EQ(n(types, "application/zip"), 1);
  EXPECT_EQ(n(types, "application/pdf"), 1);
  EXPECT_EQ(n(types, "(unreadable)"), 2);

  auto mismatches = j->getArray("mismatches");
  ASSERT_EQ(mismatches->size(), 1u);
  auto m = mismatches->getObject(0);
  EXPECT_EQ(m->getValue<std::string>("extension"), "doc");
  EXPECT_EQ(m->getValue<std::string>("family"), "pe");
  EXPECT_EQ(m->getValue<std::string>("true_type"), "application/x-dosexec");
  EXPECT_EQ(n(m, "count"), 1);

  auto inArchive = j->getArray("in_archive");
  ASSERT_EQ(inArchive->size(), 1u);
  EXPECT_EQ(inArchive->getObject(0)->getValue<std::string>("extension"), "exe");
  EXPECT_EQ(inArchive->getObject(0)->getValue<std::string>("container"), "zip");
  EXPECT_EQ(n(inArchive->getObject(0), "count"), 1);

  auto sizeByType = j->getObject("size_by_type");
  EXPECT_EQ(n(sizeByType->getObject("pe"), "files"), 2);
  EXPECT_EQ(n(sizeByType->getObject("pe"), "bytes"), 2000);
  EXPECT_EQ(n(sizeByType->getObject("archive"), "bytes"), 2000);
  EXPECT_EQ(n(sizeByType->getObject("pdf"), "bytes"), 4000);
  EXPECT_EQ(n(sizeByType->getObject("(unreadable)"), "files"), 2);
  EXPECT_EQ(n(sizeByType->getObject("(unreadable)"), "bytes"), 300 + (70 << 20));

  auto verdicts = j->getObject("verdicts");
  EXPECT_EQ(n(verdicts, "clean"), 1);
  EXPECT_EQ(n(verdicts, "suspicious"), 0);
  EXPECT_EQ(n(verdicts, "dangerous"), 1);
  EXPECT_EQ(n(verdicts, "unscanned"), 1);
  EXPECT_EQ(n(verdicts, "pending"), 1);

  // Selected files: M1's three (PE twice, zip) and M2's PDF.
  auto analyzers = j->getObject("verdicts_by_analyzer");
  EXPECT_EQ(n(analyzers->getObject("yara"), "dangerous"), 2);
  EXPECT_EQ(n(analyzers->getObject("yara"), "clean"), 2);
  EXPECT_EQ(n(analyzers->getObject("yara"), "suspicious"), 0);
  EXPECT_EQ(n(analyzers->getObject("clamd"), "dangerous"), 2);
  EXPECT_EQ(n(analyzers->getObject("clamd"), "clean"), 0);
  EXPECT_EQ(n(j, "cache_hits"), 1);  // the PDF, decided before M2 arrived

  auto names = j->getArray("names");
  ASSERT_EQ(names->size(), 6u);
  std::map<std::string, std::string> shapeByMd5;
  for (std::size_t i = 0; i < names->size(); ++i) {
    auto o = names->getObject(static_cast<unsigned>(i));
    EXPECT_EQ(n(o, "count"), 1);
    shapeByMd5[o->getValue<std::string>("md5")] = o->getValue<std::string>("shape");
  }
  EXPECT_EQ(shapeByMd5[report::nameDigest("Britney1.txt.pif")], "Aaaaaaa0.aaa.pif");
  EXPECT_EQ(shapeByMd5[report::nameDigest("invoice.doc")], "aaaaaaa.doc");
  EXPECT_EQ(shapeByMd5[report::nameDigest("Отчёт.pdf")], "xxxxx.pdf");
  // No name in clear anywhere in the JSON.
  auto text = report::toJsonText(s);
  for (const char* name : {"invoice", "Britney", "bundle", "big.iso", "Отчёт"}) {
    EXPECT_EQ(text.find(name), std::string::npos) << name;
  }
}

TEST_P(StatsAggregatorTest, AMessageFromTheSameIntervalCountedAgainIsAHitOnceItsFileIsCached) {
  // A later copy of invoice.doc, after the PE's verdicts exist: a cache hit.
  db::MessageQueue(database).insertPending(
      {message("M7", "2026-11-30T04:04:00.000Z", 100, 1, "127.0.0.1")});
  db::MessageFiles(database).save("M7",
                                  {file(0, "again.doc", "again.doc", "doc", kPe, 1000, true, true)},
                                  "", "2026-11-30T04:04:01.000Z");
  auto s = report::computeInterval(database, "sink-a", kStart, kEnd);
  EXPECT_EQ(s.cacheHits, 2);
  EXPECT_EQ((s.mismatches[{"doc", "pe", "application/x-dosexec"}]), 2);
}

TEST_P(StatsAggregatorTest, AContainerWithoutExtensionCountsByItsFamily) {
  db::MessageQueue(database).insertPending(
      {message("M8", "2026-11-30T04:04:00.000Z", 100, 1, "127.0.0.1")});
  db::MessageFiles(database).save(
      "M8",
      {file(0, "attachment", "attachment", "", kZip, 2000, true),
       file(1, "run.exe", "attachment > run.exe", "exe", kPe, 1000, true)},
      "", "2026-11-30T04:04:01.000Z");
  auto s = report::computeInterval(database, "sink-a", kStart, kEnd);
  EXPECT_EQ((s.inArchive[{"exe", "archive"}]), 1);
  EXPECT_EQ((s.inArchive[{"exe", "zip"}]), 1);
  EXPECT_EQ(s.byExtension["(none)"], 1);
}

TEST_P(StatsAggregatorTest, AnEmptyIntervalHasEveryKeyAtZero) {
  auto s = report::computeInterval(database, "sink-a", kEnd + 3600000, kEnd + 3900000);
  auto j = report::toJson(s);
  EXPECT_EQ(n(j, "messages"), 0);
  EXPECT_EQ(j->getObject("size_histogram")->size(), 5u);
  EXPECT_EQ(j->getObject("verdicts")->size(), 5u);
  EXPECT_EQ(j->getObject("by_ip")->size(), 0u);
  EXPECT_EQ(j->getArray("names")->size(), 0u);
}

TEST(StatsCounters, TotalsSumIntervalsAndKeepTheUnionOfTheirBounds) {
  report::IntervalStats a, b;
  a.startMs = 1000;
  a.endMs = 2000;
  a.messages = 2;
  a.byIp["192.0.2.1"].messages = 2;
  a.byIp["192.0.2.1"].verdicts["clean"] = 2;
  a.names["m"] = {"aaa.doc", 1};
  a.mismatches[{"doc", "pe", "application/x-dosexec"}] = 1;
  b.startMs = 2000;
  b.endMs = 3000;
  b.messages = 1;
  b.byIp["192.0.2.1"].messages = 1;
  b.byIp["192.0.2.1"].verdicts["dangerous"] = 1;
  b.names["m"] = {"aaa.doc", 3};
  b.mismatches[{"doc", "pe", "application/x-dosexec"}] = 4;
  report::IntervalStats t;
  merge(t, a);
  merge(t, b);
  EXPECT_EQ(t.startMs, 1000);
  EXPECT_EQ(t.endMs, 3000);
  EXPECT_EQ(t.messages, 3);
  EXPECT_EQ(t.byIp["192.0.2.1"].messages, 3);
  EXPECT_EQ(t.byIp["192.0.2.1"].verdicts["dangerous"], 1);
  EXPECT_EQ(t.names["m"].count, 4);
  EXPECT_EQ((t.mismatches[{"doc", "pe", "application/x-dosexec"}]), 5);
}

TEST(StatsCounters, ManyIpsAreCappedWithTheRestUnderOther) {
  report::IntervalStats s;
  for (std::size_t i = 0; i < report::kMaxIps + 10; ++i) {
    auto& c = s.byIp["10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256)];
    c.messages = i == 0 ? 100 : 1;
  }
  auto ips = report::toJson(s)->getObject("by_ip");
  EXPECT_EQ(ips->size(), report::kMaxIps);
  EXPECT_EQ(ips->getObject("10.0.0.0")->getValue<std::int64_t>("messages"), 100);
  EXPECT_EQ(ips->getObject("(other)")->getValue<std::int64_t>("messages"), 11);
}

TEST(StatsCounters, IsoTimesParseWithOrWithoutFractionAndOffset) {
  EXPECT_EQ(report::msFromIso("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(report::msFromIso("1970-01-01T00:00:01.250Z"), 1250);
  EXPECT_EQ(report::msFromIso("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(report::isoSeconds(1250), "1970-01-01T00:00:01Z");
  EXPECT_EQ(report::isoMillis(1250), "1970-01-01T00:00:01.250Z");
  EXPECT_THROW(report::msFromIso("24h"), std::invalid_argument);
  EXPECT_THROW(report::msFromIso("2026-11-30"), std::invalid_argument);
  EXPECT_EQ(report::alignDown(7, 5), 5);
  EXPECT_EQ(report::alignDown(-1, 5), -5);
  EXPECT_EQ(report::alignUp(6, 5), 10);
  EXPECT_EQ(report::alignUp(10, 5), 10);
}

TEST(StatsCounters, KeysAMessageDecidesAreCappedWithTheRestUnderOther) {
  report::IntervalStats s;
  for (std::size_t i = 0; i < report::kMaxKeys + 50; ++i) {
    auto ext = "e" + std::to_string(i);
    s.byExtension[ext] = 1;
    s.mismatches[{ext, "pe", "application/x-dosexec"}] = 1;
    s.inArchive[{ext, "zip"}] = 1;
  }
  s.byExtension["pdf"] = 1000;  // the most frequent stays listed by name
  auto j = report::toJson(s);
  auto ext = j->getObject("by_extension");
  EXPECT_EQ(ext->size(), report::kMaxKeys);
  EXPECT_EQ(ext->getValue<std::int64_t>("pdf"), 1000);
  std::int64_t total = 0;
  for (const auto& [k, v] : *ext) total += v.convert<std::int64_t>();
  EXPECT_EQ(total, 1000 + static_cast<std::int64_t>(report::kMaxKeys) + 50);  // nothing lost
  auto mismatches = j->getArray("mismatches");
  ASSERT_EQ(mismatches->size(), report::kMaxKeys);
  EXPECT_EQ(mismatches->getObject(report::kMaxKeys - 1)->getValue<std::string>("extension"),
            "(other)");
  EXPECT_EQ(mismatches->getObject(report::kMaxKeys - 1)->getValue<std::int64_t>("count"), 51);
  auto members = j->getArray("in_archive");
  ASSERT_EQ(members->size(), report::kMaxKeys);
  EXPECT_EQ(members->getObject(report::kMaxKeys - 1)->getValue<std::int64_t>("count"), 51);
}

BCCSINK_ON_BOTH_ENGINES(StatsAggregatorTest);
