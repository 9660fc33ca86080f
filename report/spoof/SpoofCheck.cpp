// The spoofed-internal check: domain comparison of sender and recipients, then a walk
// over the Received hops for a global address outside the trusted relays.

#include "report/spoof/SpoofCheck.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "base/Text.h"
#include "report/spoof/AddressClass.h"
#include "report/spoof/AddressList.h"
#include "report/spoof/ReceivedHeader.h"

namespace bccsink::report {

namespace {

void addDomains(const std::string& value, std::vector<std::string>& out) {
  for (const auto& address : extractAddresses(value)) {
    auto domain = domainOf(address);
    if (!domain.empty()) out.push_back(std::move(domain));
  }
}

}  // namespace

std::vector<bccsink::Cidr> loadTrustedRelays(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  std::vector<bccsink::Cidr> relays;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    line = std::string(trim(line));
    if (line.empty()) continue;
    try {
      relays.push_back(bccsink::Cidr::parse(line));
    } catch (const std::exception& e) {
      throw std::runtime_error(path + ":" + std::to_string(number) + ": " + e.what());
    }
  }
  if (in.bad()) throw std::runtime_error(path + ": read error: " + std::strerror(errno));
  return relays;
}

SpoofCheck::SpoofCheck(SpoofSettings settings) : settings_(std::move(settings)) {
  for (auto& domain : settings_.internalDomains) domain = domainOf("@" + std::string(trim(domain)));
}

bool SpoofCheck::trusted(const std::string& ip) const {
  for (const auto& relay : settings_.trustedRelays) {
    if (relay.contains(ip)) return true;
  }
  return false;
}

SpoofFinding SpoofCheck::check(const SpoofInput& message) const {
  SpoofFinding finding;
  if (settings_.internalDomains.empty()) return finding;

  // (a) Same domain on both sides, and internal. Exact match only: the filter this follows
  // does not treat example.com and sales.example.com as one domain, nor do we.
  std::vector<std::string> senders;
  addDomains(message.envelopeSender, senders);
  for (const auto& from : message.from) addDomains(from, senders);
  std::vector<std::string> recipientList;
  for (const auto& rcpt : message.envelopeRecipients) addDomains(rcpt, recipientList);
  for (const auto& to : message.to) addDomains(to, recipientList);
  for (const auto& cc : message.cc) addDomains(cc, recipientList);
  std::unordered_set<std::string> recipients(recipientList.begin(), recipientList.end());
  std::unordered_set<std::string> internal(settings_.internalDomains.begin(),
                                           settings_.internalDomains.end());
  for (const auto& domain : senders) {
    if (internal.count(domain) != 0 && recipients.count(domain) != 0) {
      finding.domain = domain;
      break;
    }
  }
  if (finding.domain.empty()) return finding;

  // (b) The topmost counted hop from a global, untrusted address. Every address the from
  // clause names is weighed, so a HELO dressed up as "(localhost [127.0.0.1])" does not
  // hide the real one. An address once cleared is not matched again: the trusted list
  // has no size cap and a message may name one relay in many headers.
  std::unordered_set<std::string> cleared;
  for (std::size_t i = settings_.skipTopReceived; i < message.received.size(); ++i) {
    auto hop = parseReceived(message.received[i]);
    for (const auto& ip : hop.addresses) {
      if (cleared.count(ip) != 0) continue;
      if (!isGlobalAddress(ip) || trusted(ip)) {
        cleared.insert(ip);
        continue;
      }
      finding.spoofed = true;
      finding.hopIndex = i + 1;
      finding.ip = ip;
      finding.rawHop = printableHop(message.received[i]);
      finding.reason = "sender domain " + finding.domain + " is internal and hop " +
                       std::to_string(finding.hopIndex) + " came from " + ip +
                       ", not a trusted relay";
      return finding;
    }
  }
  finding.domain.clear();
  return finding;
}

}  // namespace bccsink::report
