// sink/hold/HoldFindings: the text that explains a held message's verdict.

#include "sink/hold/HoldFindings.h"

#include <gtest/gtest.h>

namespace bccsink {
namespace {

db::MessageFile file(int position, const std::string& path, const std::string& verdict,
                     const std::string& reason = "", const std::string& sha = "") {
  db::MessageFile f;
  f.position = position;
  f.path = path;
  f.name = path;
  f.verdict = verdict;
  f.reason = reason;
  f.sha256 = sha.empty() ? std::string(64, static_cast<char>('a' + position)) : sha;
  return f;
}

db::StoredVerdict stored(const std::string& analyzer, const std::string& verdict,
                         std::vector<std::string> threats = {}) {
  db::StoredVerdict v;
  v.analyzer = analyzer;
  v.verdict = verdict;
  v.threats = std::move(threats);
  return v;
}

TEST(HoldFindings, NamesTheThreatTheFileAndTheAnalyzer) {
  auto eicar = file(1, "eicar.com", "dangerous");
  std::map<std::string, std::vector<db::StoredVerdict>> cache = {
      {eicar.sha256,
       {stored("clamd", "dangerous", {"Eicar-Test-Signature"}), stored("yara", "clean")}}};
  EXPECT_EQ(describeFindings("dangerous", {file(0, "note.txt", "clean"), eicar}, cache, ""),
            "Eicar-Test-Signature in eicar.com (clamd)");
}

TEST(HoldFindings, AFileWithoutANamedThreatIsNamedWithItsAnalyzer) {
  auto f = file(0, "invoice.zip > a.exe", "suspicious");
  std::map<std::string, std::vector<db::StoredVerdict>> cache = {
      {f.sha256, {stored("vxcube", "suspicious")}}};
  EXPECT_EQ(describeFindings("suspicious", {f}, cache, ""), "invoice.zip > a.exe (vxcube)");
  EXPECT_EQ(describeFindings("suspicious", {f}, {}, ""), "invoice.zip > a.exe");
}

TEST(HoldFindings, EvasionsFromFilesAndErrors) {
  auto zip = file(0, "a.zip", "unscanned", "evasion: encrypted zip, no password opened it");
  EXPECT_EQ(describeFindings("suspicious", {zip}, {},
                             "base64 damaged\nevasion: ambiguous MIME structure"),
            "a.zip: evasion: encrypted zip, no password opened it; evasion: ambiguous MIME "
            "structure");
}

TEST(HoldFindings, UnscannedReasonsAndNothingForClean) {
  auto pdf = file(0, "x.pdf", "unscanned", "clamd: connection refused");
  EXPECT_EQ(describeFindings("unscanned", {pdf}, {}, ""), "x.pdf: clamd: connection refused");
  EXPECT_EQ(describeFindings("clean", {file(0, "a.txt", "clean")}, {}, ""), "");
}

TEST(HoldFindings, AtMostThreeThenHowManyMore) {
  std::vector<db::MessageFile> files;
  for (int i = 0; i < 5; ++i) files.push_back(file(i, "f" + std::to_string(i), "dangerous"));
  EXPECT_EQ(describeFindings("dangerous", files, {}, ""), "f0; f1; f2 and 2 more");
}

TEST(HoldFindings, ANameFromMailStaysOneLine) {
  auto f = file(0, "evil\r\nBcc: x@y.z.exe", "dangerous");
  auto text = describeFindings("dangerous", {f}, {}, "");
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace bccsink
