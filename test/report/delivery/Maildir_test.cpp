// The Maildir outbox: folders made, one file per report in new/ with the exact bytes, unique
// names under concurrency, and failures that say permanent or transient.

#include "report/delivery/Maildir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "test/TempDir.h"

namespace bccsink::report {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> filesIn(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

std::string readAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

mode_t modeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(Maildir, MakesTheFoldersAndPutsTheReportInNew) {
  test::TempDir dir;
  const fs::path root = dir / "outbox/admin";  // neither exists yet
  const std::string message = "Subject: report\r\n\r\nbinary \x01\xff and CRLF\r\n";
  auto result = Maildir(root.string()).deliver(message);
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  for (const char* sub : {"", "tmp", "new", "cur"}) EXPECT_EQ(modeOf(root / sub), 0700u) << sub;
  auto files = filesIn(root / "new");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(result.receipt, files[0].string());
  EXPECT_EQ(readAll(files[0]), message);
  EXPECT_EQ(modeOf(files[0]), 0600u);
  EXPECT_TRUE(filesIn(root / "tmp").empty());
  EXPECT_TRUE(filesIn(root / "cur").empty());
  // time.pid_counter.host, with no '/' or ':' in it
  EXPECT_TRUE(std::regex_match(files[0].filename().string(),
                               std::regex(R"([0-9]+\.[0-9]+_[0-9]+\.[^/:]+)")))
      << files[0];
}

TEST(Maildir, ManyDeliveriesAtOnceGetNamesOfTheirOwn) {
  test::TempDir dir;
  Maildir outbox(dir / "outbox");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&outbox, t] {
      for (int i = 0; i < 25; ++i) {
        auto r = outbox.deliver("report " + std::to_string(t) + "/" + std::to_string(i) + "\r\n");
        EXPECT_TRUE(r.ok()) << r.reason;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> bodies;
  for (const auto& f : filesIn(fs::path(dir / "outbox") / "new")) bodies.insert(readAll(f));
  EXPECT_EQ(bodies.size(), 100u);
}

TEST(Maildir, UsesAnExistingMaildirAsItIs) {
  test::TempDir dir;
  const fs::path root = dir / "Maildir";
  for (const char* sub : {"tmp", "new", "cur"}) fs::create_directories(root / sub);
  std::ofstream(root / "cur" / "1.2.host:2,S") << "read mail";
  ASSERT_TRUE(Maildir(root.string() + "/").deliver("x\r\n").ok());
  EXPECT_EQ(filesIn(root / "new").size(), 1u);
  EXPECT_EQ(readAll(root / "cur" / "1.2.host:2,S"), "read mail");
}

TEST(Maildir, AFileInTheWayIsPermFail) {
  test::TempDir dir;
  std::ofstream(dir / "outbox") << "not a folder";
  auto result = Maildir(dir / "outbox").deliver("x\r\n");
  EXPECT_EQ(result.outcome, Outcome::PermFail);
  EXPECT_NE(result.reason.find("outbox"), std::string::npos) << result.reason;
  EXPECT_TRUE(result.receipt.empty());

  fs::create_directories(dir / "box");
  std::ofstream(dir / "box/new") << "in the way of new/";
  result = Maildir(dir / "box").deliver("x\r\n");
  EXPECT_EQ(result.outcome, Outcome::PermFail) << result.reason;
  EXPECT_TRUE(filesIn(fs::path(dir / "box") / "tmp").empty());  // nothing left half done
}

TEST(Maildir, AnEmptyFolderNameIsAFailureNotACrash) {
  EXPECT_FALSE(Maildir("").deliver("x\r\n").ok());
}

}  // namespace
}  // namespace bccsink::report
