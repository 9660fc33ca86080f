// See TnefWalker.h.
#include "sandbox/extract/containers/TnefWalker.h"

#include <cstdint>
#include <string>
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

// libytnef stops at the first attribute whose checksum is wrong; a reader that ignores
// checksums (ClamAV's, and Outlook is not known to care) still shows the attachments, so a
// wrong checksum would hide them from bccsink only. The copy's checksums are set right
// before parsing ([MS-OXTNEF] 2.1.3.1: level, id, length, data, checksum = the data's bytes
// summed modulo 65536). Returns how many were wrong.
std::size_t repairChecksums(std::vector<BYTE>& b) {
  std::size_t wrong = 0;
  std::size_t at = 6;  // signature, key
  while (b.size() - at >= 11 && at < b.size()) {
    std::uint64_t length = static_cast<std::uint64_t>(b[at + 5]) | b[at + 6] << 8 |
                           b[at + 7] << 16 | static_cast<std::uint64_t>(b[at + 8]) << 24;
    std::size_t data = at + 9;
    if (length > b.size() - data - 2) break;
    unsigned sum = 0;
    for (std::size_t k = 0; k < length; ++k) sum += b[data + k];
    std::size_t ck = data + length;
    if (static_cast<unsigned>(b[ck] | b[ck + 1] << 8) != (sum & 0xFFFF)) {
      ++wrong;
      b[ck] = static_cast<BYTE>(sum & 0xFF);
      b[ck + 1] = static_cast<BYTE>((sum >> 8) & 0xFF);
    }
    at = ck + 2;
  }
  return wrong;
}

}  // namespace

bool isTnef(std::string_view bytes) {
  return bytes.substr(0, 4) == std::string_view("\x78\x9f\x3e\x22", 4);
}

std::size_t walkTnef(std::string_view bytes, const FoundFile& container,
                     const ContainerLimits& limits, FileVisitor& visitor) {
  ContainerOutput out(container, limits, visitor);
  try {
    std::vector<BYTE> copy(bytes.begin(), bytes.end());
    const std::size_t wrong = repairChecksums(copy);
    if (wrong > 0)
      out.error("TNEF: " + std::to_string(wrong) +
                " attribute checksums wrong (read as a mail client does, ignoring them)");
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
