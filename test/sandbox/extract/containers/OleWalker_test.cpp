#include "sandbox/extract/containers/OleWalker.h"

#include <gsf/gsf-outfile-msole.h>
#include <gsf/gsf-outfile.h>
#include <gsf/gsf-output-memory.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "test/sandbox/Collect.h"
#include "test/sandbox/extract/containers/Marker.h"

using bccsink::sandbox::ContainerLimits;
using bccsink::sandbox::isOle2;
using bccsink::sandbox::walkOle;
using bccsink::test::Collect;
using bccsink::test::containers::containerNamed;
using bccsink::test::containers::kContainerMarker;

namespace {

// The Packager's native data as Word writes it into ObjectPool/_NNN/\1Ole10Native.
std::string ole10Native(const std::string& label, const std::string& path,
                        const std::string& data) {
  std::string body;
  auto put32 = [&body](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) body.push_back(static_cast<char>(v >> (8 * i)));
  };
  body += std::string("\x02\x00", 2);
  body += label + '\0' + path + '\0';
  body += std::string("\x00\x00\x03\x00", 4);
  std::string temp = "C:\\Users\\x\\AppData\\Local\\Temp\\" + label + '\0';
  put32(static_cast<std::uint32_t>(temp.size()));
  body += temp;
  put32(static_cast<std::uint32_t>(data.size()));
  body += data;
  std::string out;
  std::uint32_t total = static_cast<std::uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(total >> (8 * i)));
  return out + body;
}

void writeStream(GsfOutfile* dir, const char* name, const std::string& bytes) {
  GsfOutput* s = gsf_outfile_new_child(dir, name, FALSE);
  gsf_output_write(s, bytes.size(), reinterpret_cast<const guint8*>(bytes.data()));
  gsf_output_close(s);
  g_object_unref(s);
}

// A compound document written by libgsf's own writer, laid out as Word lays out a .doc
// with two embedded objects: a packaged file and an embedded OOXML package.
std::string compoundDocument() {
  GsfOutput* mem = gsf_output_memory_new();
  GsfOutfile* root = gsf_outfile_msole_new(mem);
  writeStream(root, "WordDocument", std::string(512, 'w'));
  GsfOutput* pool = gsf_outfile_new_child(root, "ObjectPool", TRUE);
  GsfOutput* one = gsf_outfile_new_child(GSF_OUTFILE(pool), "_1234", TRUE);
  writeStream(GSF_OUTFILE(one), "\001Ole10Native",
              ole10Native("invoice.exe", "C:\\Users\\x\\Desktop\\invoice.exe", kContainerMarker));
  gsf_output_close(one);
  g_object_unref(one);
  GsfOutput* two = gsf_outfile_new_child(GSF_OUTFILE(pool), "_5678", TRUE);
  writeStream(GSF_OUTFILE(two), "Package", "PK\x03\x04 pretend docx");
  gsf_output_close(two);
  g_object_unref(two);
  gsf_output_close(pool);
  g_object_unref(pool);
  gsf_output_close(GSF_OUTPUT(root));
  g_object_unref(root);
  const guint8* bytes = gsf_output_memory_get_bytes(GSF_OUTPUT_MEMORY(mem));
  std::string out(reinterpret_cast<const char*>(bytes),
                  static_cast<std::size_t>(gsf_output_size(mem)));
  g_object_unref(mem);
  return out;
}

TEST(OleWalker, PackagedFileAndEmbeddedPackageComeOutWithNamesAndPath) {
  std::string doc = compoundDocument();
  ASSERT_TRUE(isOle2(doc));
  Collect c;
  walkOle(doc, containerNamed("letter.doc"), ContainerLimits{}, c);
  ASSERT_EQ(c.files.size(), 2u);
  const auto* packaged = c.named("invoice.exe");
  ASSERT_NE(packaged, nullptr);
  EXPECT_EQ(packaged->content, kContainerMarker);
  EXPECT_EQ(packaged->where, (std::vector<std::string>{"mail.eml", "letter.doc"}));
  const auto* package = c.named("ObjectPool/_5678/Package");
  ASSERT_NE(package, nullptr);
  EXPECT_EQ(package->content, "PK\x03\x04 pretend docx");
  EXPECT_TRUE(c.errors.empty());
}

TEST(OleWalker, DamagedOrForeignBytesGiveOneErrorAndNoFile) {
  Collect c;
  walkOle(compoundDocument().substr(0, 700), containerNamed("letter.doc"), ContainerLimits{}, c);
  EXPECT_TRUE(c.files.empty());
  Collect d;
  walkOle("not an ole file", containerNamed("x.doc"), ContainerLimits{}, d);
  EXPECT_TRUE(d.files.empty());
  EXPECT_EQ(d.errors.size(), 1u);
}

}  // namespace
