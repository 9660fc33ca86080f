// What Poco 1.11's PostgreSQL connector (Debian's libpocodatapostgresql80) does on a real
// PostgreSQL 15: the behaviour db/'s PostgreSQL engine relies on, and the hazards it must
// go around (db/POSTGRES.md). Each test runs in a database of its own on the server of the
// ctest fixture `postgres` (test/PostgresServer.h); the restart test starts its own server.

#include <Poco/Data/DataException.h>
#include <Poco/Data/LOB.h>
#include <Poco/Data/MetaColumn.h>
#include <Poco/Data/PostgreSQL/PostgreSQLException.h>
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <thread>

#include "test/PostgresServer.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;
using Poco::Data::BLOB;
using Poco::Data::MetaColumn;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;
namespace pg = Poco::Data::PostgreSQL;

namespace {

struct PostgresConnectorTest : ::testing::Test {
  test::TestDatabase db;
  Session s = db.session();
};

BLOB blob(const std::string& bytes) {
  return BLOB(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::string bytes(const BLOB& b) {
  return std::string(b.begin(), b.end());
}

// The claim of db/MessageQueue.cpp on a small queue: the oldest pending row, taken.
std::vector<std::string> claim(Session& session, const std::string& who) {
  std::string owner = who;
  std::vector<std::string> ids;
  session << "UPDATE q SET state = 'analyzing', owner = $1 WHERE id = (SELECT id FROM q"
             " WHERE state = 'pending' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id",
      use(owner), into(ids), now;
  return ids;
}

}  // namespace

TEST_F(PostgresConnectorTest, PlaceholdersAreDollarNumbersAQuestionMarkIsAnError) {
  Poco::Int64 in = 7, out = 0;
  s << "SELECT $1::bigint + 1", use(in), into(out), now;
  EXPECT_EQ(out, 8);
  // Poco 1.11 passes the SQL to PostgreSQL as written: db/'s `?` must become `$n`.
  EXPECT_THROW((s << "SELECT ?::bigint + 1", use(in), into(out), now), pg::StatementException);
  // A number used twice is one parameter, bound once.
  std::string word = "ab", twice;
  s << "SELECT $1::text || $1::text", use(word), into(twice), now;
  EXPECT_EQ(twice, "abab");
}

TEST_F(PostgresConnectorTest, OpensKeywordValuePairsNotAUrlOverTcpOrTheUnixSocket) {
  auto& server = test::PostgresServer::shared();
  // Poco splits the string on spaces and each piece on '=' before libpq sees it.
  EXPECT_THROW(Session("postgresql", server.url(db.name()), 5), pg::PostgreSQLException);
  EXPECT_THROW(Session("postgresql", server.conninfo(db.name()) + " application_name='a b'", 5),
               pg::PostgreSQLException);
  Session tcp("postgresql", server.conninfo(db.name()), 5);
  std::string address;
  tcp << "SELECT COALESCE(host(inet_server_addr()), 'socket')", into(address), now;
  EXPECT_EQ(address, "127.0.0.1");
  Session local("postgresql", server.socketConninfo(db.name()), 5);
  local << "SELECT COALESCE(host(inet_server_addr()), 'socket')", into(address), now;
  EXPECT_EQ(address, "socket");
}

// pocoproject/poco#3045: every row's BYTEA came back as all rows' bytes concatenated;
// fixed before 1.11.0 (Extractor: "don't share contents with _default").
TEST_F(PostgresConnectorTest, ByteaValuesStayApartAcrossSeveralRows) {
  s << "CREATE TABLE bin (id INTEGER PRIMARY KEY, data BYTEA)", now;
  const std::vector<std::string> values = {std::string("\x11\x11\x11", 3),
                                           std::string("\x00\xff\x00\x7f", 4),
                                           std::string(70'000, '\xab'), "x"};
  int id = 0;
  BLOB data;
  Statement insert = (s << "INSERT INTO bin (id, data) VALUES ($1, $2)", use(id), use(data));
  for (std::size_t i = 0; i < values.size(); ++i) {
    id = static_cast<int>(i);
    data = blob(values[i]);
    insert.execute();
  }
  s << "INSERT INTO bin (id, data) VALUES (10, NULL)", now;

  Statement select(s);
  select << "SELECT id, data FROM bin ORDER BY id";
  select.execute();
  RecordSet rs(select);
  EXPECT_EQ(rs.columnType("data"), MetaColumn::FDT_BLOB);
  ASSERT_EQ(rs.rowCount(), values.size() + 1);
  std::size_t row = 0;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext(), ++row) {
    if (row < values.size()) {
      EXPECT_EQ(bytes(rs["data"].extract<BLOB>()), values[row]) << "row " << row;
    } else {
      EXPECT_TRUE(rs["data"].isEmpty());
    }
  }
  std::vector<BLOB> all;
  s << "SELECT data FROM bin WHERE data IS NOT NULL ORDER BY id", into(all), now;
  ASSERT_EQ(all.size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(bytes(all[i]), values[i]);
}

// A BYTEA is read from PostgreSQL's text form; only the hex form (the default) is decoded.
TEST_F(PostgresConnectorTest, ByteaNeedsTheHexOutputAndAnEmptyValueBindsAsNull) {
  s << "CREATE TABLE bin (id INTEGER PRIMARY KEY, data BYTEA)", now;
  BLOB empty, some = blob("abc");
  s << "INSERT INTO bin VALUES (1, $1), (2, $2)", use(empty), use(some), now;
  int nulls = -1;
  s << "SELECT COUNT(*) FROM bin WHERE data IS NULL", into(nulls), now;
  EXPECT_EQ(nulls, 1);  // an empty BLOB is a null pointer to libpq: SQL NULL
  s << "SET bytea_output = 'escape'", now;
  BLOB read;
  s << "SELECT data FROM bin WHERE id = 2", into(read), now;
  EXPECT_NE(bytes(read), "abc");
  s << "SET bytea_output = 'hex'", now;
  s << "SELECT data FROM bin WHERE id = 2", into(read), now;
  EXPECT_EQ(bytes(read), "abc");
}

TEST_F(PostgresConnectorTest, TextColumnsAreClobsReadPerRowAndNullIsEmpty) {
  s << "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT)", now;
  s << "INSERT INTO t VALUES (1, 'alpha', NULL), (2, 'beta', 'x'), (3, '', 'y')", now;
  Statement select(s);
  select << "SELECT name, note FROM t ORDER BY id";
  select.execute();
  RecordSet rs(select);
  EXPECT_EQ(rs.columnType("name"), MetaColumn::FDT_CLOB);
  std::vector<std::string> names, notes;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    EXPECT_FALSE(rs["name"].isEmpty());  // '' is not NULL
    names.push_back(rs["name"].convert<std::string>());
    notes.push_back(rs["note"].isEmpty() ? "<null>" : rs["note"].convert<std::string>());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"alpha", "beta", ""}));
  EXPECT_EQ(notes, (std::vector<std::string>{"<null>", "x", "y"}));
}

TEST_F(PostgresConnectorTest, Int64BindsAndReadsBackBeyondThirtyTwoBits) {
  s << "CREATE TABLE n (k INTEGER PRIMARY KEY, v BIGINT NOT NULL)", now;
  const std::vector<Poco::Int64> values = {0, -1, 5'000'000'000,
                                           std::numeric_limits<Poco::Int64>::max(),
                                           std::numeric_limits<Poco::Int64>::min()};
  int k = 0;
  Poco::Int64 v = 0;
  Statement insert = (s << "INSERT INTO n (k, v) VALUES ($1, $2)", use(k), use(v));
  for (std::size_t i = 0; i < values.size(); ++i) {
    k = static_cast<int>(i);
    v = values[i];
    insert.execute();
  }
  std::vector<Poco::Int64> read;
  s << "SELECT v FROM n ORDER BY k", into(read), now;
  EXPECT_EQ(read, values);

  Statement select(s);
  select << "SELECT v, k FROM n ORDER BY k";
  select.execute();
  RecordSet rs(select);
  EXPECT_EQ(rs.columnType(0), MetaColumn::FDT_INT64);
  EXPECT_EQ(rs.columnType(1), MetaColumn::FDT_INT32);
  std::size_t row = 0;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext(), ++row) {
    EXPECT_EQ(rs.value(0).convert<std::int64_t>(), values[row]);
  }

  std::int64_t key = 5'000'000'000, limit = 2, count = 0;
  int found = -1;
  s << "SELECT k FROM n WHERE v = $1", use(key), into(found), now;
  EXPECT_EQ(found, 2);
  std::vector<int> first;
  s << "SELECT k FROM n ORDER BY k LIMIT $1", use(limit), into(first), now;
  EXPECT_EQ(first, (std::vector<int>{0, 1}));
  s << "SELECT COUNT(*) FROM n", into(count), now;
  EXPECT_EQ(count, 5);
}

TEST_F(PostgresConnectorTest, NullablesBindAsNullAndReadBackAsNull) {
  s << "CREATE TABLE nul (id INTEGER PRIMARY KEY, s TEXT, n BIGINT)", now;
  Poco::Nullable<std::string> noText, text(std::string("v"));
  Poco::Nullable<Poco::Int64> noNumber, number(Poco::Int64(5'000'000'000));
  s << "INSERT INTO nul VALUES (1, $1, $2), (2, $3, $4)", use(noText), use(noNumber), use(text),
      use(number), now;
  Poco::Nullable<std::string> readText;
  Poco::Nullable<Poco::Int64> readNumber;
  s << "SELECT s, n FROM nul WHERE id = 1", into(readText), into(readNumber), now;
  EXPECT_TRUE(readText.isNull());
  EXPECT_TRUE(readNumber.isNull());
  s << "SELECT s, n FROM nul WHERE id = 2", into(readText), into(readNumber), now;
  ASSERT_FALSE(readText.isNull());
  EXPECT_EQ(readText.value(), "v");
  EXPECT_EQ(readNumber.value(), 5'000'000'000);
  // A NULL parameter takes its type from where it stands (db/MessageFiles.cpp's COALESCE).
  s << "UPDATE nul SET s = COALESCE($1, s) WHERE id = 2", use(noText), now;
  s << "SELECT s FROM nul WHERE id = 2", into(readText), now;
  EXPECT_EQ(readText.value(), "v");
}

// bool binds as the text TRUE/FALSE: right for BOOLEAN, refused by the INTEGER flags of
// db/Schema.cpp, which are bound as int 0/1.
TEST_F(PostgresConnectorTest, BoolBindsAsTrueOrFalseWhichAnIntegerColumnRefuses) {
  s << "CREATE TABLE f (id INTEGER PRIMARY KEY, flag INTEGER, yes BOOLEAN)", now;
  bool flag = true;
  int one = 1;
  EXPECT_THROW((s << "INSERT INTO f (id, flag) VALUES (1, $1)", use(flag), now),
               pg::StatementException);
  s << "INSERT INTO f (id, flag, yes) VALUES (1, $1, $2)", use(one), use(flag), now;
  bool yes = false;
  s << "SELECT yes FROM f WHERE flag = 1", into(yes), now;
  EXPECT_TRUE(yes);
}

TEST_F(PostgresConnectorTest, ExecuteCountsAffectedRowsAndOnConflictDoNothingCountsZero) {
  s << "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)", now;
  std::string k = "a";
  Poco::Int64 v = 1;
  Statement insert =
      (s << "INSERT INTO kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING", use(k), use(v));
  EXPECT_EQ(insert.execute(), 1u);
  EXPECT_EQ(insert.execute(), 0u);
  k = "b";
  EXPECT_EQ(insert.execute(), 1u);
  Statement update(s);
  update << "UPDATE kv SET v = v + 1";
  EXPECT_EQ(update.execute(), 2u);
  Statement none(s);
  none << "UPDATE kv SET v = 0 WHERE k = 'zzz'";
  EXPECT_EQ(none.execute(), 0u);
}

// db/FileRepository.cpp's claimSubmission: inserted, refused while a lease lives, taken
// over when it ran out; RETURNING says which.
TEST_F(PostgresConnectorTest, UpsertWithAWhereReturnsARowOnlyWhenItWrote) {
  s << "CREATE TABLE subs (sha TEXT NOT NULL, analyzer TEXT NOT NULL, owner TEXT NOT NULL,"
       " lease_until BIGINT NOT NULL, PRIMARY KEY (sha, analyzer))",
      now;
  auto take = [&](const std::string& who, Poco::Int64 nowMs, Poco::Int64 until) {
    std::string sha = "aa", analyzer = "vxcube", owner = who;
    std::vector<std::string> claimed;
    s << "INSERT INTO subs (sha, analyzer, owner, lease_until) VALUES ($1, $2, $3, $4)"
         " ON CONFLICT (sha, analyzer) DO UPDATE SET owner = excluded.owner,"
         " lease_until = excluded.lease_until WHERE subs.lease_until < $5 RETURNING owner",
        use(sha), use(analyzer), use(owner), use(until), use(nowMs), into(claimed), now;
    return claimed;
  };
  EXPECT_EQ(take("sink-a", 0, 100), std::vector<std::string>{"sink-a"});
  EXPECT_TRUE(take("sink-b", 50, 150).empty());
  EXPECT_EQ(take("sink-b", 150, 250), std::vector<std::string>{"sink-b"});
}

TEST_F(PostgresConnectorTest, SkipLockedHandsTwoOpenClaimsDifferentRowsWithoutWaiting) {
  s << "CREATE TABLE q (id TEXT PRIMARY KEY, state TEXT NOT NULL, owner TEXT)", now;
  s << "INSERT INTO q (id, state) VALUES ('01', 'pending'), ('02', 'pending'), ('03', 'pending')",
      now;
  Session a = db.session(), b = db.session(), c = db.session();
  // Were the locked row waited for, B would fail after this instead of hanging the test.
  b << "SET lock_timeout = '5s'", now;
  a << "BEGIN", now;
  b << "BEGIN", now;
  EXPECT_EQ(claim(a, "A"), std::vector<std::string>{"01"});
  EXPECT_EQ(claim(b, "B"), std::vector<std::string>{"02"});
  // Without SKIP LOCKED the row is A's until it commits (NOWAIT says so instead of waiting).
  c << "BEGIN", now;
  EXPECT_THROW((c << "SELECT id FROM q WHERE id = '01' FOR UPDATE NOWAIT", now),
               pg::StatementException);
  c << "ROLLBACK", now;
  a << "COMMIT", now;
  b << "ROLLBACK", now;  // B's claim is undone: 02 is pending again
  EXPECT_EQ(claim(s, "C"), std::vector<std::string>{"02"});
  EXPECT_EQ(claim(s, "C"), std::vector<std::string>{"03"});
  EXPECT_TRUE(claim(s, "C").empty());
}

// The migrations' guard: the second sink to start waits for the first one's transaction.
TEST_F(PostgresConnectorTest, AdvisoryXactLockHoldsASecondSessionUntilTheFirstCommits) {
  const Poco::Int64 key = 0x62636373696e6b;  // "bccsink"
  Session a = db.session(), b = db.session(), watcher = db.session();
  a << "BEGIN", now;
  Poco::Int64 k = key;
  a << "SELECT pg_advisory_xact_lock($1)", use(k), now;  // returns void: no into()
  bool got = true;
  b << "SELECT pg_try_advisory_xact_lock($1)", use(k), into(got), now;
  EXPECT_FALSE(got);

  std::atomic<bool> acquired{false};
  std::thread second([&] {
    Poco::Int64 k2 = key;
    b << "BEGIN", now;
    b << "SELECT pg_advisory_xact_lock($1)", use(k2), now;
    acquired = true;
    b << "COMMIT", now;
  });
  // The server shows the second session waiting: that, not a sleep, is the event.
  Poco::Int64 waiting = 0;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       waiting == 0 && std::chrono::steady_clock::now() < until;) {
    watcher << "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        into(waiting), now;
    if (waiting == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(waiting, 1);
  EXPECT_FALSE(acquired);
  a << "COMMIT", now;  // a transaction-level advisory lock ends with its transaction
  second.join();
  EXPECT_TRUE(acquired);
  watcher << "SELECT pg_try_advisory_xact_lock($1)", use(k), into(got), now;
  EXPECT_TRUE(got);
}

// Unlike SQLite, a failed statement spoils the rest of its transaction.
TEST_F(PostgresConnectorTest, AFailedStatementAbortsItsTransactionUntilRollback) {
  s << "CREATE TABLE t (id INTEGER PRIMARY KEY)", now;
  s << "BEGIN", now;
  s << "INSERT INTO t VALUES (1)", now;
  EXPECT_THROW((s << "INSERT INTO t VALUES (1)", now), pg::StatementException);
  try {
    s << "INSERT INTO t VALUES (2)", now;
    ADD_FAILURE() << "a statement after an error ran inside the aborted transaction";
  } catch (const pg::StatementException& e) {
    // Refused when it is prepared: PQprepare's errors carry no SQLSTATE in Poco's text.
    EXPECT_NE(e.displayText().find("current transaction is aborted"), std::string::npos)
        << e.displayText();
  }
  EXPECT_TRUE(s.isConnected());  // an SQL error leaves the session usable
  s << "ROLLBACK", now;
  int n = -1;
  s << "SELECT COUNT(*) FROM t", into(n), now;
  EXPECT_EQ(n, 0);
}

// Mail carries bytes; PostgreSQL's TEXT holds UTF-8 without NUL (SQLite takes anything).
TEST_F(PostgresConnectorTest, TextRefusesBytesThatAreNotUtf8AndEndsAtANul) {
  s << "CREATE TABLE t (v TEXT)", now;
  std::string latin1 = "caf\xe9";
  try {
    s << "INSERT INTO t VALUES ($1)", use(latin1), now;
    ADD_FAILURE() << "PostgreSQL stored text that is not UTF-8";
  } catch (const pg::StatementException& e) {
    EXPECT_NE(e.displayText().find("22021"), std::string::npos) << e.displayText();
  }
  std::string withNul("a\0b", 3), read;
  s << "INSERT INTO t VALUES ($1)", use(withNul), now;
  s << "SELECT v FROM t", into(read), now;
  EXPECT_EQ(read, "a");  // text parameters are C strings: the rest is dropped silently
}

// What intake sees when the database goes away mid-transaction (`pg_ctl stop -m fast`, as
// a restart or a failover does), and how a session comes back.
TEST(PostgresConnectorServerTest, ARestartRollsBackTheOpenTransactionAndTheSessionReconnects) {
  auto server = test::PostgresServer::startPrivate();
  Session a = server->session("bccsink");
  a << "CREATE TABLE t (id INTEGER PRIMARY KEY)", now;
  a << "BEGIN", now;
  a << "INSERT INTO t VALUES (1)", now;
  server->ctl("stop -m fast");

  // The first statement after it: a StatementException, the class of every SQL error too.
  // What tells the two apart is the session: no longer connected.
  try {
    a << "COMMIT", now;
    ADD_FAILURE() << "COMMIT succeeded with the server stopped";
  } catch (const pg::StatementException& e) {
    EXPECT_NE(e.displayText().find("server closed the connection unexpectedly"), std::string::npos)
        << e.displayText();
  }
  EXPECT_FALSE(a.isConnected());
  EXPECT_THROW((a << "SELECT 1", now), Poco::Data::NotConnectedException);
  EXPECT_THROW(server->session("bccsink"), Poco::Data::ConnectionFailedException);

  server->ctl("start");
  try {
    a.reconnect();
  } catch (const Poco::Exception& e) {
    FAIL() << "reconnect: " << e.displayText();
  }
  ASSERT_TRUE(a.isConnected());
  int n = -1;
  a << "SELECT COUNT(*) FROM t", into(n), now;
  EXPECT_EQ(n, 0);  // the transaction the server lost was never committed
  a << "INSERT INTO t VALUES (1)", now;
  a << "SELECT COUNT(*) FROM t", into(n), now;
  EXPECT_EQ(n, 1);
}

// DatabasePasswordFile: Poco cuts its connection string at every space, so a password goes
// to libpq through PGPASSWORD (read at each connect), whatever characters it holds.
TEST(PostgresConnectorServerTest, APasswordWithASpaceReachesLibpqOnlyThroughPgpassword) {
  const std::string password = "two words\\and=more";
  auto server = test::PostgresServer::startPrivate(password);
  const std::string conninfo = server->conninfo("bccsink");
  test::PostgresServer::registerConnector();
  ::unsetenv("PGPASSWORD");
  EXPECT_THROW(Session("postgresql", conninfo, 5), Poco::Data::ConnectionFailedException);
  // "password=two" and a keyword "words\and" that libpq does not know.
  EXPECT_THROW(Session("postgresql", conninfo + " password=" + password, 5),
               Poco::Data::ConnectionFailedException);
  ::setenv("PGPASSWORD", password.c_str(), 1);
  try {
    Session tcp("postgresql", conninfo, 5);
    int one = 0;
    tcp << "SELECT 1", into(one), now;
    EXPECT_EQ(one, 1);
  } catch (const Poco::Exception& e) {
    ADD_FAILURE() << e.displayText();
  }
  ::unsetenv("PGPASSWORD");
}
