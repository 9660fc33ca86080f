#pragma once
// A PostgreSQL server for unit tests, run by test/postgres-private.sh.
//
// Under ctest it is the one server the fixture `postgres/start` runs for the whole run:
// BCCSINK_TEST_POSTGRES names its env file, and only tests whose name contains "Postgres"
// require that fixture (test/CMakeLists.txt). A test binary run by hand starts a server of
// its own on first use and stops it at exit. Each test takes a database of its own
// (TestDatabase), so tests run in parallel on one server. A test that must stop or restart
// a server starts a private one (PostgresServer::startPrivate).
//
// PostgreSQL missing is a failure, not a skip: the helper script says what to install.

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#ifndef BCCSINK_SOURCE_DIR
#error "BCCSINK_SOURCE_DIR must name the source tree (test/CMakeLists.txt defines it)"
#endif

namespace bccsink::test {

class PostgresServer {
 public:
  // The server of this process: the ctest fixture's, or one started now for this process.
  // Throws std::runtime_error (with the helper's output) when none can be had.
  static PostgresServer& shared() {
    static std::mutex mutex;
    static std::unique_ptr<PostgresServer> server;
    static std::string error;
    std::lock_guard lock(mutex);
    if (server) return *server;
    if (!error.empty()) throw std::runtime_error(error);
    try {
      const char* envFile = std::getenv("BCCSINK_TEST_POSTGRES");
      if (envFile && *envFile) {
        server.reset(new PostgresServer(readEnv(envFile), ""));
      } else {
        server = startPrivate();
      }
    } catch (const std::exception& e) {
      error = e.what();
      throw;
    }
    return *server;
  }

  // A server of the caller's own, stopped when it is destroyed. With a password (no single
  // quote in it), TCP logins must give it; the unix socket stays trusted.
  static std::unique_ptr<PostgresServer> startPrivate(const std::string& password = "") {
    static std::atomic<int> counter{0};
    auto envFile =
        (std::filesystem::temp_directory_path() /
         ("bccsink-pg-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".env"))
            .string();
    run((password.empty() ? "" : "PG_PASSWORD='" + password + "' ") + "bash " + script() +
        " start " + envFile);
    return std::unique_ptr<PostgresServer>(new PostgresServer(readEnv(envFile), envFile));
  }

  ~PostgresServer() {
    if (ownedEnvFile_.empty()) return;
    try {
      run("bash " + script() + " stop " + ownedEnvFile_);
    } catch (...) {
      // At exit nothing can be reported any more; the script's next start ends a stale one.
    }
  }

  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // libpq's keyword=value form, the one Poco::Data::PostgreSQL 1.11 accepts.
  std::string conninfo(const std::string& db) const {
    return "host=" + env_.at("PG_HOST") + " port=" + env_.at("PG_PORT") +
           " user=" + env_.at("PG_USER") + " dbname=" + db;
  }
  // The same database over the unix socket in the server's folder.
  std::string socketConninfo(const std::string& db) const {
    return "host=" + env_.at("PG_SOCKET_DIR") + " port=" + env_.at("PG_PORT") +
           " user=" + env_.at("PG_USER") + " dbname=" + db;
  }
  std::string url(const std::string& db) const {
    return "postgresql://" + env_.at("PG_USER") + "@" + env_.at("PG_HOST") + ":" +
           env_.at("PG_PORT") + "/" + db;
  }

  // pg_ctl on this server as its owner, e.g. ctl("stop -m fast"), ctl("start").
  void ctl(const std::string& args) const {
    run("bash -c 'set -e; source " + script() + "; PG_DIR=" + env_.at("PG_DIR") +
        " PG_BIN=" + env_.at("PG_BIN") + "; postgres_private_ctl " + args + "'");
  }

  // A session to `db` over TCP.
  Poco::Data::Session session(const std::string& db) const {
    registerConnector();
    return Poco::Data::Session("postgresql", conninfo(db), 5);
  }

  // Poco's "postgresql" connector, for a test that opens its own Session.
  static void registerConnector() {
    static std::once_flag once;
    std::call_once(once, [] { Poco::Data::PostgreSQL::Connector::registerConnector(); });
  }

 private:
  PostgresServer(std::map<std::string, std::string> env, std::string ownedEnvFile)
      : env_(std::move(env)), ownedEnvFile_(std::move(ownedEnvFile)) {}

  static std::string script() {
    return std::string(BCCSINK_SOURCE_DIR) + "/test/postgres-private.sh";
  }

  // Runs a shell command; throws with its output when it fails.
  static void run(const std::string& command) {
    std::string output;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) throw std::runtime_error("cannot run " + command);
    std::array<char, 512> buffer{};
    while (std::fgets(buffer.data(), buffer.size(), pipe)) output += buffer.data();
    if (::pclose(pipe) != 0) {
      throw std::runtime_error("private PostgreSQL: `" + command + "` failed:\n" + output);
    }
  }

  // The helper's KEY='value' lines.
  static std::map<std::string, std::string> readEnv(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("no PostgreSQL env file at " + path);
    std::map<std::string, std::string> env;
    for (std::string line; std::getline(in, line);) {
      auto eq = line.find('=');
      if (eq == std::string::npos || line.size() < eq + 3) continue;
      env[line.substr(0, eq)] = line.substr(eq + 2, line.size() - eq - 3);
    }
    for (const char* key : {"PG_DIR", "PG_BIN", "PG_HOST", "PG_PORT", "PG_SOCKET_DIR", "PG_USER"}) {
      if (!env.count(key)) throw std::runtime_error(path + " has no " + key);
    }
    return env;
  }

  std::map<std::string, std::string> env_;
  std::string ownedEnvFile_;  // set when this process started the server
};

// A database of this test's own on `server`, dropped when destroyed (sessions still open
// on it are ended: DROP DATABASE ... WITH (FORCE)).
class TestDatabase {
 public:
  explicit TestDatabase(const PostgresServer& server = PostgresServer::shared()) : server_(server) {
    static std::atomic<int> counter{0};
    name_ = "t" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    using namespace Poco::Data::Keywords;
    auto admin = server_.session("postgres");
    admin << "CREATE DATABASE " + name_, now;
  }
  ~TestDatabase() {
    try {
      using namespace Poco::Data::Keywords;
      auto admin = server_.session("postgres");
      admin << "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)", now;
    } catch (...) {
      // The server may be stopped by the test itself; its folder goes with it.
    }
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  std::string conninfo() const { return server_.conninfo(name_); }
  Poco::Data::Session session() const { return server_.session(name_); }

 private:
  const PostgresServer& server_;
  std::string name_;
};

}  // namespace bccsink::test
