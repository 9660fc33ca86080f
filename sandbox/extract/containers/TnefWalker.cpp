// See TnefWalker.h.
#include "sandbox/extract/containers/TnefWalker.h"

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

}  // namespace

bool isTnef(std::string_view bytes) {
  return bytes.substr(0, 4) == std::string_view("\x78\x9f\x3e\x22", 4);
}

std::size_t walkTnef(std::string_view bytes, const FoundFile& container,
                     const ContainerLimits& limits, FileVisitor& visitor) {
  ContainerOutput out(container, limits, visitor);
  try {
    std::vector<BYTE> copy(bytes.begin(), bytes.end());
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
