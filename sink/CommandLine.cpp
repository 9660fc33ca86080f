#include <Poco/Exception.h>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "sink/Commands.h"
#include "sink/Config.h"

namespace bccsink {

bool CommandLine::has(const std::string& flag) const {
  return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

std::string CommandLine::value(const std::string& name, const std::string& fallback) const {
  for (const auto& [k, v] : values) {
    if (k == name) return v;
  }
  return fallback;
}

CommandLine parseCommandLine(const std::vector<std::string>& args,
                             const std::vector<std::string>& flagNames,
                             const std::vector<std::string>& valueNames) {
  CommandLine cl;
  auto isIn = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--help" || a == "-h") {
      cl.help = true;
    } else if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name = a.substr(2), val;
      bool inlineValue = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        val = name.substr(eq + 1);
        name = name.substr(0, eq);
        inlineValue = true;
      }
      if (isIn(flagNames, name)) {
        if (inlineValue) throw ConfigError("--" + name + " takes no value");
        cl.flags.push_back(name);
        continue;
      }
      if (!inlineValue) {
        if (i + 1 >= args.size()) throw ConfigError("option --" + name + " needs a value");
        val = args[++i];
      }
      if (name == "config") {
        cl.configPath = val;
      } else if (isIn(valueNames, name)) {
        cl.values.emplace_back(name, val);
      } else if (val.empty()) {
        // `--User ''`: program_options refuses "--User=", but takes an empty next token.
        cl.overrides.push_back("--" + name);
        cl.overrides.push_back("");
      } else {
        cl.overrides.push_back("--" + name + "=" + val);
      }
    } else {
      cl.positional.push_back(a);
    }
  }
  return cl;
}

std::string configHelp() {
  std::ostringstream out;
  out << "Configuration options (in the file as Name = value, or as --Name value):\n";
  for (const auto& o : configOptions()) {
    out << "  --" << o.name << " (default: '" << o.defaultValue << "')\n      " << o.help << "\n";
  }
  return out.str();
}

int withErrorsReported(const std::function<int()>& body) {
  try {
    return body();
  } catch (const Poco::Exception& e) {
    std::cerr << "bccsink: " << e.displayText() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "bccsink: " << e.what() << "\n";
  }
  return 1;
}

}  // namespace bccsink
