// vxcube-emulator: the vxCube API emulator as a program (README.md beside this file).
// Prints "listening on HOST:PORT" as its first line, serves until SIGINT or SIGTERM, then
// prints its counters to stderr.

#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

#include "sandbox/analyzers/vxcube/emulator/Emulator.h"

namespace {

const char* const kUsage =
    "usage: vxcube-emulator --listen HOST:PORT --api-key KEY [options]\n"
    "  --listen HOST:PORT          where to listen (port 0: any free port); 127.0.0.1:8081\n"
    "  --api-key KEY               the key every call must carry (required)\n"
    "  --login USER:PASSWORD       what POST login accepts; emulator:emulator\n"
    "  --yara-rules DIR            YARA rules deciding verdicts (meta verdict = ...)\n"
    "  --dangerous-sha256 FILE     digests whose tasks end malware2 (one a line)\n"
    "  --suspicious-sha256 FILE    digests whose tasks end suspicious2\n"
    "  --failing-sha256 FILE       digests whose tasks end failed\n"
    "  --analysis-ms N             how long a task takes; 2000\n"
    "  --latency-ms N              delay before every API answer; 0\n"
    "  --error-rate R --error-code C   answer C to a share R of all API calls\n"
    "  --fault CALL:KIND[:RATE]    inject a fault (repeatable): CALL is login, license,\n"
    "                              formats, platforms, lookup, upload, sample, analyze, poll,\n"
    "                              task, report or any; KIND an HTTP status, hang, reset,\n"
    "                              badjson or slowN; RATE a probability or xN (next N calls)\n"
    "  --retry-after S             Retry-After of an injected 429/503; 1\n"
    "  --threads N                 connections served at once; 32\n"
    "  --tls-cert FILE --tls-key FILE   serve HTTPS with this PEM certificate and key\n";

[[noreturn]] void usage(const std::string& error) {
  std::cerr << "vxcube-emulator: " << error << "\n\n" << kUsage;
  std::exit(2);
}

long number(const std::string& option, const std::string& text, long min, long max) {
  try {
    std::size_t used = 0;
    long n = std::stol(text, &used);
    if (used == text.size() && n >= min && n <= max) return n;
  } catch (const std::logic_error&) {
  }
  usage(option + " wants a number from " + std::to_string(min) + " to " + std::to_string(max));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace bccsink::emulator;
  EmulatorOptions options;
  options.listen = "127.0.0.1:8081";
  double errorRate = 0;
  int errorCode = 0;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::cout << kUsage;
        return 0;
      }
      if (i + 1 >= argc) usage(arg == "" ? "empty argument" : arg + " wants a value");
      std::string value = argv[++i];
      if (arg == "--listen") {
        options.listen = value;
      } else if (arg == "--api-key") {
        options.apiKey = value;
      } else if (arg == "--login") {
        auto colon = value.find(':');
        if (colon == std::string::npos) usage("--login wants USER:PASSWORD");
        options.login = value.substr(0, colon);
        options.password = value.substr(colon + 1);
      } else if (arg == "--tls-cert") {
        options.tlsCert = value;
      } else if (arg == "--tls-key") {
        options.tlsKey = value;
      } else if (arg == "--yara-rules") {
        options.yaraRulesDir = value;
      } else if (arg == "--dangerous-sha256") {
        for (auto& s : readSha256List(value)) options.dangerousSha256.push_back(s);
      } else if (arg == "--suspicious-sha256") {
        for (auto& s : readSha256List(value)) options.suspiciousSha256.push_back(s);
      } else if (arg == "--failing-sha256") {
        for (auto& s : readSha256List(value)) options.failingSha256.push_back(s);
      } else if (arg == "--analysis-ms") {
        options.analysisTime = std::chrono::milliseconds(number(arg, value, 0, 86400000));
      } else if (arg == "--latency-ms") {
        options.latency = std::chrono::milliseconds(number(arg, value, 0, 3600000));
      } else if (arg == "--error-rate") {
        try {
          errorRate = std::stod(value);
        } catch (const std::logic_error&) {
          usage("--error-rate wants a probability");
        }
        if (!(errorRate >= 0 && errorRate <= 1)) usage("--error-rate wants a probability");
      } else if (arg == "--error-code") {
        errorCode = static_cast<int>(number(arg, value, 400, 599));
      } else if (arg == "--fault") {
        options.faults.push_back(parseFault(value));
      } else if (arg == "--retry-after") {
        options.retryAfterSeconds = static_cast<int>(number(arg, value, 0, 86400));
      } else if (arg == "--threads") {
        options.maxThreads = static_cast<int>(number(arg, value, 2, 4096));
      } else {
        usage("unknown option " + arg);
      }
    }
    if (options.apiKey.empty()) usage("--api-key is required");
    if ((errorRate > 0) != (errorCode != 0)) usage("--error-rate and --error-code go together");
    if (errorRate > 0) {
      options.faults.push_back(
          parseFault("any:" + std::to_string(errorCode) + ":" + std::to_string(errorRate)));
    }

    // The signals are waited for by this thread; block them before any other thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    Emulator emulator(options);
    auto host = emulator.host();
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    std::cout << "listening on " << host << ":" << emulator.port() << std::endl;
    int sig = 0;
    sigwait(&signals, &sig);
    emulator.stop();
    auto s = emulator.stats();
    std::cerr << "vxcube-emulator: stopped; requests=" << s.requests << " lookups=" << s.lookups
              << " uploads=" << s.uploads << " analyses=" << s.analyses << " polls=" << s.polls
              << " faults=" << s.faults << " samples=" << s.samples << "\n";
    return 0;
  } catch (const std::invalid_argument& e) {
    usage(e.what());
  } catch (const std::exception& e) {
    std::cerr << "vxcube-emulator: " << e.what() << "\n";
    return 1;
  }
}
