#pragma once
// The administrator's subcommands of `bccsink`. main() only picks one.

#include <functional>
#include <string>
#include <vector>

namespace bccsink {

// What every subcommand gets: its own flags and positional words, the configuration
// file, and the `--Name value` configuration overrides.
struct CommandLine {
  std::string configPath;
  std::vector<std::string> overrides;
  std::vector<std::string> positional;
  std::vector<std::string> flags;                           // --json, --check, ...
  std::vector<std::pair<std::string, std::string>> values;  // --state pending, ...
  bool help = false;

  bool has(const std::string& flag) const;
  std::string value(const std::string& name, const std::string& fallback = "") const;
};

// Splits argv. `flagNames` are the subcommand's value-less flags, `valueNames` its
// flags that take a value; every other --Name goes to the configuration.
CommandLine parseCommandLine(const std::vector<std::string>& args,
                             const std::vector<std::string>& flagNames,
                             const std::vector<std::string>& valueNames);

int runServe(const std::vector<std::string>& args);
int runCheckConfig(const std::vector<std::string>& args);
int runQueue(const std::vector<std::string>& args);
int runScan(const std::vector<std::string>& args);
int runReport(const std::vector<std::string>& args);
int runStats(const std::vector<std::string>& args);
int runDb(const std::vector<std::string>& args);
int runQuarantine(const std::vector<std::string>& args);

// Runs a command's body: an exception (a configuration, database or network error) is
// printed as "bccsink: WHAT" and the exit code is 1.
int withErrorsReported(const std::function<int()>& body);

// The option list for --help texts, built from the configuration schema.
std::string configHelp();

}  // namespace bccsink
