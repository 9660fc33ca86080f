#include "sandbox/ContentStore.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test/TempDir.h"

using namespace bccsink;

namespace {
const std::string kSha = std::string(62, 'a') + "01";
}

TEST(ContentStoreTest, RemoveDeletesTheStoredFileAndSaysWhatItTook) {
  test::TempDir dir;
  sandbox::ContentStore store(dir / "files");
  auto path = store.put(kSha, std::string(10000, 'x'));
  ASSERT_TRUE(store.has(kSha));
  EXPECT_GE(store.remove(kSha), 10000u);
  EXPECT_FALSE(store.has(kSha));
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(store.remove(kSha), 0u);  // gone already: nothing to do
  store.put(kSha, "again");           // and it can be stored again
  EXPECT_TRUE(store.has(kSha));
}

TEST(ContentStoreTest, RemoveRefusesWhatIsNotASha256) {
  test::TempDir dir;
  sandbox::ContentStore store(dir / "files");
  EXPECT_THROW(store.remove("../../etc/passwd"), std::invalid_argument);
}

TEST(ContentStoreTest, AFileMetAgainIsNotRemovedAsUntouched) {
  using namespace std::chrono_literals;
  test::TempDir dir;
  sandbox::ContentStore store(dir / "files");
  auto path = store.put(kSha, std::string(10000, 'x'));
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) - 24h);
  const auto hourAgo = std::time(nullptr) - 3600;
  store.put(kSha, "ignored: the stored bytes stay");  // an extraction met it again
  EXPECT_EQ(store.removeIfUntouchedSince(kSha, hourAgo), 0u);
  EXPECT_TRUE(store.has(kSha));
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) - 24h);
  EXPECT_GE(store.removeIfUntouchedSince(kSha, hourAgo), 10000u);
  EXPECT_FALSE(store.has(kSha));
}
