// See TnefWalker.h.
#include "sandbox/extract/containers/TnefWalker.h"

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

// libytnef's headers define WORD, DWORD, BYTE... as macros: kept to this file.
extern "C" {
#include <ytnef.h>
}

#include "sandbox/extract/containers/ContainerOutput.h"

namespace bccsink::sandbox {
namespace {

bool present(const variableLength* v) {
  return v != nullptr && v != MAPI_UNDEFINED && v->data != nullptr && v->size > 0;
}

std::string_view viewOf(const variableLength& v) {
  if (v.data == nullptr || v.size <= 0) return {};
  return {reinterpret_cast<const char*>(v.data), static_cast<std::size_t>(v.size)};
}

std::string upToNul(std::string_view s) {
  return std::string(s.substr(0, s.find('\0')));
}

std::string nameOf(Attachment& a) {
  variableLength* v = MAPIFindProperty(&a.MAPI, PROP_TAG(PT_UNICODE, PR_ATTACH_LONG_FILENAME));
  // libytnef hands PT_UNICODE strings over already converted to UTF-8.
  if (present(v)) return upToNul(viewOf(*v));
  v = MAPIFindProperty(&a.MAPI, PROP_TAG(PT_STRING8, PR_ATTACH_LONG_FILENAME));
  if (present(v)) return upToNul(viewOf(*v));
  return upToNul(viewOf(a.Title));
}

// The copy libytnef reads, rebuilt from the attribute stream ([MS-OXTNEF] 2.1.3.1: level,
// id, length, data, checksum = the data's bytes summed modulo 65536):
// - checksums set right: libytnef stops at the first wrong one, a reader that ignores them
//   (ClamAV's; Outlook is not known to care) still shows the attachments;
// - an attribute repeated in the same scope (the message, or one attachment, which starts
//   at each attAttachRenddata) kept only at its last place: libytnef keeps the last and
//   leaks the earlier ones' memory (found by test/fuzz/container_fuzzer), which a sender
//   could repeat without end. An earlier attAttachData is handed on by the caller, so that
//   no data a client might show is lost.
struct Prepared {
  std::vector<BYTE> bytes;
  std::size_t wrongChecksums = 0;
  std::vector<std::pair<std::size_t, std::size_t>> droppedData;  // offset, length in input
};

constexpr std::uint32_t kAttachRenddata = 0x00069002;
constexpr std::uint32_t kAttachData = 0x0006800F;

Prepared prepare(std::string_view in) {
  struct Attribute {
    std::size_t at, data, length, scope;
    std::uint32_t id;
  };
  std::vector<Attribute> list;
  std::size_t at = 6;  // signature, key
  std::size_t scope = 0;
  while (in.size() - at >= 11) {
    auto byte = [&](std::size_t k) {
      return static_cast<std::uint32_t>(static_cast<unsigned char>(in[k]));
    };
    std::uint32_t id = byte(at + 1) | byte(at + 2) << 8 | byte(at + 3) << 16 | byte(at + 4) << 24;
    std::size_t length = byte(at + 5) | byte(at + 6) << 8 | byte(at + 7) << 16 |
                         static_cast<std::size_t>(byte(at + 8)) << 24;
    std::size_t data = at + 9;
    if (length > in.size() - data - 2) break;
    if (byte(at) == 2 && id == kAttachRenddata) ++scope;
    list.push_back({at, data, length, byte(at) == 1 ? 0 : scope, id});
    at = data + length + 2;
  }
  std::set<std::pair<std::size_t, std::uint32_t>> later;  // (scope, id) seen after this one
  std::vector<bool> keep(list.size());
  for (std::size_t k = list.size(); k-- > 0;) {
    const auto& a = list[k];
    keep[k] = a.id == kAttachRenddata || later.insert({a.scope, a.id}).second;
  }
  Prepared p;
  p.bytes.assign(in.begin(), in.begin() + 6);
  for (std::size_t k = 0; k < list.size(); ++k) {
    const auto& a = list[k];
    if (!keep[k]) {
      if (a.id == kAttachData) p.droppedData.emplace_back(a.data, a.length);
      continue;
    }
    p.bytes.insert(p.bytes.end(), in.begin() + a.at, in.begin() + a.data + a.length);
    unsigned sum = 0;
    for (std::size_t i = 0; i < a.length; ++i) sum += static_cast<unsigned char>(in[a.data + i]);
    unsigned stored = static_cast<unsigned char>(in[a.data + a.length]) |
                      static_cast<unsigned char>(in[a.data + a.length + 1]) << 8;
    if (stored != (sum & 0xFFFF)) ++p.wrongChecksums;
    p.bytes.push_back(static_cast<BYTE>(sum & 0xFF));
    p.bytes.push_back(static_cast<BYTE>((sum >> 8) & 0xFF));
  }
  // What does not parse as attributes stays, for libytnef to call it damage.
  p.bytes.insert(p.bytes.end(), in.begin() + at, in.end());
  return p;
}

}  // namespace

bool isTnef(std::string_view bytes) {
  return bytes.substr(0, 4) == std::string_view("\x78\x9f\x3e\x22", 4);
}

std::size_t walkTnef(std::string_view bytes, const FoundFile& container,
                     const ContainerLimits& limits, FileVisitor& visitor) {
  ContainerOutput out(container, limits, visitor);
  try {
    if (bytes.size() < 6) {
      out.error("TNEF damaged: shorter than its signature");
      return out.count();
    }
    Prepared prepared = prepare(bytes);
    std::vector<BYTE>& copy = prepared.bytes;
    if (prepared.wrongChecksums > 0)
      out.error("TNEF: " + std::to_string(prepared.wrongChecksums) +
                " attribute checksums wrong (read as a mail client does, ignoring them)");
    std::size_t duplicate = 0;
    for (auto [offset, length] : prepared.droppedData) {
      if (!out.more()) break;
      out.file("tnef-duplicate-" + std::to_string(++duplicate) + ".bin",
               bytes.substr(offset, length));
    }
    TNEFStruct tnef;
    TNEFInitialize(&tnef);
    tnef.Debug = 0;
    int rc = TNEFParseMemory(copy.data(), static_cast<long>(copy.size()), &tnef);
    // What was parsed before damage is still listed (attachments are linked as read).
    for (Attachment* a = tnef.starting_attach.next; a != nullptr; a = a->next) {
      if (!out.more()) break;
      std::string name = nameOf(*a);
      variableLength* obj = MAPIFindProperty(&a->MAPI, PROP_TAG(PT_OBJECT, PR_ATTACH_DATA_OBJ));
      variableLength* bin = MAPIFindProperty(&a->MAPI, PROP_TAG(PT_BINARY, PR_ATTACH_DATA_OBJ));
      if (present(obj)) {
        std::string_view data = viewOf(*obj);
        out.file(name, data.size() > 16 ? data.substr(16) : std::string_view());
      } else if (present(bin)) {
        out.file(name, viewOf(*bin));
      } else if (a->FileData.data != nullptr && a->FileData.size > 0) {
        out.file(name, viewOf(a->FileData));
      }
      // An attachment without data (a link, an OLE icon only) is no file.
    }
    TNEFFree(&tnef);
    if (rc < 0) out.error("TNEF damaged (libytnef error " + std::to_string(rc) + ")");
  } catch (const std::exception& e) {
    out.error(std::string("TNEF could not be read: ") + e.what());
  }
  return out.count();
}

}  // namespace bccsink::sandbox
