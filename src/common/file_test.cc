#include "common/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

namespace vigil {
namespace {

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/vigil-file-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(FileTest, WriteAtomicThenRead) {
  std::string path = dir_ + "/state";
  ASSERT_TRUE(WriteFileAtomic(path, "first", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(path, "second", 0600).ok());
  Expected<std::string> content = ReadFile(path);
  ASSERT_TRUE(content.ok()) << content.status().message();
  EXPECT_EQ(*content, "second");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ListDirectory(dir_)->size(), 1u) << "the temporary file must be gone";
}

TEST_F(FileTest, ReadMissingFileNamesIt) {
  Expected<std::string> content = ReadFile(dir_ + "/missing.xml");
  ASSERT_FALSE(content.ok());
  EXPECT_EQ(content.status().code(), StatusCode::kNotFound);
  EXPECT_NE(content.status().message().find("missing.xml"), std::string::npos);
}

TEST_F(FileTest, ReadDirectoryIsAnError) {
  Expected<std::string> content = ReadFile(dir_);
  ASSERT_FALSE(content.ok());
  EXPECT_NE(content.status().message().find("is a directory"), std::string::npos);
}

TEST_F(FileTest, BundledConfigIsReadable) {
  std::string path = std::string(kBundledPrefix) + "rules/vigil.conf";
  EXPECT_TRUE(FileExists(path));
  Expected<std::string> content = ReadFile(path);
  ASSERT_TRUE(content.ok()) << content.status().message();
  EXPECT_NE(content->find("<ossec_config>"), std::string::npos);
  Expected<std::vector<std::string>> names = ListDirectory(std::string(kBundledPrefix) + "rules");
  ASSERT_TRUE(names.ok());
  EXPECT_NE(std::find(names->begin(), names->end(), "vigil.conf"), names->end());
}

TEST(ResolvePath, KeepsAbsoluteAndBundledPaths) {
  EXPECT_EQ(ResolvePath("/etc/vigil", "rules/a.xml"), "/etc/vigil/rules/a.xml");
  EXPECT_EQ(ResolvePath("/etc/vigil", "/abs/a.xml"), "/abs/a.xml");
  EXPECT_EQ(ResolvePath("/etc/vigil", "<bundled>/rules/a.xml"), "<bundled>/rules/a.xml");
  EXPECT_EQ(DirName("/etc/vigil/ossec.conf"), "/etc/vigil");
  EXPECT_EQ(DirName("ossec.conf"), ".");
}

}  // namespace
}  // namespace vigil
