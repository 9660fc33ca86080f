// See OleWalker.h.
#include "sandbox/extract/containers/OleWalker.h"

#include <gsf/gsf-infile-msole.h>
#include <gsf/gsf-infile.h>
#include <gsf/gsf-input-memory.h>
#include <gsf/gsf-input.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/containers/ContainerOutput.h"

namespace bccsink::sandbox {
namespace {

constexpr std::size_t kMaxDepth = 32;
constexpr std::size_t kMaxEntries = 100000;

struct Unref {
  void operator()(void* p) const {
    if (p != nullptr) g_object_unref(p);
  }
};

std::uint32_t le32(std::string_view s, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3])) << 24;
}

// The NUL-terminated string at `at`; false when there is no NUL.
bool cString(std::string_view s, std::size_t& at, std::string& into) {
  std::size_t nul = s.find('\0', at);
  if (nul == std::string_view::npos) return false;
  into = std::string(s.substr(at, nul - at));
  at = nul + 1;
  return true;
}

std::string baseName(const std::string& path) {
  std::size_t slash = path.find_last_of("/\\");
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The Packager's native data: size, type, label, source path, reserved, temp path
// (length-prefixed), data size, data. False when it does not parse.
bool ole10Native(std::string_view s, std::string& name, std::string_view& data) {
  std::size_t at = 6;  // total size (4), type (2)
  std::string label, path, temp;
  if (s.size() < at || !cString(s, at, label) || !cString(s, at, path)) return false;
  if (s.size() - at < 8) return false;
  at += 4;  // reserved (2), type (2)
  std::uint32_t tempLength = le32(s, at);
  at += 4;
  if (s.size() - at < tempLength) return false;
  temp = std::string(s.substr(at, tempLength));
  temp = temp.substr(0, temp.find('\0'));
  at += tempLength;
  if (s.size() - at < 4) return false;
  std::uint32_t size = le32(s, at);
  at += 4;
  if (s.size() - at < size) return false;
  data = s.substr(at, size);
  name = !label.empty() ? label : baseName(!path.empty() ? path : temp);
  return true;
}

class Walk {
 public:
  explicit Walk(ContainerOutput& out) : out_(out) {}

  void run(GsfInfile* root) {
    struct Level {
      GsfInfile* storage;
      std::string path;
    };
    std::vector<Level> stack{{root, ""}};
    std::vector<std::unique_ptr<GsfInput, Unref>> keep;  // children live until the end
    std::size_t entries = 0;
    while (!stack.empty() && out_.more()) {
      Level level = stack.back();
      stack.pop_back();
      int n = gsf_infile_num_children(level.storage);
      for (int i = 0; i < n && out_.more(); ++i) {
        if (++entries > kMaxEntries) {
          out_.error(evasion("more than " + std::to_string(kMaxEntries) +
                             " OLE2 entries: the rest were not read"));
          return;
        }
        GsfInput* child = gsf_infile_child_by_index(level.storage, i);
        if (child == nullptr) continue;
        keep.emplace_back(child);
        const char* raw = gsf_infile_name_by_index(level.storage, i);
        std::string name = raw != nullptr ? raw : "";
        std::string path = level.path.empty() ? name : level.path + "/" + name;
        if (GSF_IS_INFILE(child) && gsf_infile_num_children(GSF_INFILE(child)) >= 0) {
          if (stack.size() + 1 > kMaxDepth) continue;  // deeper than any Office document
          stack.push_back({GSF_INFILE(child), path});
        } else {
          stream(child, name, path);
        }
      }
    }
  }

 private:
  void stream(GsfInput* input, const std::string& name, const std::string& path) {
    const bool native = name == "\001Ole10Native";
    if (!native && name != "Package" && name != "CONTENTS" && name != "Equation Native") return;
    gsf_off_t size = gsf_input_size(input);
    if (size < 0) return;
    if (static_cast<std::uint64_t>(size) > out_.limits().maxMemberSize) {
      out_.unscanned(
          path, static_cast<std::uint64_t>(size),
          evasion("over size limit (" + std::to_string(out_.limits().maxMemberSize) + " bytes)"));
      return;
    }
    std::string bytes(static_cast<std::size_t>(size), '\0');
    if (size > 0 && gsf_input_read(input, static_cast<std::size_t>(size),
                                   reinterpret_cast<guint8*>(bytes.data())) == nullptr) {
      out_.unscanned(path, static_cast<std::uint64_t>(size), "damaged: OLE2 stream unreadable");
      return;
    }
    std::string packaged;
    std::string_view data;
    if (native && ole10Native(bytes, packaged, data)) {
      out_.file(packaged, data);
    } else {
      out_.file(path, bytes);
    }
  }

  ContainerOutput& out_;
};

}  // namespace

bool isOle2(std::string_view bytes) {
  return bytes.substr(0, 8) == std::string_view("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
}

std::size_t walkOle(std::string_view bytes, const FoundFile& container,
                    const ContainerLimits& limits, FileVisitor& visitor) {
  ContainerOutput out(container, limits, visitor);
  try {
    std::unique_ptr<GsfInput, Unref> input(
        gsf_input_memory_new(reinterpret_cast<const guint8*>(bytes.data()),
                             static_cast<gsf_off_t>(bytes.size()), FALSE));
    GError* err = nullptr;
    std::unique_ptr<GsfInfile, Unref> ole(gsf_infile_msole_new(input.get(), &err));
    if (!ole) {
      out.error(std::string("OLE2 damaged: ") + (err != nullptr ? err->message : "unreadable"));
      if (err != nullptr) g_error_free(err);
      return out.count();
    }
    Walk(out).run(ole.get());
  } catch (const std::exception& e) {
    out.error(std::string("OLE2 could not be read: ") + e.what());
  }
  return out.count();
}

}  // namespace bccsink::sandbox
