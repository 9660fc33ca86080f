// The parts of the switch to User that can be checked without switching the test process:
// reachability of DataDir from mode bits, the take-over of what root made there (root
// only; never through a symbolic link or a second hard link), a missing user, and the
// switch itself in a forked child that then tries to get root back.

#include "sink/PrivilegeDrop.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test/TempDir.h"

namespace bccsink {
namespace {

namespace fs = std::filesystem;

// An account that owns nothing here: not root, not the test's user.
Account stranger() {
  return Account{"stranger", 54321, 54321, {54321}};
}

uid_t ownerOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_uid;
}

TEST(PrivilegeDrop, AParentTheUserCannotSearchIsNamed) {
  test::TempDir tmp;
  fs::create_directories(tmp / "private/data");
  ::chmod((tmp / "private").c_str(), 0700);
  auto why = whyUnreachable(tmp / "private/data", stranger(), false);
  EXPECT_EQ(why.rfind(tmp / "private" + " (mode 0700", 0), 0u) << why;
  EXPECT_NE(why.find("cannot be searched by user stranger"), std::string::npos) << why;

  ::chmod((tmp / "private").c_str(), 0711);  // search without listing is enough
  EXPECT_EQ(whyUnreachable(tmp / "private/data", stranger(), false), "");
}

TEST(PrivilegeDrop, DataDirItselfNeedsReadWriteAndSearch) {
  test::TempDir tmp;
  fs::create_directories(tmp / "data");
  ::chmod((tmp / "data").c_str(), 0755);
  auto why = whyUnreachable(tmp / "data", stranger());
  EXPECT_NE(why.find("cannot be read, written and searched by user stranger"), std::string::npos)
      << why;
  ::chmod((tmp / "data").c_str(), 0777);
  EXPECT_EQ(whyUnreachable(tmp / "data", stranger()), "");
}

TEST(PrivilegeDrop, TheGroupBitsCountForAMemberOfTheGroup) {
  test::TempDir tmp;
  fs::create_directories(tmp / "shared/data");
  ::chmod((tmp / "shared").c_str(), 0710);
  Account member = stranger();
  member.groups.push_back(getegid());  // the folder's group
  EXPECT_EQ(whyUnreachable(tmp / "shared/data", member, false), "");
  EXPECT_NE(whyUnreachable(tmp / "shared/data", stranger(), false), "");
}

TEST(PrivilegeDrop, ADataDirNotMadeYetIsLeftToTheCheckAfterItIsMade) {
  test::TempDir tmp;
  EXPECT_EQ(whyUnreachable(tmp / "new/data", stranger(), false), "");
  EXPECT_NE(whyUnreachable(tmp / "new/data", stranger()), "");
}

TEST(PrivilegeDrop, AMissingUserNamesTheOptionAndTheFixes) {
  try {
    lookUpAccount("no-such-user-bccsink-test");
    FAIL() << "found";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_EQ(what.rfind("option User: no user 'no-such-user-bccsink-test'", 0), 0u) << what;
    EXPECT_NE(what.find("adduser --system --group"), std::string::npos) << what;
    EXPECT_NE(what.find("User = ''"), std::string::npos) << what;
  }
}

TEST(PrivilegeDrop, RootsFilesInDataDirAreGivenButNotThroughLinks) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (chown)";
  test::TempDir tmp;
  const std::string data = tmp / "data";
  fs::create_directories(data + "/spool");
  fs::create_directories(data + "/files/ab");
  std::ofstream(data + "/bccsink.lock") << "1\n";
  std::ofstream(data + "/bccsink.db") << "x";
  std::ofstream(data + "/spool/0001.seg") << "x";
  std::ofstream(data + "/files/ab/cd") << "x";
  std::ofstream(tmp / "secret") << "root's";
  fs::create_symlink(tmp / "secret", data + "/spool/link");
  fs::create_hard_link(tmp / "secret", data + "/files/hard");

  auto changed = takeOverDataDir(data, stranger());
  for (auto p :
       {data, data + "/bccsink.lock", data + "/bccsink.db", data + "/spool",
        data + "/spool/0001.seg", data + "/files", data + "/files/ab", data + "/files/ab/cd"}) {
    EXPECT_EQ(ownerOf(p), 54321u) << p;
  }
  EXPECT_EQ(changed.size(), 8u);
  EXPECT_EQ(ownerOf(tmp / "secret"), 0u) << "a link handed root's file over";
  EXPECT_EQ(ownerOf(data + "/spool/link"), 0u);
}

TEST(PrivilegeDrop, AFolderHoldingOtherFilesIsNotTakenOver) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (chown)";
  test::TempDir tmp;
  const std::string data = tmp / "var";
  fs::create_directories(data + "/spool");
  std::ofstream(data + "/someone-elses") << "x";
  takeOverDataDir(data, stranger());
  EXPECT_EQ(ownerOf(data), 0u) << "a shared folder (/var, say) must stay root's";
  EXPECT_EQ(ownerOf(data + "/someone-elses"), 0u);
  EXPECT_EQ(ownerOf(data + "/spool"), 54321u);
}

TEST(PrivilegeDrop, AfterTheSwitchRootCannotBeRegained) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      dropPrivileges(stranger());
    } catch (...) {
      _exit(2);
    }
    bool ok = getuid() == 54321 && geteuid() == 54321 && getgid() == 54321 && setuid(0) != 0 &&
              setgid(0) != 0;
    _exit(ok ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace bccsink
