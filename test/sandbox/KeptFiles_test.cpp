// What one message may add to DataDir/files (issue 18, finding 4: disk amplification):
// KeptFiles' budget, dedup and memory account, and a whole message through scanMessage
// with a real analyzer (YARA) that finds what only the files not kept hold.

#include "sandbox/KeptFiles.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "sandbox/HeldBytes.h"
#include "sandbox/Scan.h"
#include "sandbox/analyzers/YaraAnalyzer.h"
#include "sandbox/analyzers/YaraRules.h"
#include "sandbox/extract/Digest.h"
#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/FileType.h"
#include "sandbox/extract/Selection.h"
#include "test/TempDir.h"
#include "test/sandbox/extract/ZipWriter.h"

using namespace bccsink;
using namespace bccsink::sandbox;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;

ExtractedFile fileOf(const std::string& name, const std::string& bytes) {
  ExtractedFile f;
  f.name = name;
  f.size = bytes.size();
  f.sha256 = digest(bytes).sha256;
  f.selected = true;
  return f;
}

// Bytes on disk under the store's folder.
std::uint64_t usedBy(const std::string& dir) {
  std::uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

// A mail with one zip attachment (base64), as a client sends it.
std::string mailWithZip(const std::string& zip) {
  std::ostringstream b64;
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string line;
  for (std::size_t i = 0; i < zip.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(zip[i]) << 16;
    if (i + 1 < zip.size()) n |= static_cast<unsigned char>(zip[i + 1]) << 8;
    if (i + 2 < zip.size()) n |= static_cast<unsigned char>(zip[i + 2]);
    line += k[(n >> 18) & 63];
    line += k[(n >> 12) & 63];
    line += i + 1 < zip.size() ? k[(n >> 6) & 63] : '=';
    line += i + 2 < zip.size() ? k[n & 63] : '=';
    if (line.size() >= 76) {
      b64 << line << "\r\n";
      line.clear();
    }
  }
  b64 << line << "\r\n";
  return "From: a@example.org\r\nTo: b@example.org\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n--b0\r\n"
         "Content-Type: text/plain\r\n\r\nsee attached\r\n--b0\r\n"
         "Content-Type: application/zip; name=\"parts.zip\"\r\n"
         "Content-Disposition: attachment; filename=\"parts.zip\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" +
         b64.str() + "--b0--\r\n";
}

}  // namespace

TEST(StoredBudget, IsTheLargerOfTheFloorAndTenTimesTheMessage) {
  EXPECT_EQ(storedBudget(200 * kMiB, 8 * kMiB), 200 * kMiB);
  EXPECT_EQ(storedBudget(200 * kMiB, 30 * kMiB), 300 * kMiB);
  EXPECT_EQ(storedBudget(1, 0), 1u);
  EXPECT_EQ(storedBudget(1, ~0ull / 2), ~0ull);  // no overflow
}

TEST(KeptFiles, FilesPastTheBudgetAreHeldInMemoryAndSaySo) {
  test::TempDir dir;
  ContentStore store(dir / "files");
  HeldBytes held(10 * kMiB);
  KeptFiles kept(store, 10, &held);
  const std::string a(6, 'a'), b(6, 'b'), c(4, 'c');
  kept.keep(fileOf("a.com", a), a);   // 6 of 10
  kept.keep(fileOf("b.com", b), b);   // 12 > 10: not kept
  kept.keep(fileOf("a2.com", a), a);  // the same bytes again: free
  kept.keep(fileOf("c.com", c), c);   // 10 of 10: fits
  const auto sa = digest(a).sha256, sb = digest(b).sha256, sc = digest(c).sha256;
  EXPECT_TRUE(store.has(sa));
  EXPECT_TRUE(store.has(sc));
  EXPECT_FALSE(store.has(sb));
  EXPECT_EQ(kept.storedBytes(), 10u);
  EXPECT_TRUE(kept.stored(sa));
  EXPECT_EQ(kept.notKept(sa), "");
  ASSERT_TRUE(kept.inMemory(sb));
  EXPECT_EQ(*kept.inMemory(sb), b);
  EXPECT_EQ(kept.notKept(sb), "the message's stored-content budget of 1 MB was reached");
  EXPECT_EQ(kept.refused(sb), "");
  EXPECT_EQ(held.held(), 6u);
  EXPECT_TRUE(kept.errors().empty());
}

TEST(KeptFiles, AFileStoredAlreadyCostsNothingEvenPastTheBudget) {
  test::TempDir dir;
  ContentStore store(dir / "files");
  const std::string earlier(100, 'e'), big(100, 'x');
  store.put(digest(earlier).sha256, earlier);  // an earlier message's
  KeptFiles kept(store, 50, nullptr);
  kept.keep(fileOf("big.com", big), big);              // over the budget: held
  kept.keep(fileOf("earlier.com", earlier), earlier);  // in the store already: kept
  EXPECT_TRUE(kept.stored(digest(earlier).sha256));
  EXPECT_EQ(kept.notKept(digest(earlier).sha256), "");
  EXPECT_EQ(kept.storedBytes(), 0u);
  EXPECT_FALSE(store.has(digest(big).sha256));
  EXPECT_TRUE(kept.inMemory(digest(big).sha256));
}

TEST(HeldBytes, CountsEveryCopyUntilItsLastOwnerLetsGo) {
  HeldBytes held(10);
  auto a = held.hold("123456");
  ASSERT_TRUE(a);
  EXPECT_EQ(held.held(), 6u);
  EXPECT_FALSE(held.hold("12345"));  // 11 > 10
  auto copy = a;
  a.reset();
  EXPECT_EQ(held.held(), 6u);  // a submission still holds it
  copy.reset();
  EXPECT_EQ(held.held(), 0u);
  EXPECT_TRUE(held.hold("1234567890"));
}

TEST(KeptFiles, PastTheMemoryAccountAFileIsRefusedAsAnEvasion) {
  test::TempDir dir;
  ContentStore store(dir / "files");
  HeldBytes held(8);
  KeptFiles kept(store, 4, &held);
  const std::string a(6, 'a'), b(6, 'b');
  kept.keep(fileOf("a.com", a), a);  // held: 6 of 8
  kept.keep(fileOf("b.com", b), b);  // 12 > 8: neither kept nor held
  EXPECT_TRUE(kept.inMemory(digest(a).sha256));
  EXPECT_FALSE(kept.inMemory(digest(b).sha256));
  const auto why = kept.refused(digest(b).sha256);
  EXPECT_TRUE(isEvasion(why)) << why;
  EXPECT_NE(why.find("not analysed"), std::string::npos) << why;
  EXPECT_FALSE(kept.notKept(digest(b).sha256).empty());
  EXPECT_EQ(usedBy(dir / "files"), 0u);
}

// The message of the finding in small: five members of a zip, each compressible, far
// more unpacked than the message. The first ones are stored up to the budget; the rest
// are analysed from memory, and the one that only a file not kept holds is found.
TEST(KeptFiles, AScannedMessageKeepsItsBudgetAndStillJudgesEveryFile) {
  test::TempDir dir;
  const std::string marker = "bccsink-not-kept-marker-77";
  auto member = [&](char fill, bool bad) {
    return std::string(kMiB, fill) + (bad ? marker : std::string("plain tail"));
  };
  const std::string zip = test::zip({{"m1.com", member('1', false)},
                                     {"m2.com", member('2', false)},
                                     {"m3.com", member('3', false)},
                                     {"m4.com", member('4', true)},
                                     {"m5.com", member('1', false)}});  // m1 again
  const std::string message = mailWithZip(zip);
  ASSERT_LT(message.size(), 200'000u);

  FileTyper typer;
  ExtractLimits limits;
  limits.archive.maxRatio = 100000;  // zeros-like members: not a bomb here
  Extractor extractor(typer, parseSelection(defaultFileTypes(), 0), limits);
  std::ofstream(dir / "marker.yar") << "rule Not_Kept_Marker { meta: verdict = \"dangerous\" "
                                    << "strings: $a = \"" << marker << "\" condition: $a }\n";
  std::vector<std::unique_ptr<AnalyzerRunner>> runners;
  runners.push_back(std::make_unique<AnalyzerRunner>(
      std::make_shared<YaraAnalyzer>(YaraRules::compile(dir / "marker.yar")), RunnerSettings{}));
  ContentStore store(dir / "files");
  const std::uint64_t budget = 2 * kMiB + 64 * 1024;  // the zip and two members
  auto report = scanMessage(message, extractor, store, runners,
                            std::chrono::steady_clock::now() + 30s, budget);
  for (auto& r : runners) r->stop();

  EXPECT_EQ(report.verdict, VerdictKind::Dangerous);
  std::map<std::string, const ScannedFile*> byName;
  for (const auto& s : report.files) byName[s.file.name] = &s;
  for (const auto& name : {"parts.zip", "m1.com", "m2.com", "m3.com", "m4.com", "m5.com"}) {
    ASSERT_TRUE(byName.count(name)) << name;
    EXPECT_TRUE(byName[name]->analysed) << name;
  }
  EXPECT_EQ(byName["parts.zip"]->notKept, "");
  EXPECT_EQ(byName["m1.com"]->notKept, "");
  EXPECT_EQ(byName["m2.com"]->notKept, "");
  EXPECT_EQ(byName["m5.com"]->notKept, "");  // m1's bytes: stored already, free
  EXPECT_EQ(byName["m3.com"]->notKept, "the message's stored-content budget of 3 MB was reached");
  EXPECT_EQ(byName["m4.com"]->notKept, byName["m3.com"]->notKept);
  // Analysed from memory, with the analyzer's verdict.
  EXPECT_EQ(byName["m3.com"]->verdict, VerdictKind::Clean);
  EXPECT_EQ(byName["m4.com"]->verdict, VerdictKind::Dangerous);
  ASSERT_EQ(byName["m4.com"]->answers.size(), 1u);
  EXPECT_EQ(byName["m4.com"]->answers[0].threats, std::vector<std::string>{"Not_Kept_Marker"});
  EXPECT_FALSE(store.has(byName["m4.com"]->file.sha256));
  // The store holds the zip and two members, within the budget; without it, five.
  const auto used = usedBy(dir / "files");
  EXPECT_LE(used, budget);
  EXPECT_GE(used, 2 * kMiB);
  EXPECT_TRUE(report.errors.empty()) << report.errors.front();
}
