// MIME cases as data: each test/data/mime/NN-name.eml goes through the code path of
// `bccsink scan --json` (extraction with the shipped default selection, no analyzer,
// ScanAsReport, ReportJson) and its JSON is compared with NN-name.json beside it. Only
// the fields the expected JSON names are compared, arrays element by element and by
// length, so adding a case is adding two files; a failing case is named by its file.

#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/TemporaryFile.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "report/ReportJson.h"
#include "report/spoof/MessageHeaders.h"
#include "sandbox/Scan.h"
#include "sandbox/extract/FileType.h"
#include "sandbox/extract/Selection.h"
#include "sink/ScanAsReport.h"
#include "test/sandbox/Collect.h"

namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;
using namespace bccsink;

const std::string kCaseDir = std::string(BCCSINK_SOURCE_DIR) + "/test/data/mime";

// The case names (file names without .eml), in order.
std::vector<std::string> caseNames() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(kCaseDir)) {
    if (entry.path().extension() == ".eml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string text(const Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(value, out, 0);
  return out.str();
}

// Keys in the order written, so that differences are listed in the file's order.
Var parse(const std::string& json) {
  return Poco::JSON::Parser(new Poco::JSON::ParseHandler(true)).parse(json);
}

// Where `actual` differs from `expected` in what `expected` names, one line per
// difference: "files[1].size: expected 3, got 4".
void compare(const Var& expected, const Var& actual, const std::string& where,
             std::vector<std::string>& out) {
  const std::string at = where.empty() ? "(top)" : where;
  if (expected.type() == typeid(Object::Ptr)) {
    if (actual.type() != typeid(Object::Ptr)) {
      out.push_back(at + ": expected an object, got " + text(actual));
      return;
    }
    auto e = expected.extract<Object::Ptr>();
    auto a = actual.extract<Object::Ptr>();
    for (const auto& key : e->getNames()) {  // in the order written
      const std::string field = where.empty() ? key : where + "." + key;
      if (!a->has(key)) {
        out.push_back(field + ": missing");
      } else {
        compare(e->get(key), a->get(key), field, out);
      }
    }
  } else if (expected.type() == typeid(Array::Ptr)) {
    if (actual.type() != typeid(Array::Ptr)) {
      out.push_back(at + ": expected an array, got " + text(actual));
      return;
    }
    auto e = expected.extract<Array::Ptr>();
    auto a = actual.extract<Array::Ptr>();
    if (e->size() != a->size()) {
      out.push_back(at + ": expected " + std::to_string(e->size()) + " elements, got " +
                    std::to_string(a->size()) + ": " + text(actual));
      return;
    }
    for (std::size_t i = 0; i < e->size(); ++i) {
      compare(e->get(i), a->get(i), where + "[" + std::to_string(i) + "]", out);
    }
  } else if (text(expected) != text(actual)) {
    out.push_back(at + ": expected " + text(expected) + ", got " + text(actual));
  }
}

// The JSON `bccsink scan --json` prints for the message, parsed back.
Var scanJson(const std::string& message) {
  static const sandbox::FileTyper typer;
  const sandbox::Extractor extractor(typer, sandbox::parseSelection(sandbox::defaultFileTypes(), 0),
                                     sandbox::ExtractLimits{});
  Poco::TemporaryFile folder;
  folder.createDirectories();
  const sandbox::ContentStore store(folder.path());
  const std::vector<std::unique_ptr<sandbox::AnalyzerRunner>> noAnalyzers;
  auto scan = sandbox::scanMessage(message, extractor, store, noAnalyzers,
                                   std::chrono::steady_clock::now() + std::chrono::seconds(30));
  auto headers = report::MessageHeaders::parse(message);
  return parse(report::toJsonText(scanAsReport(scan, headers, {}), 0));
}

class MimeCases : public ::testing::TestWithParam<std::string> {};

TEST_P(MimeCases, ScanJsonHasTheExpectedFields) {
  const std::string base = kCaseDir + "/" + GetParam();
  ASSERT_TRUE(std::filesystem::exists(base + ".json")) << "no " << base << ".json";
  std::vector<std::string> differences;
  auto actual = scanJson(test::readFile(base + ".eml"));
  compare(parse(test::readFile(base + ".json")), actual, "", differences);
  std::string all;
  for (const auto& d : differences) all += "\n  " + d;
  EXPECT_TRUE(differences.empty())
      << GetParam() << ".json:" << all << "\nscan --json: " << text(actual);
}

INSTANTIATE_TEST_SUITE_P(Data, MimeCases, ::testing::ValuesIn(caseNames()), [](const auto& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
});

TEST(MimeCasesCompare, ADifferingMissingOrExtraElementIsReportedByItsPath) {
  auto actual = parse(R"({"verdict": "clean", "files": [{"name": "a.js", "size": 3}]})");
  std::vector<std::string> out;
  compare(parse(R"({"files": [{"name": "a.js"}]})"), actual, "", out);
  EXPECT_TRUE(out.empty()) << out.front();  // a subset matches

  compare(parse(R"({"files": [{"size": 4}]})"), actual, "", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], "files[0].size: expected 4, got 3");

  out.clear();
  compare(parse(R"({"files": [{"size": "3"}], "errors": []})"), actual, "", out);
  EXPECT_EQ(out,
            (std::vector<std::string>{R"(files[0].size: expected "3", got 3)", "errors: missing"}));

  out.clear();
  compare(parse(R"({"files": []})"), actual, "", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rfind("files: expected 0 elements, got 1", 0), 0u) << out[0];
}

// The walker fails a case whose JSON says something the scan does not: the first case
// with one expected size made wrong.
TEST(MimeCasesCompare, AWrongFieldInACaseFailsIt) {
  auto names = caseNames();
  ASSERT_GE(names.size(), 10u);
  const std::string base = kCaseDir + "/" + names.front();
  auto expected = parse(test::readFile(base + ".json")).extract<Object::Ptr>();
  auto actual = scanJson(test::readFile(base + ".eml"));
  std::vector<std::string> out;
  compare(expected, actual, "", out);
  ASSERT_TRUE(out.empty()) << out.front();
  auto file = expected->getArray("files")->getObject(0);
  file->set("size", file->getValue<int>("size") + 1);
  compare(expected, actual, "", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rfind("files[0].size: expected ", 0), 0u) << out[0];
}

}  // namespace
