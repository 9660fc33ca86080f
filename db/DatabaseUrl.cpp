#include "db/DatabaseUrl.h"

#include <cctype>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace bccsink::db {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percentDecoded(std::string_view s, const char* what) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    const int hi = i + 2 < s.size() ? hexValue(s[i + 1]) : -1;
    const int lo = i + 2 < s.size() ? hexValue(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) throw std::invalid_argument(std::string("bad %-escape in the ") + what);
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// A value Poco hands to libpq as it is: no space, quote or backslash, nothing invisible.
void checkValue(const std::string& key, const std::string& value) {
  if (value.empty()) throw std::invalid_argument(key + " is empty");
  for (unsigned char c : value) {
    if (c <= 0x20 || c == 0x7f || c == '\'' || c == '\\')
      throw std::invalid_argument(key + " holds a space, quote, backslash or control character," +
                                  " which the PostgreSQL connector cannot pass");
  }
}

// The query keywords bccsink passes on; anything else is a mistake worth naming.
bool knownKeyword(const std::string& key) {
  static const std::vector<std::string> keys = {"host",
                                                "hostaddr",
                                                "port",
                                                "sslmode",
                                                "sslrootcert",
                                                "sslcert",
                                                "sslkey",
                                                "sslcrl",
                                                "application_name",
                                                "connect_timeout",
                                                "target_session_attrs"};
  for (const auto& k : keys) {
    if (k == key) return true;
  }
  return false;
}

}  // namespace

DatabaseUrl DatabaseUrl::parse(const std::string& url) {
  DatabaseUrl out;
  out.shown = url;
  std::string_view rest = url;
  std::string_view scheme;
  if (rest.rfind("postgresql://", 0) == 0) {
    scheme = "postgresql://";
  } else if (rest.rfind("postgres://", 0) == 0) {
    scheme = "postgres://";
  } else if (rest.rfind("postgresql:", 0) == 0 || rest.rfind("postgres:", 0) == 0) {
    throw std::invalid_argument("DatabaseUrl: write postgresql://USER@HOST[:PORT]/DB");
  }
  if (scheme.empty()) {
    out.sqlitePath = rest.rfind("sqlite:", 0) == 0 ? std::string(rest.substr(7)) : url;
    if (out.sqlitePath.empty())
      throw std::invalid_argument("DatabaseUrl: the SQLite path is empty");
    return out;
  }
  out.postgresql = true;
  rest.remove_prefix(scheme.size());
  const auto at = rest.find('@');
  if (at == std::string_view::npos)
    throw std::invalid_argument("DatabaseUrl: no user (postgresql://USER@HOST/DB)");
  std::string_view userinfo = rest.substr(0, at);
  rest.remove_prefix(at + 1);
  if (userinfo.find(':') != std::string_view::npos) {
    // Masked in what is shown: the URL may reach a log line.
    out.shown = std::string(scheme) + std::string(userinfo.substr(0, userinfo.find(':'))) +
                ":***@" + std::string(rest);
    throw std::invalid_argument(
        "DatabaseUrl " + out.shown +
        ": a password in the URL is refused; put it in the file DatabasePasswordFile names");
  }
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos)
    throw std::invalid_argument("DatabaseUrl: no database name (postgresql://USER@HOST/DB)");
  std::string_view hostport = rest.substr(0, slash);
  rest.remove_prefix(slash + 1);
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string host, port;
  if (!hostport.empty()) {
    std::string_view h = hostport;
    if (h.front() == '[') {  // [::1]:5432
      const auto close = h.find(']');
      if (close == std::string_view::npos)
        throw std::invalid_argument("DatabaseUrl: bad [address]");
      host = std::string(h.substr(1, close - 1));
      h.remove_prefix(close + 1);
      if (!h.empty() && h.front() == ':')
        port = std::string(h.substr(1));
      else if (!h.empty())
        throw std::invalid_argument("DatabaseUrl: bad [address]:port");
    } else if (const auto colon = h.rfind(':'); colon != std::string_view::npos) {
      host = std::string(h.substr(0, colon));
      port = std::string(h.substr(colon + 1));
    } else {
      host = std::string(h);
    }
    if (!port.empty()) {
      for (char c : port) {
        if (!std::isdigit(static_cast<unsigned char>(c)))
          throw std::invalid_argument("DatabaseUrl: the port is not a number");
      }
      if (port.size() > 5 || std::stoi(port) == 0 || std::stoi(port) > 65535)
        throw std::invalid_argument("DatabaseUrl: the port must be between 1 and 65535");
    }
  }
  if (!host.empty()) pairs.emplace_back("host", percentDecoded(host, "host"));
  if (!port.empty()) pairs.emplace_back("port", port);
  pairs.emplace_back("user", percentDecoded(userinfo, "user name"));
  pairs.emplace_back("dbname", percentDecoded(rest, "database name"));
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos)
      throw std::invalid_argument("DatabaseUrl: query item '" + std::string(item) +
                                  "' is not key=value");
    std::string key(item.substr(0, eq));
    if (!knownKeyword(key))
      throw std::invalid_argument("DatabaseUrl: unknown parameter '" + key + "'");
    std::string value = percentDecoded(item.substr(eq + 1), "parameter");
    bool replaced = false;
    for (auto& [k, v] : pairs) {
      if (k == key) {
        v = value;  // ?host=/run/postgresql wins over an empty host part
        replaced = true;
      }
    }
    if (!replaced) pairs.emplace_back(std::move(key), std::move(value));
  }
  for (const auto& [key, value] : pairs) {
    checkValue(key, value);
    if (!out.conninfo.empty()) out.conninfo += ' ';
    out.conninfo += key + "=" + value;
  }
  return out;
}

}  // namespace bccsink::db
