#include "sandbox/analyzers/YaraRules.h"

#include <yara.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "base/Text.h"

namespace bccsink::sandbox {
namespace {

namespace fs = std::filesystem;

// libyara's global state (module tables, thread-local trampolines) is set up once per
// process: the first rule set initialises it, and it is finalised when the last rule set and
// this function's own reference are gone, so no rule set outlives it at exit.
std::shared_ptr<void> library() {
  static const std::shared_ptr<void> lib = [] {
    if (int r = yr_initialize(); r != ERROR_SUCCESS)
      throw std::runtime_error("cannot initialise libyara: error " + std::to_string(r));
    return std::shared_ptr<void>(nullptr, [](void*) { yr_finalize(); });
  }();
  return lib;
}

std::string errorText(int code) {
  switch (code) {
    case ERROR_INSUFFICIENT_MEMORY:
      return "out of memory";
    case ERROR_SCAN_TIMEOUT:
      return "timed out after " + std::to_string(YaraRules::kScanTimeoutSeconds) + " s";
    case ERROR_COULD_NOT_MAP_FILE:
      return "the bytes could not be read (fault while scanning)";
    case ERROR_EXEC_STACK_OVERFLOW:
      return "a condition overflowed libyara's stack";
    case ERROR_TOO_MANY_MATCHES:
      return "too many matches";
    case ERROR_CALLBACK_ERROR:
      return "out of memory collecting matches";
    default:
      return "libyara error " + std::to_string(code);
  }
}

bool isRuleFile(const fs::path& p) {
  auto name = p.filename().string();
  if (name.empty() || name.front() == '.') return false;  // editors' and rsync's temporaries
  auto ext = lower(p.extension().string());
  return ext == ".yar" || ext == ".yara";
}

// The files to compile: `dir` itself when it is a file, else its rule files by name.
std::vector<std::string> ruleFiles(const std::string& dir) {
  std::error_code ec;
  auto status = fs::status(dir, ec);
  if (ec) throw std::runtime_error("cannot read YARA rules " + dir + ": " + ec.message());
  if (fs::is_regular_file(status)) return {dir};
  if (!fs::is_directory(status))
    throw std::runtime_error("YARA rules " + dir + ": not a file or a folder");
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (isRuleFile(it->path()) && it->is_regular_file()) files.push_back(it->path().string());
  }
  if (ec) throw std::runtime_error("cannot read YARA rules " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error("no YARA rules (*.yar, *.yara) in " + dir);
  return files;
}

struct Diagnostics {
  std::string file;  // being added, for messages without a file name
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};

void onCompilerMessage(int level, const char* file, int line, const YR_RULE*, const char* message,
                       void* user) {
  auto* d = static_cast<Diagnostics*>(user);
  std::string text = (file && *file ? std::string(file) : d->file) + ":" + std::to_string(line) +
                     ": " + (level == YARA_ERROR_LEVEL_WARNING ? "warning: " : "") + message;
  (level == YARA_ERROR_LEVEL_WARNING ? d->warnings : d->errors).push_back(std::move(text));
}

// "file:line" of the rule named `rule`, found in the source text; `what` when not found (a
// rule built by an include from elsewhere, or written across lines oddly).
std::string whereIs(const std::vector<std::pair<std::string, const std::string*>>& sources,
                    const std::string& what, const std::string& rule) {
  const std::regex declaration("(^|[^A-Za-z0-9_])rule[ \t]+" + rule + "([^A-Za-z0-9_]|$)");
  for (const auto& [name, text] : sources) {
    std::ifstream file;
    std::istringstream builtIn;
    std::istream* in = &builtIn;
    if (text) {
      builtIn.str(*text);
    } else {
      file.open(name);
      in = &file;
    }
    std::string line;
    for (unsigned n = 1; std::getline(*in, line); ++n) {
      if (std::regex_search(line, declaration)) return name + ":" + std::to_string(n);
    }
  }
  return what;
}

struct ScanState {
  std::vector<std::size_t> matched;  // rule indexes
  const YR_RULE* table = nullptr;
};

int onScanMessage(YR_SCAN_CONTEXT*, int message, void* data, void* user) {
  if (message != CALLBACK_MSG_RULE_MATCHING) return CALLBACK_CONTINUE;
  auto* state = static_cast<ScanState*>(user);
  try {
    state->matched.push_back(
        static_cast<std::size_t>(static_cast<const YR_RULE*>(data) - state->table));
  } catch (...) {  // nothing may cross libyara's C frames
    return CALLBACK_ERROR;
  }
  return CALLBACK_CONTINUE;
}

}  // namespace

std::shared_ptr<const YaraRules> YaraRules::compile(const std::string& dir) {
  std::vector<Source> sources;
  for (auto& f : ruleFiles(dir)) sources.emplace_back(std::move(f), nullptr);
  return build(sources, dir);
}

std::shared_ptr<const YaraRules> YaraRules::compileSources(
    const std::vector<std::pair<std::string, std::string>>& sources) {
  std::vector<Source> list;
  for (const auto& [name, text] : sources) list.emplace_back(name, &text);
  return build(list, "the built-in rules");
}

std::shared_ptr<const YaraRules> YaraRules::build(const std::vector<Source>& sources,
                                                  const std::string& what) {
  std::shared_ptr<YaraRules> set(new YaraRules());
  set->library_ = library();

  YR_COMPILER* compiler = nullptr;
  if (yr_compiler_create(&compiler) != ERROR_SUCCESS)
    throw std::runtime_error("cannot create a YARA compiler: out of memory");
  std::unique_ptr<YR_COMPILER, void (*)(YR_COMPILER*)> owner(compiler, yr_compiler_destroy);
  Diagnostics diagnostics;
  yr_compiler_set_callback(compiler, onCompilerMessage, &diagnostics);
  for (const auto& [name, text] : sources) {
    diagnostics.file = name;
    int errors = 0;
    if (text) {
      errors = yr_compiler_add_string(compiler, text->c_str(), nullptr);
    } else {
      std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(name.c_str(), "rbe"), std::fclose);
      if (!in)
        throw std::runtime_error("cannot read YARA rules " + name + ": " + std::strerror(errno));
      // With the file's name, includes are found beside it.
      errors = yr_compiler_add_file(compiler, in.get(), nullptr, name.c_str());
    }
    // After a file with errors the compiler cannot take another one (libyara's rule).
    if (errors != 0 || !diagnostics.errors.empty()) {
      auto all = diagnostics.warnings;
      all.insert(all.end(), diagnostics.errors.begin(), diagnostics.errors.end());
      throw std::runtime_error(join(all, "; "));
    }
  }
  if (!diagnostics.warnings.empty()) throw std::runtime_error(join(diagnostics.warnings, "; "));
  if (int r = yr_compiler_get_rules(compiler, &set->rules_); r != ERROR_SUCCESS)
    throw std::runtime_error("cannot build the YARA rules of " + what + ": " + errorText(r));

  const YR_RULE* rule = nullptr;
  yr_rules_foreach(set->rules_, rule) {
    VerdictKind kind = VerdictKind::Clean;
    const YR_META* meta = nullptr;
    yr_rule_metas_foreach(rule, meta) {
      if (std::strcmp(meta->identifier, "verdict") != 0) continue;
      std::string value = lower(meta->type == META_TYPE_STRING ? meta->string : "");
      VerdictKind k;
      if (meta->type != META_TYPE_STRING || !parseVerdict(value, k) ||
          (k != VerdictKind::Suspicious && k != VerdictKind::Dangerous)) {
        throw std::runtime_error(whereIs(sources, what, rule->identifier) + ": rule " +
                                 rule->identifier +
                                 ": meta verdict must be \"suspicious\" or \"dangerous\"");
      }
      kind = worse(kind, k);
    }
    set->verdicts_.push_back(kind);
  }
  if (set->verdicts_.empty()) throw std::runtime_error("no YARA rules (*.yar, *.yara) in " + what);
  return set;
}

YaraRules::~YaraRules() {
  if (rules_) yr_rules_destroy(rules_);
}

YaraMatch YaraRules::scan(std::string_view bytes) const {
  YR_SCANNER* scanner = nullptr;
  if (int r = yr_scanner_create(rules_, &scanner); r != ERROR_SUCCESS)
    throw std::runtime_error("YARA scan failed: " + errorText(r));
  std::unique_ptr<YR_SCANNER, void (*)(YR_SCANNER*)> owner(scanner, yr_scanner_destroy);
  ScanState state;
  state.table = rules_->rules_table;
  yr_scanner_set_callback(scanner, onScanMessage, &state);
  yr_scanner_set_timeout(scanner, kScanTimeoutSeconds);
  yr_scanner_set_flags(scanner, SCAN_FLAGS_REPORT_RULES_MATCHING);
  static const std::uint8_t kNothing = 0;
  const auto* data =
      bytes.empty() ? &kNothing : reinterpret_cast<const std::uint8_t*>(bytes.data());
  if (int r = yr_scanner_scan_mem(scanner, data, bytes.size()); r != ERROR_SUCCESS)
    throw std::runtime_error("YARA scan failed: " + errorText(r));

  YaraMatch match;
  for (auto group : {VerdictKind::Dangerous, VerdictKind::Suspicious, VerdictKind::Clean}) {
    for (auto i : state.matched) {
      if (i >= verdicts_.size() || verdicts_[i] != group) continue;
      match.rules.emplace_back(rules_->rules_table[i].identifier);
      match.kind = worse(match.kind, group);
    }
  }
  return match;
}

}  // namespace bccsink::sandbox
