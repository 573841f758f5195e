#include "config/xml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vigil::config {
namespace {

using ::testing::HasSubstr;

std::vector<XmlNode> ParseOk(std::string_view content) {
  Expected<std::vector<XmlNode>> nodes = ParseXml(content, "test.xml");
  EXPECT_TRUE(nodes.ok()) << nodes.status().message();
  if (!nodes.ok()) return {};
  return std::move(nodes).value();
}

TEST(ParseXml, AcceptsSeveralTopLevelElements) {
  std::vector<XmlNode> nodes = ParseOk("<a>1</a>\n<b>2</b>\n<a>3</a>\n");
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0].name, "a");
  EXPECT_EQ(nodes[1].name, "b");
  EXPECT_EQ(nodes[2].name, "a");
  EXPECT_EQ(nodes[2].text, "3");
}

TEST(ParseXml, KeepsBackslashLessThanAsText) {
  std::vector<XmlNode> nodes = ParseOk("<regex>\\<script|x\\<y</regex>");
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].text, "\\<script|x\\<y");
}

TEST(ParseXml, KeepsBackslashLessThanInAttributes) {
  std::vector<XmlNode> nodes = ParseOk("<field name=\"a\\<b\">v</field>");
  ASSERT_EQ(nodes.size(), 1u);
  const std::string* name = nodes[0].Attribute("name");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(*name, "a\\<b");
}

TEST(ParseXml, LeavesEntitiesAndAmpersandsUndecoded) {
  std::vector<XmlNode> nodes = ParseOk("<match>a&b &lt;c&gt; &amp;</match>");
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].text, "a&b &lt;c&gt; &amp;");
}

TEST(ParseXml, SkipsCommentsAndDeclaration) {
  std::vector<XmlNode> nodes = ParseOk(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<!-- top comment -->\n"
      "<group name=\"x\">\n"
      "  <!-- <rule id=\"1\"> commented out -->\n"
      "  <rule id=\"2\"/>\n"
      "</group>\n");
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].name, "group");
  ASSERT_EQ(nodes[0].children.size(), 1u);
  EXPECT_EQ(*nodes[0].children[0].Attribute("id"), "2");
}

TEST(ParseXml, RecordsLineOfEachElement) {
  std::vector<XmlNode> nodes = ParseOk(
      "<!-- line 1 -->\n"
      "<ossec_config>\n"
      "  <global>\n"
      "\n"
      "    <logall>yes</logall>\n"
      "  </global>\n"
      "</ossec_config>\n"
      "<ossec_config><alerts/></ossec_config>\n");
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].line, 2);
  ASSERT_EQ(nodes[0].children.size(), 1u);
  EXPECT_EQ(nodes[0].children[0].line, 3);
  ASSERT_EQ(nodes[0].children[0].children.size(), 1u);
  EXPECT_EQ(nodes[0].children[0].children[0].line, 5);
  EXPECT_EQ(nodes[1].line, 8);
  ASSERT_EQ(nodes[1].children.size(), 1u);
  EXPECT_EQ(nodes[1].children[0].line, 8);
}

TEST(ParseXml, KeepsTextUntrimmedAndAttributesInOrder) {
  std::vector<XmlNode> nodes =
      ParseOk("<log_format lines=\"3\" timeout=\"2s\"> syslog </log_format>");
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].text, " syslog ");
  ASSERT_EQ(nodes[0].attributes.size(), 2u);
  EXPECT_EQ(nodes[0].attributes[0].first, "lines");
  EXPECT_EQ(nodes[0].attributes[1].second, "2s");
  EXPECT_EQ(nodes[0].Attribute("missing"), nullptr);
}

TEST(ParseXml, ReadsCdataAsText) {
  std::vector<XmlNode> nodes = ParseOk("<a><![CDATA[x<y]]></a>");
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].text, "x<y");
}

TEST(ParseXml, ReportsLineOfMismatchedTag) {
  Expected<std::vector<XmlNode>> nodes = ParseXml("<a>\n<b>\n</a>\n", "broken.xml");
  ASSERT_FALSE(nodes.ok());
  EXPECT_EQ(nodes.status().code(), StatusCode::kParseError);
  EXPECT_THAT(nodes.status().message(), HasSubstr("broken.xml:3: invalid XML"));
}

TEST(ParseXml, ReportsUnclosedElement) {
  Expected<std::vector<XmlNode>> nodes = ParseXml("<a>\n<b>text</b>\n", "open.xml");
  ASSERT_FALSE(nodes.ok());
  EXPECT_THAT(nodes.status().message(), HasSubstr("open.xml:"));
  EXPECT_THAT(nodes.status().message(), HasSubstr("invalid XML"));
}

TEST(ParseXml, SkipsTextOutsideElements) {
  // OSSEC's stock decoder.xml has text between elements where a nested comment closed early.
  Expected<std::vector<XmlNode>> nodes =
      ParseXml("<a/>\n<!-- x <!-- y -->\nstray text\n-->\n<b/>\n", "stray.xml");
  ASSERT_TRUE(nodes.ok()) << nodes.status().message();
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].name, "a");
  EXPECT_EQ((*nodes)[1].name, "b");
  EXPECT_EQ((*nodes)[1].line, 5);
}

TEST(ParseXml, RejectsControlByteUsedInternally) {
  Expected<std::vector<XmlNode>> nodes = ParseXml("<a>\n\x01</a>", "ctl.xml");
  ASSERT_FALSE(nodes.ok());
  EXPECT_THAT(nodes.status().message(), HasSubstr("ctl.xml:2: invalid control character"));
}

TEST(ParseXml, AcceptsEmptyInput) {
  std::vector<XmlNode> nodes = ParseOk("  \n<!-- only a comment -->\n");
  EXPECT_TRUE(nodes.empty());
}

TEST(Where, FormatsFileAndLine) {
  XmlNode node;
  node.line = 42;
  EXPECT_EQ(Where("rules/sshd.xml", node), "rules/sshd.xml:42: ");
}

}  // namespace
}  // namespace vigil::config
