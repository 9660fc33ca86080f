// sandbox/slo/SloWatch: the thread that reads the SLO from the database and the memory
// window and logs the warning, scraped or not; stop() ends it at once.

#include "sandbox/slo/SloWatch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "base/Clock.h"
#include "db/Database.h"
#include "test/LogCapture.h"
#include "test/TempDir.h"

namespace bccsink::sandbox {
namespace {

using namespace std::chrono_literals;

TEST(SloWatch, WarnsFromItsOwnThreadWhenCopiesMissTheTarget) {
  test::TempDir dir;
  const auto url = "sqlite:" + (dir / "q.db");
  db::Database(url).migrate();
  test::LogCapture logs("bccsink.slo");
  VerdictSlo slo(1s);
  const auto now = nowMs();
  slo.record(now - 10'000, now - 5'000, true);  // 5 s for a 1 s target: late
  SloWatch watch({url, "sink-a", 20ms}, slo);
  watch.start();
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (logs.count("verdict SLO missed") == 0 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(10ms);
  const auto begun = std::chrono::steady_clock::now();
  watch.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begun, 1s);
  EXPECT_EQ(logs.count("verdict SLO missed: 0.0% of the copies due in the last hour were "
                       "checked within 1s (0 within, 1 late or failed"),
            1)
      << logs.all();
}

}  // namespace
}  // namespace bccsink::sandbox
