// A file its message did not keep in DataDir/files (BccMaxStoredPerMessage, issue 18)
// reaches clamd from memory: the same INSTREAM chunks as from a stored file, against a
// real clamd with the test signatures.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "sandbox/analyzers/ClamdAnalyzer.h"
#include "test/sandbox/analyzers/ClamdProcess.h"

using bccsink::sandbox::ClamdAnalyzer;
using bccsink::sandbox::ClamdSettings;
using bccsink::sandbox::Submission;
using bccsink::sandbox::VerdictKind;
using bccsink::test::ClamdProcess;
using bccsink::test::kMarker;
using bccsink::test::kMarkerSignature;

namespace {

using namespace std::chrono_literals;

Submission held(const std::string& name, std::string bytes) {
  Submission s;
  s.name = name;
  s.size = bytes.size();
  s.bytes = std::make_shared<const std::string>(std::move(bytes));
  return s;  // no path: nothing on disk
}

}  // namespace

TEST(ClamdFromMemory, AFileNotKeptIsStreamedFromMemoryAcrossChunks) {
  ClamdProcess clamd;
  ClamdSettings settings;
  settings.socket = clamd.unixSocket();
  settings.timeout = 10s;
  settings.maxStreamSize = 8 << 20;
  ClamdAnalyzer analyzer(settings);
  // The marker straddles the first chunk's end (64 KiB), and the stream has three chunks.
  auto bad = analyzer.scan(
      held("report.txt", std::string(64 * 1024 - 10, 'a') + kMarker + std::string(70000, 'b')), {});
  EXPECT_EQ(bad.kind, VerdictKind::Dangerous) << bad.reason;
  EXPECT_EQ(bad.threats, std::vector<std::string>{kMarkerSignature});
  auto clean = analyzer.scan(held("notes.txt", std::string(200000, 'c')), {});
  EXPECT_EQ(clean.kind, VerdictKind::Clean) << clean.reason;
  auto empty = analyzer.scan(held("empty", ""), {});
  EXPECT_EQ(empty.kind, VerdictKind::Clean) << empty.reason;
}
