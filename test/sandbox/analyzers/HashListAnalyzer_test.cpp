#include "sandbox/analyzers/HashListAnalyzer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "test/TempDir.h"

using bccsink::sandbox::HashListAnalyzer;
using bccsink::sandbox::HashListSettings;
using bccsink::sandbox::Submission;
using bccsink::sandbox::Verdict;
using bccsink::sandbox::VerdictKind;
using bccsink::test::TempDir;

namespace {

// Digests of nothing in particular, lowercase.
const std::string kShaA = "3b5d5c3712955042212316173ccf37be800a4e2f3e9b8bd43f3ea5e16bd0a9b4";
const std::string kShaB = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";
const std::string kShaC = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kMd5A = "44d88612fea8a8f36de82e1278abb02f";
const std::string kMd5B = "d41d8cd98f00b204e9800998ecf8427e";

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::string write(const TempDir& dir, const std::string& text) {
  auto path = dir / "hashlist.txt";
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// The message of the std::runtime_error that loading `path` throws, or "" if none.
std::string loadError(const std::string& path) {
  try {
    HashListAnalyzer list(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

std::string loadError(const std::unordered_map<std::string, HashListAnalyzer::Entry>& entries) {
  try {
    HashListAnalyzer list(entries);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// What the analyzer answered, checking that it answered exactly once before returning.
Verdict lookup(HashListAnalyzer& list, const std::string& sha256, const std::string& md5) {
  Submission file;
  file.sha256 = sha256;
  file.md5 = md5;
  file.name = "invoice.exe";
  file.path = "/nonexistent/the-list-never-reads-the-bytes";
  int calls = 0;
  Verdict answer;
  list.analyze(file, [&](Verdict v) {
    ++calls;
    answer = std::move(v);
  });
  EXPECT_EQ(calls, 1);
  return answer;
}

HashListAnalyzer::Entry entry(VerdictKind kind, std::string threat = {}) {
  HashListAnalyzer::Entry e;
  e.kind = kind;
  e.threat = std::move(threat);
  return e;
}

}  // namespace

TEST(HashListAnalyzer, ReadsEntriesBetweenCommentsBlankAndCrlfLines) {
  TempDir dir;
  auto path = write(dir,
                    "# bccsink hash list\r\n"
                    "\r\n"
                    "   \t\n" +
                        upper(kShaA) + " dangerous Win.Trojan.Emotet-9953\r\n" + kMd5A +
                        " suspicious\r\n"
                        "  # an indented comment with a digest " +
                        kShaC + " dangerous\n" + kShaB + "\tDANGEROUS\tEICAR test file  \n" +
                        upper(kMd5B) + "  Suspicious  Phishing kit");  // no newline at the end
  HashListAnalyzer list(path);
  EXPECT_EQ(list.name(), "hashlist");
  EXPECT_EQ(list.size(), 4u);

  auto a = lookup(list, kShaA, "");
  EXPECT_EQ(a.kind, VerdictKind::Dangerous);
  EXPECT_EQ(a.threats, std::vector<std::string>{"Win.Trojan.Emotet-9953"});  // no '\r'
  EXPECT_EQ(a.analyzer, "hashlist");
  EXPECT_TRUE(a.reason.empty());
  EXPECT_FALSE(a.transient);

  auto b = lookup(list, kShaB, "");
  EXPECT_EQ(b.kind, VerdictKind::Dangerous);
  EXPECT_EQ(b.threats, std::vector<std::string>{"EICAR test file"});

  auto md5 = lookup(list, "", kMd5A);
  EXPECT_EQ(md5.kind, VerdictKind::Suspicious);
  EXPECT_EQ(md5.threats, std::vector<std::string>{"hashlist:" + kMd5A.substr(0, 12)});

  auto md5b = lookup(list, "", kMd5B);
  EXPECT_EQ(md5b.kind, VerdictKind::Suspicious);
  EXPECT_EQ(md5b.threats, std::vector<std::string>{"Phishing kit"});

  // The digest in the comment line is not listed.
  EXPECT_EQ(lookup(list, kShaC, "").kind, VerdictKind::Clean);
}

TEST(HashListAnalyzer, EmptyFileAndOnlyCommentsListNothing) {
  TempDir dir;
  EXPECT_EQ(HashListAnalyzer(write(dir, "")).size(), 0u);
  HashListAnalyzer comments(write(dir, "# nothing yet\n\n# " + kShaA + " dangerous\n"));
  EXPECT_EQ(comments.size(), 0u);
  EXPECT_EQ(lookup(comments, kShaA, kMd5A).kind, VerdictKind::Clean);
}

TEST(HashListAnalyzer, DefaultThreatIsHashlistAndTwelveLowercaseHexDigitsOfTheListedDigest) {
  TempDir dir;
  HashListAnalyzer list(write(dir, upper(kShaA) + " dangerous\n"));
  // Looked up in upper case too.
  auto v = lookup(list, upper(kShaA), "");
  EXPECT_EQ(v.kind, VerdictKind::Dangerous);
  EXPECT_EQ(v.threats, std::vector<std::string>{"hashlist:3b5d5c371295"});
}

TEST(HashListAnalyzer, LooksUpBySha256AndByMd5) {
  HashListAnalyzer list({{kShaA, entry(VerdictKind::Dangerous, "by sha")},
                         {upper(kMd5A), entry(VerdictKind::Suspicious, "by md5")}});
  EXPECT_EQ(list.size(), 2u);

  auto sha = lookup(list, kShaA, kMd5B);
  EXPECT_EQ(sha.kind, VerdictKind::Dangerous);
  EXPECT_EQ(sha.threats, std::vector<std::string>{"by sha"});

  auto md5 = lookup(list, kShaB, kMd5A);
  EXPECT_EQ(md5.kind, VerdictKind::Suspicious);
  EXPECT_EQ(md5.threats, std::vector<std::string>{"by md5"});

  auto onlyMd5 = lookup(list, "", upper(kMd5A));
  EXPECT_EQ(onlyMd5.kind, VerdictKind::Suspicious);

  // A sha256 is not looked up among md5s, nor the other way round.
  EXPECT_EQ(lookup(list, kShaB, kMd5B).kind, VerdictKind::Clean);
}

TEST(HashListAnalyzer, UnlistedFileIsCleanWithNoThreat) {
  HashListAnalyzer list({{kShaA, entry(VerdictKind::Dangerous)}});
  auto v = lookup(list, kShaB, kMd5B);
  EXPECT_EQ(v.kind, VerdictKind::Clean);
  EXPECT_TRUE(v.threats.empty());
  EXPECT_EQ(v.analyzer, "hashlist");
  EXPECT_FALSE(v.transient);
}

TEST(HashListAnalyzer, WhenBothDigestsAreListedTheWorseEntryWins) {
  HashListAnalyzer shaWorse({{kShaA, entry(VerdictKind::Dangerous, "sha entry")},
                             {kMd5A, entry(VerdictKind::Suspicious, "md5 entry")}});
  auto a = lookup(shaWorse, kShaA, kMd5A);
  EXPECT_EQ(a.kind, VerdictKind::Dangerous);
  EXPECT_EQ(a.threats, std::vector<std::string>{"sha entry"});

  HashListAnalyzer md5Worse({{kShaA, entry(VerdictKind::Suspicious, "sha entry")},
                             {kMd5A, entry(VerdictKind::Dangerous, "md5 entry")}});
  auto b = lookup(md5Worse, kShaA, kMd5A);
  EXPECT_EQ(b.kind, VerdictKind::Dangerous);
  EXPECT_EQ(b.threats, std::vector<std::string>{"md5 entry"});

  // Equally bad: one threat, not both.
  HashListAnalyzer same({{kShaA, entry(VerdictKind::Suspicious, "sha entry")},
                         {kMd5A, entry(VerdictKind::Suspicious, "md5 entry")}});
  auto c = lookup(same, kShaA, kMd5A);
  EXPECT_EQ(c.kind, VerdictKind::Suspicious);
  EXPECT_EQ(c.threats.size(), 1u);
}

TEST(HashListAnalyzer, FileWithoutADigestIsUnscanned) {
  HashListAnalyzer list({{kShaA, entry(VerdictKind::Dangerous)}});
  auto v = lookup(list, "", "");
  EXPECT_EQ(v.kind, VerdictKind::Unscanned);
  EXPECT_EQ(v.reason, "no digest to look up");
  EXPECT_EQ(v.analyzer, "hashlist");
  EXPECT_FALSE(v.transient);
  EXPECT_TRUE(v.threats.empty());
}

TEST(HashListAnalyzer, BadDigestIsNamedWithFileAndLine) {
  TempDir dir;
  const std::string header = "# list\n\n" + kShaA + " dangerous\n";  // the bad one is line 4
  for (const std::string& digest : std::vector<std::string>{
           kMd5A.substr(1),                             // 31 digits
           kMd5A + "0",                                 // 33
           "da39a3ee5e6b4b0d3255bfef95601890afd80709",  // SHA-1: 40
           kShaB.substr(0, 63) + "g",                   // not hex
           kShaB + "00",                                // 66
       }) {
    auto path = write(dir, header + digest + " dangerous Threat\n");
    EXPECT_EQ(loadError(path),
              path + ":4: '" + digest + "' is not an MD5 or SHA-256 digest in hex");
  }
}

TEST(HashListAnalyzer, MissingVerdictIsNamedWithFileAndLine) {
  TempDir dir;
  auto path = write(dir, kShaA + " dangerous\r\n" + kShaB + "   \r\n");
  EXPECT_EQ(loadError(path),
            path + ":2: a verdict (suspicious or dangerous) must follow the digest");
}

TEST(HashListAnalyzer, VerdictOtherThanSuspiciousOrDangerousIsRefused) {
  TempDir dir;
  for (const std::string verdict : {"malicious", "clean", "Clean", "unscanned", "danger"}) {
    auto path = write(dir, "# list\n" + kShaA + " " + verdict + " Some threat\n");
    std::string lowered = verdict;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    EXPECT_EQ(loadError(path),
              path + ":2: '" + lowered + "' is not a verdict: use suspicious or dangerous")
        << verdict;
  }
}

TEST(HashListAnalyzer, DigestListedTwiceIsRefusedWhateverItsCase) {
  TempDir dir;
  auto path = write(dir, kShaA + " dangerous\n" + kMd5A + " suspicious\n\n" + upper(kShaA) +
                             " suspicious Other name\n");
  EXPECT_EQ(loadError(path), path + ":4: " + kShaA + " is listed twice");
}

TEST(HashListAnalyzer, UnreadableFileIsNamed) {
  TempDir dir;
  auto missing = dir / "no-such-list.txt";
  EXPECT_EQ(loadError(missing), "cannot read " + missing + ": No such file or directory");
  // A folder opens but cannot be read.
  EXPECT_EQ(loadError(dir.path()), "cannot read " + dir.path() + ": Is a directory");
}

TEST(HashListAnalyzer, EntriesGivenDirectlyGetTheSameChecks) {
  EXPECT_EQ(loadError({{"xyz", entry(VerdictKind::Dangerous)}}),
            "hash list: 'xyz' is not an MD5 or SHA-256 digest in hex");
  EXPECT_EQ(loadError({{kShaA, entry(VerdictKind::Clean)}}),
            "hash list: the verdict must be suspicious or dangerous");
  EXPECT_EQ(loadError({{kShaA, entry(VerdictKind::Unscanned)}}),
            "hash list: the verdict must be suspicious or dangerous");
  EXPECT_EQ(loadError({{kShaA, entry(VerdictKind::Dangerous)},
                       {upper(kShaA), entry(VerdictKind::Suspicious)}}),
            "hash list: " + kShaA + " is listed twice");
  EXPECT_EQ(loadError({{kShaA, entry(VerdictKind::Dangerous)}}), "");
}

// make(): the list from its file, one look-up at a time on one runner thread; a list that
// does not load throws as the constructor does.
TEST(HashListAnalyzer, MakeLoadsTheFileForOneRunnerThread) {
  TempDir dir;
  HashListSettings settings;
  settings.file = write(dir, kShaA + " dangerous Listed\n");
  auto made = HashListAnalyzer::make(settings);
  EXPECT_EQ(made.runner.maxConcurrent, 1u);
  auto* list = dynamic_cast<HashListAnalyzer*>(made.analyzer.get());
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->size(), 1u);
  EXPECT_EQ(lookup(*list, kShaA, "").threats, std::vector<std::string>{"Listed"});
  settings.file = dir / "no-such-list.txt";
  EXPECT_THROW(HashListAnalyzer::make(settings), std::runtime_error);
}

// SIGHUP (sink/AnalysisSetup::reloadHashList): the list read again; a broken one keeps the
// old list on.
TEST(HashListAnalyzer, ReloadSwapsTheListInAndABrokenOneKeepsTheOld) {
  TempDir dir;
  auto path = write(dir, kShaA + " dangerous Old.Entry\n");
  HashListAnalyzer list(path);
  EXPECT_EQ(lookup(list, kShaB, "").kind, VerdictKind::Clean);
  write(dir, kShaA + " dangerous Old.Entry\n" + kShaB + " suspicious New.Entry\n");
  list.reload(path);
  EXPECT_EQ(list.size(), 2u);
  auto v = lookup(list, kShaB, "");
  EXPECT_EQ(v.kind, VerdictKind::Suspicious);
  EXPECT_EQ(v.threats, std::vector<std::string>{"New.Entry"});
  write(dir, "not-a-digest dangerous\n");
  EXPECT_THROW(list.reload(path), std::runtime_error);
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(lookup(list, kShaB, "").kind, VerdictKind::Suspicious);
}
