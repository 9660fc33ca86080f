#pragma once
// A real clamd (Debian's clamav-daemon) for tests: its own folder with a clamd.conf, a
// unix socket and a loopback TCP port, and a signature database the test writes itself,
// so no downloaded database is needed and nothing of the machine's clamd is touched.
//
// The database: BccSink.Test.ClamExe, the MD5 signature (.hdb, `md5:size:name`) that
// ClamAV's own `sigtool --md5` writes for Debian's clamav-testfiles/clam.exe, which clamd also
// finds inside every archive, packer and document of that package; and BccSink.Test.Marker, a body
// signature (.ndb) of kMarker anywhere in any file. clamd reports both with
// ".UNOFFICIAL" appended (they are not ClamAV's own).
//
// clamd runs in the foreground as our child, as whoever runs the tests (root needs no
// `User` line), and gets SIGTERM when the test process ends, even by a crash.

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test/sandbox/Collect.h"

namespace bccsink::test {

inline const std::string kClamExeSignature = "BccSink.Test.ClamExe.UNOFFICIAL";
inline const std::string kMarkerSignature = "BccSink.Test.Marker.UNOFFICIAL";
inline const std::string kMarker = "bccsink-clamd-test-marker:9f1c2e7a";

class ClamdProcess {
 public:
  // Starts clamd and waits (at most 20 s) until both sockets take connections. Throws
  // std::runtime_error saying what is missing or what clamd logged.
  explicit ClamdProcess(const std::string& streamMaxLength = "2M") {
    clamd_ = findProgram("clamd");
    if (clamd_.empty())
      throw std::runtime_error(
          "clamd is not installed: install Debian's clamav-daemon (deploy/install-deps.sh)");
    auto clamExe = std::string(kClamavTestfiles) + "/clam.exe";
    if (!std::filesystem::exists(clamExe))
      throw std::runtime_error(clamExe +
                               " is missing: install Debian's clamav-testfiles "
                               "(deploy/install-deps.sh)");
    auto tmpl = (std::filesystem::temp_directory_path() / "bccsink-clamd-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl);
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/db");
    std::filesystem::create_directories(dir_ + "/tmp");

    std::ofstream(dir_ + "/db/bccsink-test.hdb") << hashSignature(clamExe, "BccSink.Test.ClamExe");
    std::ostringstream hex;
    for (unsigned char c : kMarker) hex << "0123456789abcdef"[c >> 4] << "0123456789abcdef"[c & 15];
    std::ofstream(dir_ + "/db/bccsink-test.ndb") << "BccSink.Test.Marker:0:*:" << hex.str() << "\n";

    // The free port is found by binding port 0 and letting it go, so another process may
    // take it first: then clamd exits at once and we try another.
    std::string error;
    for (int attempt = 0; attempt < 5; ++attempt) {
      {
        Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
        port_ = probe.address().port();
      }
      writeConfig(streamMaxLength);
      error = start();
      if (error.empty()) return;
    }
    std::filesystem::remove_all(dir_);
    throw std::runtime_error(error);
  }

  ~ClamdProcess() {
    stop();
    std::filesystem::remove_all(dir_);
  }
  ClamdProcess(const ClamdProcess&) = delete;
  ClamdProcess& operator=(const ClamdProcess&) = delete;

  std::string unixSocket() const { return "unix:" + socketPath(); }
  std::string tcpSocket() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }

  // SIGTERM, then SIGKILL after 5 s; reaps the child. Idempotent.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (::waitpid(pid_, nullptr, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > end) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }

 private:
  static std::string findProgram(const std::string& name) {
    std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
    path += ":/usr/sbin:/usr/local/sbin:/sbin";  // clamd is in sbin, often not on PATH
    std::stringstream dirs(path);
    for (std::string d; std::getline(dirs, d, ':');) {
      if (d.empty()) continue;
      auto candidate = d + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
  }

  // `sigtool --md5 FILE` prints `md5:size:FILE`; the name becomes `name`.
  static std::string hashSignature(const std::string& file, const std::string& name) {
    auto sigtool = findProgram("sigtool");
    if (sigtool.empty())
      throw std::runtime_error(
          "sigtool is not installed: install Debian's clamav (deploy/install-deps.sh)");
    std::string line;
    if (FILE* out = ::popen((sigtool + " --md5 '" + file + "'").c_str(), "r")) {
      char buf[512];
      while (std::fgets(buf, sizeof buf, out)) line += buf;
      if (::pclose(out) != 0) line.clear();
    }
    auto second = line.find(':', line.find(':') + 1);
    if (second == std::string::npos)
      throw std::runtime_error("sigtool --md5 " + file + " printed no signature: " + line);
    return line.substr(0, second + 1) + name + "\n";
  }

  std::string socketPath() const { return dir_ + "/clamd.sock"; }

  void writeConfig(const std::string& streamMaxLength) const {
    std::ofstream conf(dir_ + "/clamd.conf");
    conf << "Foreground yes\n"
         << "LocalSocket " << socketPath() << "\n"
         << "TCPSocket " << port_ << "\n"
         << "TCPAddr 127.0.0.1\n"
         << "DatabaseDirectory " << dir_ << "/db\n"
         << "TemporaryDirectory " << dir_ << "/tmp\n"
         << "LogFile " << dir_ << "/clamd.log\n"
         << "PidFile " << dir_ << "/clamd.pid\n"
         << "StreamMaxLength " << streamMaxLength << "\n"
         << "MaxThreads 8\n";
  }

  // '' once clamd takes connections on both sockets, else why not.
  std::string start() {
    std::filesystem::remove(dir_ + "/clamd.log");
    auto conf = "--config-file=" + dir_ + "/clamd.conf";
    auto out = dir_ + "/clamd.out";
    const char* argv[] = {clamd_.c_str(), conf.c_str(), nullptr};
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) return "fork failed";
    if (pid_ == 0) {  // only async-signal-safe calls until exec
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execv(argv[0], const_cast<char* const*>(argv));
      ::_exit(127);
    }
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "clamd exited at start (status " + std::to_string(status) + "): " + log();
      }
      if (accepts(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, socketPath())) &&
          accepts(Poco::Net::SocketAddress("127.0.0.1", port_))) {
        return {};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    return "clamd did not open its sockets within 20 s: " + log();
  }

  static bool accepts(const Poco::Net::SocketAddress& address) {
    try {
      Poco::Net::StreamSocket s;
      s.connect(address, Poco::Timespan(1, 0));
      return true;
    } catch (const Poco::Exception&) {
      return false;
    }
  }

  std::string log() const {
    std::string text;
    for (const auto* name : {"/clamd.out", "/clamd.log"}) {
      std::ifstream in(dir_ + name);
      text += std::string(std::istreambuf_iterator<char>(in), {});
    }
    return text.size() > 2000 ? "..." + text.substr(text.size() - 2000) : text;
  }

  std::string clamd_;
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace bccsink::test
