// db::Outage: a stage's failing rounds are logged once per outage, whatever the number of
// rounds and threads, and the pauses grow to their cap.

#include "db/Outage.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "test/LogCapture.h"

using namespace bccsink;
using std::chrono::milliseconds;

TEST(Outage, FailingRoundsOfSeveralThreadsAreOneLineAndTheRecoveryAnother) {
  test::LogCapture log("bccsink.test.outage");
  db::Outage outage(Poco::Logger::get("bccsink.test.outage"), "stage");
  outage.succeeded();  // nothing to end
  EXPECT_FALSE(outage.ongoing());
  std::thread other([&] {
    for (int i = 0; i < 3; ++i) outage.failed(std::runtime_error("server gone"));
  });
  other.join();
  for (int i = 0; i < 3; ++i) outage.failed(std::runtime_error("server gone"));
  EXPECT_EQ(log.count("stage: the database failed"), 1) << log.all();
  EXPECT_EQ(log.count("server gone"), 1) << log.all();
  // One of the two failing threads works again: the other has not yet.
  outage.succeeded();
  EXPECT_TRUE(outage.ongoing());
  EXPECT_EQ(log.count("works again"), 0) << log.all();
  std::thread([&] { outage.succeeded(); }).join();
  EXPECT_FALSE(outage.ongoing());
  EXPECT_EQ(log.count("stage: the database works again after"), 1) << log.all();
  EXPECT_EQ(log.count("(6 failed rounds)"), 1) << log.all();
  // The next outage is a new pair of lines.
  outage.failed(std::string("locked"));
  outage.succeeded();
  EXPECT_EQ(log.lines().size(), 4u) << log.all();
}

TEST(Outage, PausesDoubleFromTheFirstUpToTheCapAndStartOverAfterARecovery) {
  test::LogCapture log("bccsink.test.outage");
  db::Outage outage(Poco::Logger::get("bccsink.test.outage"), "stage", milliseconds(1000),
                    milliseconds(5000));
  std::vector<long> pauses;
  for (int i = 0; i < 5; ++i) pauses.push_back(outage.failed(std::string("x")).count());
  EXPECT_EQ(pauses, (std::vector<long>{1000, 2000, 4000, 5000, 5000}));
  outage.succeeded();
  EXPECT_EQ(outage.failed(std::string("x")).count(), 1000);
}

TEST(Outage, AnErrorOfSeveralLinesIsLoggedOnOne) {
  EXPECT_EQ(db::Outage::textOf(std::runtime_error(
                "connection refused\n\tIs the server running on that host?\n\n")),
            "connection refused Is the server running on that host?");
}
