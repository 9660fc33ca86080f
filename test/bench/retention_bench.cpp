// retention_bench: how fast the retention stage expires content, and what it costs the
// intake meanwhile (issue 17).
//
//   retention_bench [--copies N] [--intake M] [--size BYTES] [--dir DIR]
//
// In a fresh data folder (DIR, default under /tmp) with SQLite: N messages of BYTES taken by
// the real intake path (sink/smtp/Intake + GroupCommitter: spool records, group commit) from
// 8 threads, then made old, clean and judged. Then:
//   1. a sweep alone (RetentionStage::sweepOnce, batches of 200 with the stage's pause):
//      copies expired per second;
//   2. M new messages through the intake alone: messages/s and the 99th percentile of the
//      time from commit() to its answer (what an MTA waits for after the dot);
//   3. N more old copies, then the same M messages while a sweep expires them: the intake's
//      rate and p99 beside the sweep's rate.
// Prints one RESULT line. Never run by ctest.

#include <Poco/Data/Statement.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "db/Database.h"
#include "sink/retention/RetentionStage.h"
#include "sink/smtp/GroupCommitter.h"
#include "sink/smtp/Intake.h"
#include "sink/smtp/Spool.h"
#include "test/sink/smtp/SpoolTesting.h"

using namespace bccsink;
using Clock = std::chrono::steady_clock;
using namespace Poco::Data::Keywords;

namespace {

struct IntakeRun {
  double perSecond = 0;
  double p99ms = 0;
};

// `count` messages of `size` bytes from 8 threads, as the SMTP sessions hand them over.
IntakeRun takeIn(Intake& intake, int count, std::size_t size) {
  std::mutex m;
  std::condition_variable cv;
  int done = 0;
  std::vector<double> latencies;
  latencies.reserve(static_cast<std::size_t>(count));
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  const int perThread = count / 8;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::string body(size, 'x');
      for (int i = 0; i < perThread; ++i) {
        StoreResult r;
        auto w = intake.open(r);
        if (!w) {
          std::cerr << "intake refused: " << r.detail << "\n";
          std::exit(1);
        }
        std::string bytes = "Subject: " + std::to_string(t) + "/" + std::to_string(i) + "\r\n\r\n";
        w->write(bytes);
        w->write(body);
        const auto sent = Clock::now();
        std::mutex one;
        std::condition_variable answered;
        bool got = false;
        w->commit(test::sampleEnvelope(), "<bench>", [&](StoreResult) {
          std::lock_guard lock(one);
          got = true;
          answered.notify_all();
        });
        std::unique_lock lock(one);
        answered.wait(lock, [&] { return got; });
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
        std::lock_guard all(m);
        latencies.push_back(ms);
        ++done;
      }
    });
  }
  for (auto& th : threads) th.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  IntakeRun out;
  out.perSecond = done / seconds;
  out.p99ms = latencies.empty() ? 0 : latencies[latencies.size() * 99 / 100];
  return out;
}

// Every message received so far: old, clean, judged, so its content is due.
void ageEverything(const std::string& url) {
  db::Database database(url);
  database.session() << "UPDATE messages SET state = 'checked', verdict = 'clean',"
                        " report_status = 'none', received_at = '2020-01-01T00:00:00.000Z'"
                        " WHERE state = 'pending' AND content_expired_at IS NULL",
      now;
}

}  // namespace

int main(int argc, char** argv) {
  int copies = 10000, intakeCount = 4000;
  std::size_t size = 8192;
  std::string dir = "/tmp/retention-bench-" + std::to_string(getpid());
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--copies")
      copies = std::atoi(argv[i + 1]);
    else if (a == "--intake")
      intakeCount = std::atoi(argv[i + 1]);
    else if (a == "--size")
      size = static_cast<std::size_t>(std::atoll(argv[i + 1]));
    else if (a == "--dir")
      dir = argv[i + 1];
    else {
      std::cerr << "usage: retention_bench [--copies N] [--intake M] [--size BYTES] [--dir DIR]\n";
      return 2;
    }
  }
  std::filesystem::create_directories(dir);
  const std::string url = "sqlite:" + dir + "/bccsink.db";
  {
    db::Database database(url);
    database.migrate();
  }
  Spool spool(dir + "/spool");
  spool.recover(nullptr);
  GroupCommitter committer(url, spool);
  Intake intake(spool, committer, {0, 0, "sink-a"});

  RetentionSettings rs;
  rs.databaseUrl = url;
  rs.spoolDir = dir + "/spool";
  rs.filesDir = dir + "/files";
  rs.sink = "sink-a";
  rs.keepClean = std::chrono::hours(24 * 7);
  rs.keepFlagged = std::chrono::hours(24 * 90);

  takeIn(intake, copies, size);
  ageEverything(url);
  double aloneRate = 0, aloneSeconds = 0;
  {
    RetentionStage stage(rs);
    const auto start = Clock::now();
    auto sweep = stage.sweepOnce();
    aloneSeconds = std::chrono::duration<double>(Clock::now() - start).count();
    aloneRate = sweep.expiredAge / aloneSeconds;
    std::printf("sweep alone: %llu copies expired in %.2f s (%.0f copies/s), %.1f MiB freed\n",
                static_cast<unsigned long long>(sweep.expiredAge), aloneSeconds, aloneRate,
                sweep.bytesFreed / 1048576.0);
  }
  auto base = takeIn(intake, intakeCount, size);
  std::printf("intake alone: %.0f messages/s, p99 %.1f ms\n", base.perSecond, base.p99ms);

  takeIn(intake, copies, size);
  ageEverything(url);
  RetentionStage stage(rs);
  RetentionSweep sweep;
  double sweepSeconds = 0;
  std::thread sweeper([&] {
    const auto start = Clock::now();
    sweep = stage.sweepOnce();
    sweepSeconds = std::chrono::duration<double>(Clock::now() - start).count();
  });
  auto during = takeIn(intake, intakeCount, size);
  sweeper.join();
  std::printf("intake during a sweep: %.0f messages/s, p99 %.1f ms\n", during.perSecond,
              during.p99ms);
  std::printf("sweep during intake: %llu copies expired in %.2f s (%.0f copies/s)\n",
              static_cast<unsigned long long>(sweep.expiredAge), sweepSeconds,
              sweep.expiredAge / sweepSeconds);
  std::printf(
      "RESULT sweep_alone_per_s=%.0f sweep_during_per_s=%.0f intake_alone_per_s=%.0f "
      "intake_during_per_s=%.0f p99_alone_ms=%.1f p99_during_ms=%.1f copies=%d size=%zu\n",
      aloneRate, sweep.expiredAge / sweepSeconds, base.perSecond, during.perSecond, base.p99ms,
      during.p99ms, copies, size);
  committer.stop();
  std::filesystem::remove_all(dir);
  return 0;
}
