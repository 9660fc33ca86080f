// db_bench: the database's side of bccsink measured alone, on either engine.
//
//   db_bench claims --url URL --claimers N --seconds S [--batch B] [--messages M]
//
// claims: M pending messages of one sink (a name of this run's own, so a database reused
// across runs only grows), then N threads, each with its own connection as a worker has
// (db::Durability::Deferred, as sandbox/Pipeline's), claim up to B of them at a time
// (db::MessageQueue::claim) and mark what they claimed checked (markChecked), for S
// seconds or until none is left. Prints
//   claims/s: X (N claimers, batch B, engine E)
//   RESULT claims_per_s=X claimed=C seconds=T claimers=N batch=B engine=E
// The figure counts messages claimed and checked per second of wall time; every 10 s the
// rate of those 10 s goes to standard error. Run by
// test/bench/postgres.sh beside SQLite; never by ctest.

#include <Poco/Exception.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/MessageQueue.h"
#include "test/db/SampleRecord.h"

namespace {

using namespace bccsink;
using Clock = std::chrono::steady_clock;

const char* kUsage =
    "usage: db_bench claims --url URL --claimers N --seconds S [--batch B] [--messages M]\n"
    "  URL: sqlite:PATH or postgresql://USER@HOST:PORT/DB; B default 10, M default 50000\n";

struct Options {
  std::string url;
  int claimers = 1;
  double seconds = 10;
  std::size_t batch = 10;
  std::size_t messages = 50000;
};

Options parse(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) != "claims") throw std::invalid_argument("no command");
  Options o;
  for (int i = 2; i < argc; ++i) {
    std::string name = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(name + " needs a value");
    std::string value = argv[++i];
    if (name == "--url") {
      o.url = value;
    } else if (name == "--claimers") {
      o.claimers = std::stoi(value);
    } else if (name == "--seconds") {
      o.seconds = std::stod(value);
    } else if (name == "--batch") {
      o.batch = std::stoul(value);
    } else if (name == "--messages") {
      o.messages = std::stoul(value);
    } else {
      throw std::invalid_argument("unknown option " + name);
    }
  }
  if (o.url.empty() || o.claimers < 1 || o.seconds <= 0 || o.batch < 1 || o.messages < 1)
    throw std::invalid_argument("--url, and positive --claimers, --seconds, --batch, --messages");
  return o;
}

// M pending rows of `sink`, as the intake writes them, a thousand per transaction.
void fill(db::Database& database, const std::string& sink, std::size_t count) {
  db::MessageQueue queue(database);
  const std::string at = isoNow();
  std::vector<db::MessageRecord> chunk;
  for (std::size_t i = 0; i < count; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "%s-%010zu", sink.c_str(), i);
    chunk.push_back(test::sampleRecord(id, at, sink));
    if (chunk.size() == 1000 || i + 1 == count) {
      queue.insertPending(chunk);
      chunk.clear();
    }
  }
}

int claims(const Options& o) {
  const std::string sink =
      "bench" + std::to_string(nowMs() % 100000000) + "p" + std::to_string(::getpid());
  std::string engine;
  {
    db::Database database(o.url);
    database.migrate();
    engine = database.engine() == db::Engine::Sqlite ? "sqlite" : "postgresql";
    const auto start = Clock::now();
    fill(database, sink, o.messages);
    if (database.engine() == db::Engine::Postgresql) {
      // What autovacuum's analyze does within a minute or so. Until then the statistics
      // have never seen this run's sink, estimate one pending row, and the planner may take
      // messages_received (sink, received_at) and sort the whole backlog at every claim
      // (measured: 22 ms a claim for 29,000 pending rows, against 0.1 ms on messages_state).
      database.session() << "ANALYZE messages", Poco::Data::Keywords::now;
    }
    std::chrono::duration<double> took = Clock::now() - start;
    std::cerr << "filled " << o.messages << " pending messages in " << took.count() << " s\n";
  }
  std::atomic<long long> claimed{0};
  std::atomic<bool> stop{false}, emptied{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  for (int t = 0; t < o.claimers; ++t) {
    threads.emplace_back([&] {
      try {
        db::Database database(o.url, db::Durability::Deferred);
        db::MessageQueue queue(database);
        while (!stop && Clock::now() < end) {
          const auto now = nowMs();
          auto batch = queue.claim(sink, o.batch, now + 600000, now + 600000, isoNow());
          if (batch.empty()) {
            emptied = true;
            break;
          }
          std::vector<std::pair<std::string, std::string>> verdicts;
          for (const auto& m : batch) verdicts.emplace_back(m.id, "clean");
          claimed += static_cast<long long>(queue.markChecked(verdicts, sink, isoNow()).size());
        }
      } catch (const Poco::Exception& e) {
        std::cerr << "claimer: " << e.displayText().substr(0, 500) << "\n";
        ++failures;
      } catch (const std::exception& e) {
        std::cerr << "claimer: " << e.what() << "\n";
        ++failures;
      }
      stop = true;  // the first to run out ends the measurement: the others would too
    });
  }
  // Every 10 s, the rate of those 10 s on standard error: steady or sinking (a long
  // transaction elsewhere holds back vacuum, and the claims wade through dead rows).
  long long before = 0;
  auto mark = start;
  while (!stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (Clock::now() - mark >= std::chrono::seconds(10)) {
      const long long sofar = claimed;
      std::chrono::duration<double> at = Clock::now() - start, span = Clock::now() - mark;
      std::fprintf(stderr, "at %.0f s: %.0f claims/s\n", at.count(),
                   static_cast<double>(sofar - before) / span.count());
      before = sofar;
      mark = Clock::now();
    }
  }
  for (auto& t : threads) t.join();
  std::chrono::duration<double> elapsed = Clock::now() - start;
  if (failures > 0) return 1;
  if (emptied) {
    std::cerr << "db_bench: the " << o.messages << " messages ran out after " << elapsed.count()
              << " s: give more (--messages) for a steady figure\n";
  }
  const double rate = static_cast<double>(claimed) / elapsed.count();
  std::printf("claims/s: %.0f (%d claimers, batch %zu, engine %s)\n", rate, o.claimers, o.batch,
              engine.c_str());
  std::printf(
      "RESULT claims_per_s=%.0f claimed=%lld seconds=%.2f claimers=%d batch=%zu engine=%s\n", rate,
      static_cast<long long>(claimed), elapsed.count(), o.claimers, o.batch, engine.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "db_bench: " << e.what() << "\n" << kUsage;
    return 2;
  }
  try {
    return claims(o);
  } catch (const Poco::Exception& e) {
    std::cerr << "db_bench: " << e.displayText().substr(0, 500) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "db_bench: " << e.what() << "\n";
    return 1;
  }
}
